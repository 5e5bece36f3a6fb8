"""Reads for building a release: its items, its experts, its answers. Everything a release holds
is read through the freeze watermarks (``Release.last_item_id``, ``last_judgement_id``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, Sum

from annotations.models import Adjudication, Judgement, TaskItem
from datasets.models import LicenceAcceptance, Release
from datasets.splits import keyed_order
from media_ingest.layout import LOSSLESS_MANIFEST, VIDEO, storage_prefix
from media_ingest.models import Clip, ProjectItem
from projects.models import ExpertProfile, Project

READ_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class ReleaseItem:
    item_id: int
    prefix: str  # 01 development, 02 external validation
    code: str  # the clip's 64 hex
    frame_index: int | None
    frame_count: int
    frame_rate: float
    width: int
    height: int
    spacing_x_mm: float | None
    spacing_y_mm: float | None
    study_key: str
    has_master: bool  # False: ingested before lossless masters were kept
    has_video: bool

    @property
    def lossless_manifest_name(self) -> str:
        """Content-addressed (media_ingest.layout): derived, not held, for 100,000s of items."""
        return f"{storage_prefix(self.code)}/{LOSSLESS_MANIFEST}" if self.has_master else ""

    @property
    def video_name(self) -> str:
        return f"{storage_prefix(self.code)}/{VIDEO}" if self.has_video else ""

    @property
    def clip_name(self) -> str:
        """``01-<64 hex>``: the biobank's name of a clip (FileHash)."""
        return f"{self.prefix}-{self.code}"

    def image_name(self, frame: int | None = None) -> str:
        """The clip's name, or a frame's (``01-<64 hex>-0012``) for a frame item or ``frame``."""
        index = self.frame_index if frame is None else frame
        return self.clip_name if index is None else f"{self.clip_name}-{index:04d}"


def release_items(release: Release) -> list[ReleaseItem]:
    """The release's items (ids up to its watermark, clips ready), in id order."""
    rows = (
        ProjectItem.objects.filter(
            project_id=release.project_id, id__lte=release.last_item_id, clip__status=Clip.Status.READY
        )
        .order_by("id")
        .values_list(
            "id",
            "split",
            "clip__code",
            "frame_index",
            "clip__frame_count",
            "clip__frame_rate",
            "clip__columns",
            "clip__rows",
            "clip__pixel_spacing_x_mm",
            "clip__pixel_spacing_y_mm",
            "clip__study_key",
            "clip__lossless_manifest_name",
            "clip__video_name",
        )
    )
    return [ReleaseItem(*row[:-2], bool(row[-2]), bool(row[-1])) for row in rows.iterator(chunk_size=READ_CHUNK)]


@dataclass(frozen=True, slots=True)
class Expert:
    pseudonym: str
    profession: str


def release_experts(release: Release) -> dict[int, Expert]:
    """User id -> pseudonym (E001, E002, ... in an order keyed by the release's salt: stable within
    the release, unrelated to ids or sign-up order) and profession."""
    ids = (
        Judgement.objects.filter(project_id=release.project_id, id__lte=release.last_judgement_id)
        .values_list("expert_id", flat=True)
        .distinct()
    )
    ordered = sorted(ids, key=lambda user_id: keyed_order(release.salt, f"expert:{user_id}"))
    professions = dict(ExpertProfile.objects.filter(user_id__in=ordered).values_list("user_id", "profession"))
    return {
        user_id: Expert(pseudonym=f"E{n:03d}", profession=professions.get(user_id, ExpertProfile.Profession.OTHER))
        for n, user_id in enumerate(ordered, start=1)
    }


@dataclass(frozen=True, slots=True)
class Answer:
    judgement_id: int
    expert_id: int
    item_id: int | None  # the task's item (single-item kinds); None for ranking
    answer: dict
    not_sure: bool
    time_on_task_ms: int
    created_at: datetime


def _superseded(release: Release) -> set[int]:
    """Judgements corrected by a later judgement within the release: the correction counts."""
    return set(
        Judgement.objects.filter(
            project_id=release.project_id, id__lte=release.last_judgement_id, supersedes__isnull=False
        ).values_list("supersedes_id", flat=True)
    )


def answers_by_item(release: Release) -> Iterator[Answer]:
    """Answers of single-item tasks (classification, keypoints, temporal) in (item id, judgement
    id) order, streamed: one chunk of rows in memory at a time."""
    skip = _superseded(release)
    rows = (
        TaskItem.objects.filter(
            task__judgement__project_id=release.project_id,
            task__judgement__id__lte=release.last_judgement_id,
            item_id__lte=release.last_item_id,
        )
        .order_by("item_id", "task__judgement__id")
        .values_list(
            "task__judgement__id",
            "task__judgement__expert_id",
            "item_id",
            "task__judgement__answer",
            "task__judgement__not_sure",
            "task__judgement__time_on_task_ms",
            "task__judgement__created_at",
        )
    )
    for row in rows.iterator(chunk_size=READ_CHUNK):
        if row[0] not in skip:
            yield Answer(*row)


