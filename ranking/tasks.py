"""Celery tasks of the ranking queue: thin, by primary key, idempotent, acknowledged late.

One fold in flight per project: ``request_fold`` queues a fold only if none is pending (a cache
flag, Redis in production and locmem in the embedded default), and the fold clears the flag
before it reads the log, so a judgement committed after that read queues the next fold. The
flag expires after ``FOLD_PENDING_SECONDS``, so a lost task never blocks folds for long; the
beat job ``close_due_rating_periods`` queues folds regardless.
"""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

from projects.models import Project
from ranking.services import do_close_rating_periods

#: How long a queued fold keeps later requests away if it never starts (a lost task, a dead worker).
FOLD_PENDING_SECONDS = 120


def fold_pending_key(project_id: int) -> str:
    return f"ranking:fold-pending:{project_id}"


def fold_is_pending(project_id: int) -> bool:
    return cache.get(fold_pending_key(project_id)) is not None


def request_fold(project_id: int) -> bool:
    """Queue a fold of the project unless one is already waiting. Call after commit. Returns
    whether a task was queued."""
    if not cache.add(fold_pending_key(project_id), 1, timeout=FOLD_PENDING_SECONDS):
        return False
    close_rating_periods.delay(project_id)
    return True


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
)
def close_rating_periods(project_id: int) -> int:
    """Fold the project's closed rating periods (a lock timeout is retried with backoff)."""
    # Before the fold reads the log: a judgement committed from now on may queue the next fold.
    cache.delete(fold_pending_key(project_id))
    return do_close_rating_periods(project_id)


@shared_task(acks_late=True)
def close_due_rating_periods() -> int:
    """Periodic (beat): queue a fold for every open ranking project, in case a queueing after a
    judgement was lost (broker outage). Folding is idempotent, so this is always safe."""
    project_ids = list(
        Project.objects.filter(kind=Project.Kind.RANKING, status=Project.Status.OPEN).values_list("pk", flat=True)
    )
    for project_id in project_ids:
        close_rating_periods.delay(project_id)
    return len(project_ids)
