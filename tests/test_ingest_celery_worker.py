"""An ingest job travels through Redis to a real worker on the media queue."""

import pytest
from django.conf import settings

from media_ingest.models import IngestJob, ProjectItem
from media_ingest.services import do_create_ingest_jobs
from media_ingest.synthetic import write_synthetic_echo
from tests.conftest import make_project, need, redis_reachable
from tests.workers import ROOT, celery_worker, wait_until
from unity.celery import app as celery_app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_media_worker_ingests_a_queued_file(tmp_path):
    need(redis_reachable(), "Redis is not configured or not running")
    project = make_project(slug="worker-ingest")
    source = tmp_path / "loop.dcm"
    write_synthetic_echo(source, frames=12, rows=120, columns=160, phi={"PatientName": "QZWORKER^PHI"})
    log_path = ROOT / "var" / "test" / "ingest-worker.log"
    # The worker is another process: it uses the settings' storage roots, so no per-test override.
    celery_app.control.purge()  # messages left by an interrupted run on this Redis database
    with celery_worker(queues="media", log_path=log_path):
        [job] = do_create_ingest_jobs(project, paths=[source])
        assert wait_until(lambda: IngestJob.objects.get(pk=job.pk).status not in {"queued", "processing"}, timeout=90)
    job.refresh_from_db()
    assert job.status == IngestJob.Status.READY, job.error
    assert ProjectItem.objects.filter(project=project, clip_id=job.clip_id).exists()
    log = log_path.read_text()
    assert f"ingest job {job.pk}: ready" in log
    assert "QZWORKER" not in log
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
