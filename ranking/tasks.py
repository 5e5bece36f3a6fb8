"""Celery tasks of the ranking queue: thin, by primary key, idempotent, acknowledged late."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from projects.models import Project
from ranking.services import do_close_rating_periods


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
)
def close_rating_periods(project_id: int) -> int:
    """Fold the project's closed rating periods (a lock timeout is retried with backoff)."""
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
