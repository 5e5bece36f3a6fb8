"""A release is frozen in the request and built by a real worker on the media queue, through Redis."""

import zipfile

import pytest

from datasets.models import Release
from datasets.processing import release_path
from datasets.services import do_create_release
from media_ingest.services import do_create_ingest_jobs
from media_ingest.synthetic import write_synthetic_echo
from tests.conftest import make_project, need, redis_reachable
from tests.workers import ROOT, celery_worker, wait_until
from unity.celery import app as celery_app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_media_worker_builds_a_queued_release(tmp_path):
    need(redis_reachable(), "Redis is not configured or not running")
    project = make_project(slug="worker-release")
    paths = []
    for n in range(2):
        paths.append(tmp_path / f"loop{n}.dcm")
        write_synthetic_echo(paths[-1], frames=6, rows=120, columns=200, seed=n)
    log_path = ROOT / "var" / "test" / "release-worker.log"
    celery_app.control.purge()
    with celery_worker(queues="media", log_path=log_path):
        jobs = do_create_ingest_jobs(project, paths=paths)
        assert wait_until(
            lambda: all(j.status == "ready" for j in type(jobs[0]).objects.filter(pk__in=[j.pk for j in jobs])),
            timeout=90,
        )
        release = do_create_release(project, title="Built by the worker")
        assert wait_until(lambda: Release.objects.get(pk=release.pk).status in {"ready", "failed"}, timeout=90)
    release.refresh_from_db()
    assert release.status == Release.Status.READY, release.error
    assert release.progress_done == release.progress_total > 0
    with zipfile.ZipFile(release_path(release)) as archive:
        pngs = [n for n in archive.namelist() if n.endswith(".png")]
    assert len(pngs) == 12
    assert f"release {release.pk}: ready" in log_path.read_text()
