"""Each expert's agreement with the consensus, on one scale per project kind, for the flags.

Computed from what the dashboard's agreement pass has already read (``quality.selectors``), so
the worker reads the log once a refresh:

- Classification: the share of the expert's answers equal to the other experts' majority on the
  same item (``statistics.agreement_with_others``); 1 = always with the others.
- Ranking: the expert's Kendall tau with the consensus fit over their pairs, divided by the median
  expert's tau (``RatingState.experts``, written by the fold); 1 = as the typical expert, 0 = at
  random.
- Keypoints: leave-one-out distance of each placement (a curve by its mean point) to the median
  (per coordinate) of the other experts' for the same image and label (a median, so one far
  expert does not pull the others' reference towards them), the expert's median over their
  placements; agreement = (typical + 1 px) / (expert's + 1 px), typical being the median
  expert's. 0.5 = about twice as far from the others as the typical expert.
- Temporal: the same with the expert's mean |frame - the other experts' median frame| for the same
  clip, event and beat, with a 1-frame slack.

The slack keeps an expert one pixel or one frame off a perfectly agreeing group from reading as
infinitely worse. ``compared`` is what the agreement is over: answers (batches for ranking).
"""

from __future__ import annotations

import statistics as pystats
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from ranking.reliability import relative_agreement

#: expert id -> (agreement, answers compared)
Reliability = dict[int, tuple[float | None, int]]


def from_classification(agreement_with_others: Mapping[int, tuple[int, float]]) -> Reliability:
    return {expert: (share, compared) for expert, (compared, share) in agreement_with_others.items()}


def from_ranking(fit_rows: Sequence[dict], batches: Mapping[int, int]) -> Reliability:
    """``fit_rows``: ``RatingState.experts``; ``batches``: judgements per expert."""
    rows = [row for row in fit_rows if row["pairs"] > 0]
    if not rows:
        return {}
    relative = relative_agreement([row["kendall_tau"] for row in rows], [row["pairs"] for row in rows])
    return {
        row["expert_id"]: (None if np.isnan(value) else round(float(value), 4), batches.get(row["expert_id"], 0))
        for row, value in zip(rows, relative, strict=True)
    }


def _relative(errors: Mapping[int, float], compared: Mapping[int, int], slack: float) -> Reliability:
    """Per expert: (typical + slack) / (own + slack), typical = the median over experts of own."""
    if not errors:
        return {}
    typical = float(np.median(list(errors.values())))
    return {expert: (round((typical + slack) / (own + slack), 4), compared[expert]) for expert, own in errors.items()}


def from_keypoints(shapes: Mapping[str, Mapping[object, Mapping[int, np.ndarray]]]) -> Reliability:
    """``shapes``: label -> image -> expert -> placed points (n x 2; a point is 1 x 2)."""
    errors: dict[int, list[float]] = defaultdict(list)
    for images in shapes.values():
        for by in images.values():
            centres = {expert: shape.mean(axis=0) for expert, shape in by.items()}
            for expert, xy in centres.items():
                others = [p for e, p in centres.items() if e != expert]
                if others:
                    errors[expert].append(float(np.hypot(*(xy - np.median(others, axis=0)))))
    own = {expert: float(np.median(values)) for expert, values in errors.items()}
    return _relative(own, {expert: len(values) for expert, values in errors.items()}, slack=1.0)


def from_temporal(marks: Mapping[object, Mapping[int, int]]) -> Reliability:
    """``marks``: (clip, event, beat) -> expert -> frame. Mean rather than median per expert:
    frame errors are small integers, a median hides a habitual 1-2 frame lag."""
    errors: dict[int, list[float]] = defaultdict(list)
    for by in marks.values():
        for expert, frame in by.items():
            others = [f for e, f in by.items() if e != expert]
            if others:
                errors[expert].append(abs(frame - pystats.median(others)))
    own = {expert: float(np.mean(values)) for expert, values in errors.items()}
    return _relative(own, {expert: len(values) for expert, values in errors.items()}, slack=1.0)
