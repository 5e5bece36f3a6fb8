"""How far the experts' answers on one item disagree, and their consensus, per kind.

Pure functions over the answers' JSON (no Django). The review list computes the same disagreement
figures in SQL on PostgreSQL (``selectors._SCORE_SQL``); tests check the two agree. Each takes the
latest answer of each expert on the item (corrections replace what they correct).

- classification: 1 - the share of the counted answers that chose the majority class ("not sure"
  is no vote; an item with only "not sure" answers scores 1);
- keypoints: per label, each expert's placed position (a point, or the centroid of a curve's
  points: a cheap proxy of where the curve lies) against the mean of the experts' positions; the
  mean distance in image pixels over the labels two or more experts placed, whichever frame each
  chose (a point on another frame is a disagreement too);
- temporal: per event and beat marked by two or more experts, the range of their frames (last -
  first); the mean range in frames;
- ranking: the spread (population standard deviation) of the item's place in the orderings that
  hold it, as a share of the way from the axis start (0) to its end (1). The review list orders
  ranking items by their rating's RD instead (kept per item by the fold: no pass over the log).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

NOT_SURE = "not_sure"

Answer = dict[str, Any]


def class_counts(classes: Iterable[str]) -> Counter[str]:
    return Counter(classes)


def classification_disagreement(classes: Sequence[str]) -> float:
    counts = Counter(c for c in classes if c != NOT_SURE)
    counted = sum(counts.values())
    if not counted:
        return 1.0
    return 1.0 - max(counts.values()) / counted


def label_positions(answer: Answer) -> dict[str, tuple[float, float]]:
    """Label -> the placed point, or the centroid of a curve's points; labels not placed are left out."""
    found = {}
    for key, entry in (answer.get("labels") or {}).items():
        points = entry.get("points") or []
        if entry.get("state") == "placed" and points:
            found[key] = (
                sum(float(p[0]) for p in points) / len(points),
                sum(float(p[1]) for p in points) / len(points),
            )
    return found


def _positions_by_label(answers: Iterable[Answer]) -> dict[str, list[tuple[float, float]]]:
    by_label: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for answer in answers:
        for key, xy in label_positions(answer).items():
            by_label[key].append(xy)
    return by_label


def keypoint_consensus(answers: Iterable[Answer]) -> dict[str, tuple[float, float]]:
    """Label -> the mean of the experts' placed positions."""
    return {
        key: (sum(x for x, _ in xys) / len(xys), sum(y for _, y in xys) / len(xys))
        for key, xys in _positions_by_label(answers).items()
    }


def keypoint_distances(answers: Sequence[Answer]) -> dict[str, list[float]]:
    """Label -> each expert's distance (px) to the mean position, for labels two or more placed."""
    found = {}
    for key, xys in _positions_by_label(answers).items():
        if len(xys) < 2:
            continue
        mx, my = sum(x for x, _ in xys) / len(xys), sum(y for _, y in xys) / len(xys)
        found[key] = [((x - mx) ** 2 + (y - my) ** 2) ** 0.5 for x, y in xys]
    return found


def keypoint_disagreement(answers: Sequence[Answer]) -> float:
    distances = [d for values in keypoint_distances(answers).values() for d in values]
    return sum(distances) / len(distances) if distances else 0.0


def temporal_marks(answers: Iterable[Answer]) -> dict[tuple[int, str], list[int]]:
    """(beat, event key) -> the frames the experts marked."""
    marks: dict[tuple[int, str], list[int]] = defaultdict(list)
    for answer in answers:
        for mark in answer.get("events") or []:
            marks[(int(mark["beat"]), str(mark["key"]))].append(int(mark["frame"]))
    return dict(marks)


def temporal_consensus(answers: Iterable[Answer]) -> dict[tuple[int, str], float]:
    """(beat, event key) -> the median of the experts' frames."""
    return {key: float(statistics.median(frames)) for key, frames in temporal_marks(answers).items()}


def temporal_disagreement(answers: Iterable[Answer]) -> float:
    ranges = [max(f) - min(f) for f in temporal_marks(answers).values() if len(f) > 1]
    return sum(ranges) / len(ranges) if ranges else 0.0


def ranking_places(orderings: Iterable[Sequence[int]], item_id: int) -> list[float]:
    """The item's place in each ordering holding it: 0 at the axis start, 1 at its end."""
    places = []
    for ordering in orderings:
        if item_id in ordering and len(ordering) > 1:
            places.append(list(ordering).index(item_id) / (len(ordering) - 1))
    return places


def ranking_disagreement(places: Sequence[float]) -> float:
    return statistics.pstdev(places) if len(places) > 1 else 0.0


SCORES = {
    "classification": lambda answers: classification_disagreement([str(a.get("class", "")) for a in answers]),
    "keypoints": keypoint_disagreement,
    "temporal": temporal_disagreement,
}


def disagreement(kind: str, answers: Sequence[Answer]) -> float:
    """The item's disagreement figure for a single-item kind (what the review list orders by)."""
    return float(SCORES[kind](answers))
