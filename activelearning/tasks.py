"""Celery tasks of the learning queue: thin, by primary key, idempotent, acknowledged late."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from activelearning.processing import do_queue_due_runs, do_run


@shared_task(acks_late=True)
def retrain(run_id: int) -> str:
    """Run a queued retrain (a redelivered message finds it claimed and does nothing)."""
    return do_run(run_id).status


@shared_task(acks_late=True)
def check_retrains() -> int:
    """Periodic (beat): queue the retrains that new labels or the schedule call for."""
    with transaction.atomic():
        runs = do_queue_due_runs()
        for run in runs:
            transaction.on_commit(lambda pk=run.pk: retrain.delay(pk))
    return len(runs)
