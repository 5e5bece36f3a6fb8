"""Celery tasks of the media queue (routed by ``media_ingest.tasks.*``). Thin: ids in, services do the work."""

from __future__ import annotations

from celery import shared_task

from media_ingest import conf
from media_ingest.errors import TransientIngestError
from media_ingest.memory import memory_budget
from media_ingest.processing import do_fail_ingest_job, do_process_ingest_job, do_requeue_ingest_job
from media_ingest.selectors import stale_queued_job_ids
from media_ingest.upload_store import do_expire_uploads


def retry_countdown(retries: int) -> int:
    """Exponential backoff: 10 s, 20 s, 40 s, ... capped at 10 minutes."""
    return min(10 * 2**retries, 600)


@shared_task(bind=True, acks_late=True, max_retries=None)
def process_ingest_job(self, job_id: int) -> str:
    """Process one ingest job. Idempotent: a finished job is left as it is."""
    try:
        if self.request.is_eager:  # in the web process (embedded default): no per-process cap
            return do_process_ingest_job(job_id).status
        with memory_budget(conf.INGEST.job_memory_bytes):
            return do_process_ingest_job(job_id).status
    except TransientIngestError as exc:
        if self.request.retries >= conf.INGEST.max_retries:
            return do_fail_ingest_job(job_id, reason=f"gave up after {self.request.retries + 1} attempts: {exc}").status
        do_requeue_ingest_job(job_id, note=str(exc))
        if self.request.is_eager:
            # The embedded default runs tasks in-process with errors propagating, where Celery's
            # retry() would raise instead of re-running: retry here, at once.
            return self.apply(args=[job_id], retries=self.request.retries + 1).result
        raise self.retry(countdown=retry_countdown(self.request.retries), exc=exc) from None


@shared_task(acks_late=True)
def requeue_stale_ingest_jobs() -> int:
    """Periodic (beat): queue again jobs still waiting long after they were created, whose
    queueing was lost (broker down at commit). Processing is idempotent, so a job queued twice
    is processed once."""
    stale = stale_queued_job_ids()
    for job_id in stale:
        process_ingest_job.delay(job_id)
    return len(stale)


@shared_task(acks_late=True)
def expire_uploads() -> int:
    """Periodic (beat): delete resumable uploads abandoned half-way, with their bytes."""
    return do_expire_uploads()
