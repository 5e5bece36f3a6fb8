"""Consensus of the experts' answers, per kind, as a release publishes it. Pure functions.

- classification: the majority class and its agreement (share of the answers that chose it);
  "not sure" answers are counted apart and never win;
- keypoints: per label, the mean of the placed points, with how many experts placed it, said it
  was off the image or blurred; curves are resampled to ``CURVE_POINTS`` points evenly spaced
  along their length before they are averaged point by point;
- ranking: see ``ranking.services.snapshot_ratings``; temporal answers are published per expert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

NOT_SURE = "not_sure"
CURVE_POINTS = 50


def majority_class(classes: Iterable[str]) -> tuple[str, int, int, float]:
    """(class, votes, answers counted, agreement). Ties go to the class first in sorted order;
    no countable answer gives ("", 0, 0, 0.0)."""
    counts = Counter(c for c in classes if c != NOT_SURE)
    answered = sum(counts.values())
    if not answered:
        return "", 0, 0, 0.0
    best = min(counts, key=lambda c: (-counts[c], c))
    return best, counts[best], answered, counts[best] / answered


def resample_curve(points: Sequence[Sequence[float]], n: int = CURVE_POINTS) -> np.ndarray:
    """``n`` points evenly spaced along the polyline through ``points`` (first and last kept)."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    if len(p) == 1:
        return np.repeat(p, n, axis=0)
    steps = np.hypot(*np.diff(p, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] == 0:
        return np.repeat(p[:1], n, axis=0)
    at = np.linspace(0.0, along[-1], n)
    return np.column_stack([np.interp(at, along, p[:, 0]), np.interp(at, along, p[:, 1])])


def mean_label(kind: str, answers: Sequence[dict]) -> dict:
    """Consensus of one label over experts' entries ``{"state", "points"}``: ``{"type", "x", "y",
    "placed", "off", "blurred"}`` with x, y the mean point (or the mean resampled curve as lists),
    None where nobody placed it."""
    states = Counter(a["state"] for a in answers)
    placed = [a["points"] for a in answers if a["state"] == "placed" and a["points"]]
    entry: dict = {"type": kind, "x": None, "y": None}
    if placed:
        if kind == "point":
            mean = np.mean(np.asarray([p[0] for p in placed], np.float64), axis=0)
            entry["x"], entry["y"] = round(float(mean[0]), 3), round(float(mean[1]), 3)
        else:
            mean = np.mean(np.stack([resample_curve(p) for p in placed]), axis=0)
            entry["x"] = [round(float(v), 3) for v in mean[:, 0]]
            entry["y"] = [round(float(v), 3) for v in mean[:, 1]]
    entry.update({state: states.get(state, 0) for state in ("placed", "off", "blurred")})
    return entry