def answers_in_order(release: Release) -> Iterator[Answer]:
    """Every answer in judgement id order (ranking: the items are in the answer), streamed."""
    skip = _superseded(release)
    rows = (
        Judgement.objects.filter(project_id=release.project_id, id__lte=release.last_judgement_id)
        .order_by("id")
        .values_list("id", "expert_id", "answer", "not_sure", "time_on_task_ms", "created_at")
    )
    for pk, expert_id, answer, not_sure, time_ms, created in rows.iterator(chunk_size=READ_CHUNK):
        if pk not in skip:
            yield Answer(pk, expert_id, None, answer, not_sure, time_ms, created)


@dataclass(frozen=True, slots=True)
class Decision:
    """A reviewer's decision on an item (``annotations.models.Adjudication``), as a release reads it."""

    item_id: int
    reviewer_id: int
    decision: str
    answer: dict | None
    note: str
    created_at: datetime


def release_decisions(release: Release) -> list[Decision]:
    """Each released item's latest adjudication made up to the freeze, in item id order. A release
    has no adjudication watermark: the freeze time stands in for one (``created_at <= frozen_at``,
    which is truncated to the second, so a decision recorded later never enters a rebuild)."""
    rows = (
        Adjudication.objects.filter(
            project_id=release.project_id, item_id__lte=release.last_item_id, created_at__lte=release.frozen_at
        )
        .order_by("item_id", "id")
        .values_list("item_id", "reviewer_id", "decision", "answer", "note", "created_at")
    )
    latest: dict[int, Decision] = {}
    for row in rows.iterator(chunk_size=READ_CHUNK):
        latest[row[0]] = Decision(*row)
    return list(latest.values())


def release_reviewers(release: Release, reviewer_ids: set[int]) -> dict[int, str]:
    """User id -> reviewer pseudonym (R001, ... in an order keyed by the release's salt, like the
    experts' and unrelated to theirs: a reviewer who also answered is not linked to their answers)."""
    ordered = sorted(reviewer_ids, key=lambda user_id: keyed_order(release.salt, f"reviewer:{user_id}"))
    return {user_id: f"R{n:03d}" for n, user_id in enumerate(ordered, start=1)}


def most_experts_per_item(release: Release) -> int:
    """The most distinct experts who answered one item (the operator columns of a phase table)."""
    counts = (
        TaskItem.objects.filter(
            task__judgement__project_id=release.project_id,
            task__judgement__id__lte=release.last_judgement_id,
            item_id__lte=release.last_item_id,
        )
        .values("item_id")
        .annotate(n=Count("task__judgement__expert_id", distinct=True))
        .order_by("-n")
        .values_list("n", flat=True)[:1]
    )
    return next(iter(counts), 0)


def next_version(project: Project) -> int:
    last = Release.objects.filter(project=project).order_by("-version").values_list("version", flat=True).first()
    return (last or 0) + 1


def watermarks(project: Project) -> tuple[int, int]:
    """(last item id, last judgement id) of ``project``, such that no lower id can still commit.

    Ids come from sequences when rows are inserted, but transactions commit in any order: a freeze
    that read 1-10 while 9 was uncommitted would see 9 appear in a rebuild. On PostgreSQL a SHARE
    lock on both tables waits for every transaction inserting into them (a few ms); call inside
    the transaction that records the release, which holds the lock until it commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '30s'")
            cursor.execute(f"LOCK TABLE {ProjectItem._meta.db_table}, {Judgement._meta.db_table} IN SHARE MODE")
    item = ProjectItem.objects.filter(project=project).order_by("-id").values_list("id", flat=True).first()
    judgement = Judgement.objects.filter(project=project).order_by("-id").values_list("id", flat=True).first()
    return item or 0, judgement or 0


def release_preview(project: Project) -> dict[str, int]:
    """What a release of ``project`` made now would hold: a few aggregate queries."""
    items = ProjectItem.objects.filter(project=project, clip__status=Clip.Status.READY)
    clips = Clip.objects.filter(pk__in=items.values("clip_id"))
    judgements = Judgement.objects.filter(project=project)
    return {
        "items": items.count(),
        "clips": clips.count(),
        "clips_without_master": clips.filter(lossless_manifest_name="").count(),
        "frames_at_most": clips.aggregate(n=Sum("frame_count"))["n"] or 0,
        "answers": judgements.count(),
        "experts": judgements.values("expert_id").distinct().count(),
    }


def catalogue() -> list[Release]:
    """Releases researchers can see: ready ones, newest version of each project first."""
    return list(
        Release.objects.filter(status=Release.Status.READY)
        .select_related("project")
        .order_by("project__title", "-version")
    )


def public_release(slug: str, version: int) -> Release | None:
    """A release's public page: ready or withdrawn (the page says so); never one still building."""
    return (
        Release.objects.filter(
            project__slug=slug, version=version, status__in=[Release.Status.READY, Release.Status.WITHDRAWN]
        )
        .select_related("project")
        .first()
    )


def has_accepted(release: Release, user) -> bool:
    return user.is_authenticated and LicenceAcceptance.objects.filter(release=release, user=user).exists()
