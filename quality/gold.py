"""Each expert's accuracy on the project's gold items (items whose answer an admin set).

Reads only the gold answers and the judgements on gold items (task items joined to the gold
set, ``values_list``, no model instances): the cost follows the gold set, not the project's
judgement log. Each expert's latest answer per item counts (a correction replaces the answer it
corrects); a "not sure" answer is counted apart and left out of the accuracy.

- classification: the share of answers whose class is the gold class;
- keypoints, per point label the gold places: the mean distance of the expert's point to the gold
  point, on the gold's frame, in mm (the clip's ``pixel_spacing_x_mm``; px when a compared clip
  has none), and the share within ``TOLERANCE`` of it (a point not placed, or placed on another
  frame, counts as outside); curves are not compared yet;
- temporal, per event: the gold marks (by key and beat) of the answered items, how many the
  expert marked in the same beat, and their mean |frame difference|.
"""

from __future__ import annotations

import statistics as pystats
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from annotations.answers import NOT_SURE
from annotations.models import GoldAnswer, TaskItem
from media_ingest.models import ProjectItem
from projects.models import Project

TOLERANCE = 5.0  # mm, or px where a clip has no pixel spacing


@dataclass(frozen=True)
class GoldAccuracy:
    kind: str
    items: int  # gold items in the project
    header: list[str]
    rows: list[list[object]]


@dataclass(frozen=True)
class _Answer:
    expert: str
    item: int
    answer: dict[str, Any]
    not_sure: bool


def gold_accuracy(project: Project) -> GoldAccuracy | None:
    """Per expert accuracy on the gold items, or None when the project has none."""
    gold = dict(GoldAnswer.objects.filter(item__project=project).values_list("item_id", "answer"))
    if not gold or project.kind not in _BY_KIND:
        return None
    header, rows = _BY_KIND[project.kind](project, gold, _latest_answers(project, list(gold)))
    return GoldAccuracy(kind=project.kind, items=len(gold), header=header, rows=rows)


def _latest_answers(project: Project, gold_ids: list[int]) -> list[_Answer]:
    """Each expert's latest answer per gold item (judgements in id order: a later one, a
    correction included, replaces an earlier one)."""
    rows = (
        TaskItem.objects.filter(item_id__in=gold_ids, task__project=project, task__judgement__isnull=False)
        .order_by("task__judgement__id")
        .values_list(
            "item_id",
            "task__judgement__expert_id",
            "task__judgement__expert__email",
            "task__judgement__expert__username",
            "task__judgement__answer",
            "task__judgement__not_sure",
        )
    )
    latest: dict[tuple[int, int], _Answer] = {}
    for item, expert_id, email, username, answer, not_sure in rows:
        unsure = bool(not_sure) or (isinstance(answer, dict) and answer.get("class") == NOT_SURE)
        latest[(expert_id, item)] = _Answer(email or username, item, answer if isinstance(answer, dict) else {}, unsure)
    return sorted(latest.values(), key=lambda a: (a.expert, a.item))


def _by_expert(answers: list[_Answer]) -> dict[str, list[_Answer]]:
    grouped: dict[str, list[_Answer]] = defaultdict(list)
    for answer in answers:
        grouped[answer.expert].append(answer)
    return grouped


def _classification(
    project: Project, gold: dict[int, dict], answers: list[_Answer]
) -> tuple[list[str], list[list[object]]]:
    header = ["expert", "gold items answered", "not sure", "correct", "accuracy"]
    rows = []
    for expert, given in _by_expert(answers).items():
        definite = [a for a in given if not a.not_sure]
        correct = sum(a.answer.get("class") == gold[a.item].get("class") for a in definite)
        share = round(correct / len(definite), 3) if definite else None
        rows.append([expert, len(given), len(given) - len(definite), correct, share])
    return header, rows


def _keypoints(project: Project, gold: dict[int, dict], answers: list[_Answer]) -> tuple[list[str], list[list[object]]]:
    spacing = dict(ProjectItem.objects.filter(pk__in=list(gold)).values_list("id", "clip__pixel_spacing_x_mm"))
    header = ["expert", "gold items answered", "label", "compared", "mean distance to gold", f"within {TOLERANCE:g}"]
    rows = []
    for expert, given in _by_expert(answers).items():
        # label -> [(distance in px, spacing) or None when not placed on the gold's frame]
        compared: dict[str, list[tuple[float, float | None] | None]] = defaultdict(list)
        for answer in given:
            if answer.not_sure:
                continue
            target = gold[answer.item]
            for label, entry in target.get("labels", {}).items():
                points = entry.get("points") or []
                if entry.get("state") != "placed" or len(points) != 1:
                    continue  # the gold does not place this point (or it is a curve)
                mine = answer.answer.get("labels", {}).get(label, {})
                placed = mine.get("points") or []
                if (
                    mine.get("state") != "placed"
                    or len(placed) != 1
                    or answer.answer.get("frame") != target.get("frame")
                ):
                    compared[label].append(None)
                    continue
                px = float(np.hypot(placed[0][0] - points[0][0], placed[0][1] - points[0][1]))
                compared[label].append((px, spacing.get(answer.item)))
        for label in sorted(compared):
            pairs = compared[label]
            measured = [p for p in pairs if p is not None]
            in_mm = bool(measured) and all(scale is not None for _, scale in measured)
            distances = [px * (scale or 1.0) if in_mm else px for px, scale in measured]
            within = sum(d <= TOLERANCE for d in distances)
            unit = "mm" if in_mm else "px"
            rows.append(
                [
                    expert,
                    len(given),
                    label,
                    len(pairs),
                    f"{pystats.fmean(distances):.2f} {unit}" if distances else None,
                    round(within / len(pairs), 3),
                ]
            )
    return header, rows


def _temporal(project: Project, gold: dict[int, dict], answers: list[_Answer]) -> tuple[list[str], list[list[object]]]:
    header = ["expert", "gold items answered", "event", "gold marks", "marked", "mean |frame difference|"]
    rows = []
    for expert, given in _by_expert(answers).items():
        marks: dict[str, int] = defaultdict(int)
        differences: dict[str, list[int]] = defaultdict(list)
        for answer in given:
            if answer.not_sure:
                continue
            mine = {(m.get("key"), m.get("beat")): m.get("frame") for m in answer.answer.get("events", [])}
            for mark in gold[answer.item].get("events", []):
                marks[mark["key"]] += 1
                frame = mine.get((mark["key"], mark["beat"]))
                if frame is not None:
                    differences[mark["key"]].append(abs(frame - mark["frame"]))
        for event in sorted(marks):
            found = differences[event]
            rows.append(
                [
                    expert,
                    len(given),
                    event.upper(),
                    marks[event],
                    len(found),
                    round(pystats.fmean(found), 2) if found else None,
                ]
            )
    return header, rows


_BY_KIND = {
    Project.Kind.CLASSIFICATION: _classification,
    Project.Kind.KEYPOINTS: _keypoints,
    Project.Kind.TEMPORAL: _temporal,
}
