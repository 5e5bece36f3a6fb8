"""From expert orderings to pairwise outcomes, and from the judgement log to rating periods.

Django-free. Convention (documented in docs/ranking.md): an ordering runs from the axis start to
the axis end, and an item earlier in the ordering *wins* against every later item (score 1), so
a higher rating means "nearer the axis start" (e.g. "most accurate view"). Items of one tie group
(marked indistinguishable) score 0.5 against each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ranking.glicko2 import PairOutcomes

__all__ = ["OrderingLog", "ordering_pairs", "orderings_to_outcomes", "period_labels"]

IntArray = NDArray[np.int64]


def ordering_pairs(ordering: Sequence[int], ties: Sequence[Sequence[int]] = ()) -> list[tuple[int, int, float]]:
    """The k(k-1)/2 games of one ordering as ``(earlier, later, score of earlier)``.

    >>> ordering_pairs([7, 3, 5], ties=[[3, 5]])
    [(7, 3, 1.0), (7, 5, 1.0), (3, 5, 0.5)]
    """
    group = {item: g for g, members in enumerate(ties) for item in members}
    pairs = []
    for i, first in enumerate(ordering):
        for second in ordering[i + 1 :]:
            tied = first in group and group.get(second) == group[first]
            pairs.append((first, second, 0.5 if tied else 1.0))
    return pairs


@dataclass(frozen=True)
class OrderingLog:
    """Orderings as index arrays, in log order: outcome ``t`` comes from judgement ``judgement[t]``."""

    outcomes: PairOutcomes
    judgement: IntArray  # position of the judgement in the log, per outcome
    expert: IntArray  # expert index, per outcome


def orderings_to_outcomes(
    answers: Sequence[Mapping[str, object]], experts: Sequence[int], index_of: Mapping[int, int]
) -> OrderingLog:
    """Turn ranking answers ``{"ordering": [...], "ties": [[...]]}`` into indexed outcomes.

    ``index_of`` maps an item id to its position in the rating arrays. Outcomes come in log order,
    each ordering's pairs as ``ordering_pairs`` gives them. Vectorised per ordering length, so a
    log of a million pairs costs arrays, not a million Python tuples.
    """
    lengths = np.fromiter((len(a["ordering"]) for a in answers), np.int64, count=len(answers))  # type: ignore[arg-type]
    positions = np.fromiter(
        (index_of[int(i)] for a in answers for i in a["ordering"]),  # type: ignore[union-attr]
        np.int64,
        count=int(lengths.sum()),
    )
    group = np.full(len(positions), -1, np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for j, answer in enumerate(answers):
        ties = answer.get("ties") or []
        if ties:
            where = {int(item): p for p, item in enumerate(answer["ordering"])}  # type: ignore[union-attr]
            for g, members in enumerate(ties):  # type: ignore[union-attr]
                for item in members:
                    group[offsets[j] + where[int(item)]] = g
    who = np.asarray(experts, np.int64)
    parts = []
    for k in np.unique(lengths).tolist():
        if k < 2:
            continue
        rows = np.flatnonzero(lengths == k)
        cells = offsets[rows][:, None] + np.arange(k)
        i, j = np.triu_indices(k, k=1)
        a, b = cells[:, i].ravel(), cells[:, j].ravel()
        tied = (group[a] >= 0) & (group[a] == group[b])
        parts.append((np.repeat(rows, len(i)), a, b, tied))
    if not parts:
        empty = np.empty(0, np.int64)
        return OrderingLog(PairOutcomes.empty(), empty, empty.copy())
    judgement = np.concatenate([p[0] for p in parts])
    order = np.argsort(judgement, kind="stable")  # log order; pairs keep their order within an ordering
    judgement = judgement[order]
    first = positions[np.concatenate([p[1] for p in parts])[order]]
    second = positions[np.concatenate([p[2] for p in parts])[order]]
    score = np.where(np.concatenate([p[3] for p in parts])[order], 0.5, 1.0)
    return OrderingLog(
        outcomes=PairOutcomes(first, second, score),
        judgement=judgement,
        expert=who[judgement] if len(who) else judgement.copy(),
    )


def period_labels(created_at: Sequence[float], *, every_judgements: int, every_seconds: float) -> IntArray:
    """Rating period of each judgement, in log (id) order.

    A period starts with a judgement and takes the following ones until it holds
    ``every_judgements`` of them, or until a judgement was created ``every_seconds`` or more after
    the period's first (that judgement starts the next period). The rule looks only at the log up
    to the judgement in question, so folding a prefix never changes once later judgements arrive:
    the full recompute and the incremental updates cut the log at the same places.

    Returns
    -------
    numpy.ndarray
        Non-decreasing period numbers, starting at 0.
    """
    labels = np.empty(len(created_at), np.int64)
    period, count, started = 0, 0, 0.0
    for i, t in enumerate(created_at):
        if count and (count >= every_judgements or t - started >= every_seconds):
            period, count = period + 1, 0
        if count == 0:
            started = t
        labels[i] = period
        count += 1
    return labels


# Clocks of web servers and the database may differ a little: a quiet period is closed only this
# long after its time is up, so no judgement still on its way can belong to it.
CLOCK_MARGIN_SECONDS = 60.0


def closed_periods(
    labels: IntArray,
    created_at: Sequence[float],
    *,
    every_judgements: int,
    every_seconds: float | None = None,
    now: float | None = None,
) -> int:
    """How many of the leading judgements belong to periods that are already closed.

    A period is closed when it is full, or when a later judgement has started the next period,
    or (given ``now``, read after every earlier judgement has committed) when its time is up by
    more than ``CLOCK_MARGIN_SECONDS``: any judgement still to come is created later and starts
    the next period, so a quiet project's last judgements are rated too. Otherwise the last
    period stays open, so a partial period is never folded twice.
    """
    if len(labels) == 0:
        return 0
    last = labels[-1]
    in_last = int(np.count_nonzero(labels == last))
    if in_last >= every_judgements:
        return len(labels)
    if every_seconds is not None and now is not None:
        started = created_at[len(labels) - in_last]
        if now - started >= every_seconds + CLOCK_MARGIN_SECONDS:
            return len(labels)
    return len(labels) - in_last
