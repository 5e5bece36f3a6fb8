"""Agreement statistics for the quality dashboard, from maintained libraries (no hand-written
formulas): Krippendorff's alpha (``krippendorff``), intraclass correlation and Kendall's W
(``pingouin``). Pure functions over plain data; checked against published worked examples
(tests/test_quality_statistics.py)."""

from __future__ import annotations

import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd
import pingouin

NOT_SURE = "not_sure"


@contextmanager
def _library_quiet() -> Iterator[None]:
    """pingouin 0.7 calls pandas APIs that pandas 3.1 deprecates (``inplace=``): its warnings, not ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def alpha(ratings: Iterable[tuple[Hashable, Hashable, object]], *, level: str = "nominal") -> float | None:
    """Krippendorff's alpha of ``(unit, rater, value)`` triples (missing ratings are fine; a rater's
    later value for a unit replaces an earlier one). Nominal values may be any hashable (mapped to
    codes); other levels need numbers. None when fewer than two values are pairable."""
    table: dict[Hashable, dict[Hashable, object]] = defaultdict(dict)
    for unit, rater, value in ratings:
        table[rater][unit] = value
    units = sorted({u for row in table.values() for u in row}, key=repr)
    if len(table) < 2 or not units:
        return None
    codes: dict[object, int] = {}
    if level == "nominal":
        for row in table.values():
            for value in row.values():
                codes.setdefault(value, len(codes))
    data = np.full((len(table), len(units)), np.nan)
    at = {u: k for k, u in enumerate(units)}
    for r, row in enumerate(table.values()):
        for unit, value in row.items():
            data[r, at[unit]] = codes[value] if level == "nominal" else float(value)
    columns = np.sum(~np.isnan(data), axis=0) >= 2
    pairable, paired = int(columns.sum()), data[:, columns]
    # Only pairable units enter alpha: one value across them leaves it 0/0 even when units rated
    # once hold other values.
    if pairable == 0 or len(np.unique(paired[~np.isnan(paired)])) < 2:
        # One value everywhere: perfect agreement, which alpha leaves undefined (0/0).
        return 1.0 if pairable else None
    return _finite(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


def classification_alpha(answers: Iterable[tuple[int, int, str]]) -> float | None:
    """Nominal alpha of ``(item, expert, class)`` answers; "not sure" counts as no answer."""
    return alpha(((i, e, c) for i, e, c in answers if c != NOT_SURE), level="nominal")


def confusion(answers: Iterable[tuple[int, int, str]]) -> tuple[list[str], np.ndarray]:
    """Each expert's class against the item's majority (the other experts' answers included):
    rows = majority class, columns = the expert's class, counts of answers."""
    by_item: dict[int, list[str]] = defaultdict(list)
    for item, _expert, value in answers:
        if value != NOT_SURE:
            by_item[item].append(value)
    classes = sorted({c for values in by_item.values() for c in values})
    index = {c: k for k, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), np.int64)
    for values in by_item.values():
        if len(values) < 2:
            continue
        counts = Counter(values)
        majority = min(counts, key=lambda c: (-counts[c], c))
        for value in values:
            matrix[index[majority], index[value]] += 1
    return classes, matrix


@dataclass(frozen=True)
class ICC:
    single_absolute: float | None  # ICC(A,1) = Shrout & Fleiss ICC(2,1)
    single_consistency: float | None  # ICC(C,1) = ICC(3,1)
    one_way: float | None  # ICC(1,1)


def icc(ratings: Sequence[tuple[Hashable, Hashable, float]]) -> ICC | None:
    """Intraclass correlations of ``(target, rater, value)`` over the targets every rater rated
    (pingouin drops incomplete targets). None with fewer than 2 targets or raters."""
    frame = pd.DataFrame(ratings, columns=["target", "rater", "value"]).drop_duplicates(
        ["target", "rater"], keep="last"
    )
    if frame["target"].nunique() < 2 or frame["rater"].nunique() < 2:
        return None
    try:
        # Identical values everywhere leave every ICC 0/0: undefined, shown as "-" (None).
        with _library_quiet(), np.errstate(invalid="ignore", divide="ignore"):
            table = pingouin.intraclass_corr(
                frame, targets="target", raters="rater", ratings="value", nan_policy="omit"
            )
    except (AssertionError, ValueError):
        return None
    values = dict(zip(table["Type"], table["ICC"], strict=True))
    return ICC(
        single_absolute=_finite(values["ICC(A,1)"]),
        single_consistency=_finite(values["ICC(C,1)"]),
        one_way=_finite(values["ICC(1,1)"]),
    )


def kendalls_w(rankings: Sequence[tuple[Hashable, Hashable, float]]) -> float | None:
    """Kendall's W of ``(subject, rater, rank)``: raters ranking the same subjects (one shared
    batch). Friedman's test in pingouin reports it."""
    frame = pd.DataFrame(rankings, columns=["subject", "rater", "rank"])
    if frame["subject"].nunique() < 2 or frame["rater"].nunique() < 2:
        return None
    with _library_quiet():
        result = pingouin.friedman(frame, dv="rank", within="subject", subject="rater")
    return _finite(result["W"].iloc[0])


def agreement_with_others(answers: Iterable[tuple[int, int, str]]) -> dict[int, tuple[int, float]]:
    """Per expert: (answers compared, share equal to the majority of the *other* experts' answers on
    the same item). Items where the others have no answer, or tie, are not compared; "not sure"
    answers are left out."""
    by_item: dict[int, dict[int, str]] = defaultdict(dict)
    for item, expert, value in answers:
        if value != NOT_SURE:
            by_item[item][expert] = value
    hits: dict[int, list[bool]] = defaultdict(list)
    for votes in by_item.values():
        for expert, value in votes.items():
            others = Counter(v for e, v in votes.items() if e != expert)
            if not others:
                continue
            top = others.most_common(2)
            if len(top) > 1 and top[0][1] == top[1][1]:
                continue
            hits[expert].append(value == top[0][0])
    return {expert: (len(h), sum(h) / len(h)) for expert, h in hits.items() if h}
