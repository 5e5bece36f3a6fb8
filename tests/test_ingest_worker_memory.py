"""The bad-input corpus through a real media worker: the BitsStored bombs (26-32 bits) each fail
with a clear reason, the good file is ingested, and the worker's peak resident memory stays far
under the per-job budget (before the check, the 26-bit file alone took a worker to 2.3 GB)."""

from pathlib import Path

import pytest

from media_ingest import conf
from media_ingest.models import IngestJob
from media_ingest.services import do_create_ingest_jobs
from media_ingest.synthetic import write_synthetic_echo
from tests.conftest import make_project, need, redis_reachable
from tests.test_ingest_hardened import palette_dicom
from tests.workers import ROOT, celery_worker, wait_until
from unity.celery import app as celery_app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_bits_stored_bombs_fail_alone_in_a_real_worker_within_the_memory_budget(tmp_path):
    need(redis_reachable(), "Redis is not configured or not running")
    project = make_project(slug="worker-bombs")
    good = tmp_path / "good.dcm"
    write_synthetic_echo(good, frames=6, rows=120, columns=160, seed=31)
    bombs = [palette_dicom(tmp_path / f"bomb{b}.dcm", good, bits_stored=b) for b in (26, 28, 30, 32)]
    celery_app.control.purge()
    with celery_worker(queues="media", log_path=ROOT / "var" / "test" / "bombs-worker.log") as worker:
        [child] = children(worker.pid)
        before = peak_rss(child)
        jobs = do_create_ingest_jobs(project, paths=[*bombs, good])
        done = {IngestJob.Status.READY, IngestJob.Status.FAILED, IngestJob.Status.DUPLICATE}
        assert wait_until(lambda: all(IngestJob.objects.get(pk=j.pk).status in done for j in jobs), timeout=120)
        peak = peak_rss(child)
    jobs = [IngestJob.objects.get(pk=j.pk) for j in jobs]
    for job, bits in zip(jobs[:4], (26, 28, 30, 32), strict=True):
        assert job.status == IngestJob.Status.FAILED
        assert f"bits stored ({bits}) must be between 1 and bits allocated (8)" in job.error
    assert jobs[4].status == IngestJob.Status.READY, jobs[4].error
    # A 2**26-entry table alone would be hundreds of megabytes; the whole batch adds far less.
    assert peak - before < 200 * 1024**2, (before, peak)
    assert peak < before + conf.INGEST.job_memory_bytes
