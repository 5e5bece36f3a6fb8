"""Reads: which clips a user may fetch, and ingest summaries."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.storage import default_storage
from django.utils import timezone

from media_ingest.models import Clip, IngestJob
from projects.models import Project
from projects.selectors import VISIBLE_TO_EXPERTS


def clip_visible_to(user: AbstractBaseUser | AnonymousUser, code: str) -> Clip | None:
    """The ready clip, if ``user`` may see it: staff always; an expert when a published project
    they belong to holds an item of the clip. None otherwise (the caller answers 404)."""
    if not user.is_authenticated:
        return None
    clips = Clip.objects.filter(code=code, status=Clip.Status.READY)
    if not user.is_staff:
        # One filter() call: the item, its project and the membership are the same rows.
        clips = clips.filter(
            project_items__project__memberships__user=user,
            project_items__project__status__in=VISIBLE_TO_EXPERTS,
        )
    return clips.distinct().first()


def ingest_jobs_page(
    project: Project, *, batch: str, status: str, before: int | None, limit: int, ids: list[int] | None = None
) -> list[IngestJob]:
    """Newest first, at most ``limit`` jobs of ``project`` (and ``batch``/``status``/``ids`` when
    given) with ids below ``before``: keyset pages that stay cheap however many jobs a project has."""
    jobs = IngestJob.objects.filter(project=project).select_related("clip").order_by("-pk")
    if ids is not None:
        jobs = jobs.filter(pk__in=ids)
    if batch:
        jobs = jobs.filter(batch=batch)
    if status:
        jobs = jobs.filter(status=status)
    if before is not None:
        jobs = jobs.filter(pk__lt=before)
    return list(jobs[:limit])


# A queued job waits for a worker at most this long before the periodic job queues it again.
STALE_QUEUED_MINUTES = 10


def stale_queued_job_ids(*, minutes: int = STALE_QUEUED_MINUTES, limit: int = 1000) -> list[int]:
    cutoff = timezone.now() - timedelta(minutes=minutes)
    return list(
        IngestJob.objects.filter(status=IngestJob.Status.QUEUED, updated_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def lossless_frames(clip: Clip | ReleaseClip, frames: Iterable[int] | None = None) -> Iterator[tuple[int, bytes]]:
    """``(frame index, PNG bytes)`` of a clip's lossless master, in frame order (every frame, or
    the sorted ``frames`` given), read chunk by chunk from the media storage: one chunk in memory
    at a time. Raises ``LosslessMissing`` for a clip ingested before masters were kept."""
    if not clip.lossless_manifest_name:
        raise LosslessMissing(f"clip {clip.code[:12]} has no lossless master: ingest its DICOM again")
    with default_storage.open(clip.lossless_manifest_name, "rb") as handle:
        manifest = json.load(handle)
    folder = clip.lossless_manifest_name.rsplit("/", 1)[0]
    wanted = None if frames is None else sorted(set(frames))
    for chunk in manifest["chunks"]:
        first, spans = chunk["first_frame"], chunk["frames"]
        indices = range(first, first + len(spans))
        if wanted is not None:
            indices = [i for i in wanted if first <= i < first + len(spans)]
            if not indices:
                continue
        with default_storage.open(f"{folder}/{chunk['name']}", "rb") as handle:
            data = handle.read()
        for index in indices:
            offset, length = spans[index - first]
            yield index, data[offset : offset + length]


class ReleaseClip(Protocol):
    """What ``lossless_frames`` reads of a clip (a Clip, or a release's lighter item)."""

    code: str
    lossless_manifest_name: str


class LosslessMissing(Exception):
    pass
