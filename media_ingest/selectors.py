"""Reads: which clips a user may fetch, and ingest summaries."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count

from media_ingest.models import Clip, IngestJob
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


def job_status_counts(batch: str) -> dict[str, int]:
    rows = IngestJob.objects.filter(batch=batch).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
