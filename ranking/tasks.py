"""Celery tasks of the ranking queue: thin, by primary key, idempotent, acknowledged late."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

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
