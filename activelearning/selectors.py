"""Reads for learning: the consensus labels a model trains on, the pool's images, and what the
admin shows (versions, runs, the queue).

Training labels are the consensus a release would publish (``datasets.labels``), from the same
answers: latest corrections only, experts the admin left out of consensus left out here too.
Model predictions are never read as answers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.core.files.storage import default_storage
from django.db.models import Count

from activelearning.models import LearningRun, LearningSettings, ModelVersion, Prediction
from datasets.labels import NOT_SURE, majority_class
from media_ingest.conf import ARRAY_SIDE
from media_ingest.models import Clip, ProjectItem
from projects.models import Project
from projects.selectors import consensus_decisions
from quality.selectors import single_item_answers
from ranking.models import ItemRating

NONE_OF_THE_ABOVE = "none_of_the_above"


class LearningError(Exception):
    """A run cannot go on; the message is shown to the admin as it is."""


def settings_for(project: Project) -> LearningSettings:
    found, _ = LearningSettings.objects.get_or_create(project=project)
    return found


def class_keys(project: Project) -> list[str]:
    """The classes a view model predicts, in a fixed order: the schema's, then "none of the above"."""
    return [entry["key"] for entry in project.label_schema.get("classes", [])] + [NONE_OF_THE_ABOVE]


def point_keys(project: Project) -> list[str]:
    """The landmarks a keypoint model predicts (points; curves are not learned yet)."""
    return [entry["key"] for entry in project.label_schema.get("points", [])]


def _answers(project: Project) -> dict[int, list[dict]]:
    """Item id -> answers of experts counted in consensus (single-item kinds), latest corrections only."""
    left_out = set(consensus_decisions(project)["left_out"])
    found: dict[int, list[dict]] = defaultdict(list)
    for item_id, expert_id, answer in single_item_answers(project):
        if expert_id not in left_out:
            found[item_id].append(answer)
    return found


def consensus_labels(project: Project) -> dict[int, object]:
    """Item id -> the label a model trains on, for items with one.

    classification: the majority class (a class key or "none_of_the_above"; "not sure" never wins);
    keypoints: ``{"frame": n, "points": {key: [x, y] | None}}``, the mean of the placed points in
    image pixels (None: off, blurred or never placed); ranking: the consensus-fit score of items
    ordered at least once. Temporal projects have no learner (``LearningError``).
    """
    if project.kind == Project.Kind.CLASSIFICATION:
        labels = {}
        for item_id, answers in _answers(project).items():
            best, *_ = majority_class(a.get("class", "") for a in answers)
            if best and best != NOT_SURE:
                labels[item_id] = best
        return labels
    if project.kind == Project.Kind.KEYPOINTS:
        keys = point_keys(project)
        if not keys:
            raise LearningError("This keypoint project has no points in its schema: curves are not learned yet.")
        labels = {}
        for item_id, answers in _answers(project).items():
            points = {}
            for key in keys:
                placed = [
                    a["labels"][key]["points"][0]
                    for a in answers
                    if a.get("labels", {}).get(key, {}).get("state") == "placed"
                ]
                points[key] = [float(v) for v in np.mean(np.asarray(placed, np.float64), axis=0)] if placed else None
            frames = sorted(int(a.get("frame", 0)) for a in answers)
            labels[item_id] = {"frame": frames[len(frames) // 2], "points": points}
        return labels
    if project.kind == Project.Kind.RANKING:
        return dict(ItemRating.objects.filter(project=project, views__gt=0).values_list("item_id", "score"))
    raise LearningError(f"{project.get_kind_display()} projects have no learner yet.")


@dataclass(frozen=True)
class PoolItem:
    id: int
    clip_id: int
    frame_index: int | None
    study_key: str
    array_name: str
    rows: int
    columns: int
    complete: bool
    active: bool


def pool(project: Project, *, include_inactive: bool = False) -> list[PoolItem]:
    """Every active item on a ready clip (and the inactive ones too when asked: a ranking project
    grows its rated set from them), in id order: what a version scores."""
    found = ProjectItem.objects.filter(project=project, clip__status=Clip.Status.READY)
    if not include_inactive:
        found = found.filter(is_active=True)
    rows = found.order_by("id").values_list(
        "id",
        "clip_id",
        "frame_index",
        "clip__study_key",
        "clip__array_name",
        "clip__rows",
        "clip__columns",
        "judgement_count",
        "is_active",
    )
    target = project.target_views_per_item
    return [
        PoolItem(pk, clip, frame, study or f"clip-{clip}", array, r, c, count >= target, active)
        for pk, clip, frame, study, array, r, c, count, active in rows.iterator(chunk_size=5000)
    ]


def images(items: list[PoolItem], frames: dict[int, int] | None = None) -> np.ndarray:
    """``[n, 112, 112]`` uint8: each item's frame (its own, ``frames[item id]``, else the middle
    one) from its clip's grey array, read through a memory map so only that frame is loaded.
    A clip whose array is missing or damaged raises ``LearningError`` naming the item."""
    frames = frames or {}
    out = np.empty((len(items), ARRAY_SIDE, ARRAY_SIDE), np.uint8)
    by_clip: dict[str, list[tuple[int, PoolItem]]] = defaultdict(list)
    for row, item in enumerate(items):
        by_clip[item.array_name].append((row, item))
    for name, members in by_clip.items():
        try:
            if not name:
                raise ValueError("no grey array")
            array = np.load(default_storage.path(name), mmap_mode="r", allow_pickle=False)
            if array.ndim != 3 or array.shape[1:] != (ARRAY_SIDE, ARRAY_SIDE) or array.dtype != np.uint8:
                raise ValueError(f"grey array of shape {array.shape} and type {array.dtype}")
            for row, item in members:
                frame = frames.get(item.id, item.frame_index)
                frame = array.shape[0] // 2 if frame is None else min(max(int(frame), 0), array.shape[0] - 1)
                out[row] = array[frame]
        except (OSError, ValueError) as exc:
            # The reason without the storage path: a message for the admin, not a file listing.
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise LearningError(f"item {members[0][1].id}: cannot read its clip's grey array ({reason})") from exc
    return out


def labelled_count(project: Project) -> int:
    """Items with at least one answer (ranking: rated at least once): the cheap measure the
    retrain trigger compares with the serving version's label count."""
    if project.kind == Project.Kind.RANKING:
        return ItemRating.objects.filter(project=project, views__gt=0).count()
    return ProjectItem.objects.filter(project=project, judgement_count__gt=0).count()


def versions(project: Project) -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(project=project).defer("weights", "labels").order_by("number"))


def recent_runs(project: Project, limit: int = 10) -> list[LearningRun]:
    return list(LearningRun.objects.filter(project=project).select_related("version")[:limit])


def queue_preview(version: ModelVersion, limit: int = 25) -> list[Prediction]:
    return list(
        Prediction.objects.filter(version=version, rank__isnull=False)
        .select_related("item__clip")
        .order_by("rank")[:limit]
    )


def queue_counts(version: ModelVersion) -> dict[str, int]:
    return Prediction.objects.filter(version=version).aggregate(scored=Count("id"), queued=Count("rank"))
