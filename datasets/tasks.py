"""Celery tasks of dataset releases (routed to the media queue: file-heavy work)."""

from __future__ import annotations

from celery import shared_task

from datasets.processing import do_build_release


@shared_task(acks_late=True)
def build_release(release_id: int) -> str:
    """Build one release's archive. Rebuilding gives the same bytes."""
    return do_build_release(release_id).status
