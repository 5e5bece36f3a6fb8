"""Periodic jobs catch up on work whose queueing was lost (a broker outage at commit)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from media_ingest.models import IngestJob
from media_ingest.services import do_create_ingest_jobs
from media_ingest.synthetic import write_synthetic_echo
from media_ingest.tasks import requeue_stale_ingest_jobs

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("roots")  # fresh media folders; tasks run in-process
def test_a_job_whose_queueing_was_lost_is_processed_by_the_periodic_job(project, tmp_path):
    source = tmp_path / "loop.dcm"
    write_synthetic_echo(source, frames=4, rows=96, columns=128, seed=31)
    [job] = do_create_ingest_jobs(project, paths=[source], queue=False)  # as if the broker dropped it
    assert requeue_stale_ingest_jobs() == 0  # not stale yet: a worker may still be on its way
    IngestJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=30))
    assert requeue_stale_ingest_jobs.apply().get() == 1
    job.refresh_from_db()
    assert job.status == IngestJob.Status.READY, job.error
    assert requeue_stale_ingest_jobs() == 0
