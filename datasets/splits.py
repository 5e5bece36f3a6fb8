"""Train / validation / test splits by study, stratified by label. Pure functions, no Django.

Every clip of a study goes to one split. Studies are grouped into strata by their most common
label; within a stratum they are taken in an order keyed by the release's salt (reproducible,
unrelated to upload order or ids) and each goes to the split furthest below its share of the
stratum's clips so far. Clips without a study (``study == ""``) count as a study of their own.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True, slots=True)
class SplitClip:
    code: str
    study: str  # "" when unknown
    stratum: str  # e.g. the clip's majority class; "" for a single stratum


def keyed_order(salt: str, value: str) -> str:
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()


def assign_splits(
    clips: Sequence[SplitClip], *, salt: str, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> dict[str, str]:
    """Clip code -> one of SPLITS."""
    if len(fractions) != 3 or min(fractions) < 0 or sum(fractions) <= 0:
        raise ValueError("split fractions are three non-negative numbers with a positive sum")
    total = sum(fractions)
    shares = [f / total for f in fractions]
    studies: dict[str, list[SplitClip]] = defaultdict(list)
    for clip in clips:
        studies[clip.study or f"clip:{clip.code}"].append(clip)
    strata: dict[str, list[str]] = defaultdict(list)
    for study, members in studies.items():
        counts = Counter(c.stratum for c in members)
        stratum = min(counts, key=lambda label: (-counts[label], label))
        strata[stratum].append(study)
    result: dict[str, str] = {}
    for stratum in sorted(strata):
        taken = [0, 0, 0]
        for study in sorted(strata[stratum], key=lambda s: keyed_order(salt, s)):
            size = len(studies[study])
            after = sum(taken) + size
            deficit = [shares[k] * after - taken[k] for k in range(3)]
            k = max(range(3), key=lambda j: (deficit[j], -j))
            taken[k] += size
            for clip in studies[study]:
                result[clip.code] = SPLITS[k]
    return result
