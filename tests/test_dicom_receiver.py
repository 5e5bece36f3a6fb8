"""The DICOM receiver, proved with an independent client: DCMTK's storescu and echoscu (Debian
package dcmtk) send a study of many instances; a real media worker ingests them; an AE title not
on the allow-list is refused; a malformed instance fails alone."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from media_ingest.models import DicomPeer, IngestJob, ProjectItem
from media_ingest.receiver import Receiver
from media_ingest.synthetic import write_synthetic_echo
from tests.conftest import make_project, need, redis_reachable
from tests.test_ingest_hardened import palette_dicom
from tests.workers import ROOT, celery_worker, wait_until
from unity.celery import app as celery_app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver():
    need(shutil.which("storescu") is not None, "DCMTK's storescu is not installed (Debian package dcmtk)")
    port = free_port()
    server = Receiver("UNITY")
    server.start("127.0.0.1", port)
    yield port
    server.stop()


def dcmtk(tool: str, port: int, aet: str, *files, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool, *options, "-aet", aet, "-aec", "UNITY", "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_study_sent_by_storescu_is_ingested_and_a_bad_instance_fails_alone(receiver, tmp_path):
    need(redis_reachable(), "Redis is not configured or not running")
    project = make_project(slug="from-pacs")
    DicomPeer.objects.create(ae_title="ECHOLAB1", project=project, host="127.0.0.1")
    study = tmp_path / "study"
    study.mkdir()
    files = []
    # Six uncompressed, one JPEG baseline, one RLE: storescu proposes each file's own syntax.
    syntaxes = ["explicit_little"] * 6 + ["jpeg_baseline", "rle"]
    for n, syntax in enumerate(syntaxes):
        files.append(study / f"i{n}.dcm")
        write_synthetic_echo(
            files[-1],
            frames=4,
            rows=96,
            columns=128,
            seed=100 + n,
            transfer_syntax=syntax,
            phi={"PatientName": "QZPACS^SENT"},
        )
    files.append(palette_dicom(study / "bomb.dcm", files[0], bits_stored=26))

    assert dcmtk("echoscu", receiver, "ECHOLAB1").returncode == 0
    celery_app.control.purge()
    with celery_worker(queues="media", log_path=ROOT / "var" / "test" / "receiver-worker.log"):
        # The uncompressed study and the bomb in one association; the compressed instances each
        # in their own, proposed in their stored syntax as a PACS would (storescu proposes
        # uncompressed syntaxes only unless told: -xy JPEG baseline, -xr RLE).
        uncompressed = [*files[:6], files[8]]
        for batch, options in ((uncompressed, ()), ([files[6]], ("-xy",)), ([files[7]], ("-xr",))):
            sent = dcmtk("storescu", receiver, "ECHOLAB1", *batch, options=options)
            assert sent.returncode == 0, sent.stdout + sent.stderr
        done = {IngestJob.Status.READY, IngestJob.Status.FAILED, IngestJob.Status.DUPLICATE}
        assert wait_until(
            lambda: (
                IngestJob.objects.filter(project=project).count() == 9
                and all(j.status in done for j in IngestJob.objects.filter(project=project))
            ),
            timeout=120,
        )
    jobs = list(IngestJob.objects.filter(project=project).order_by("id"))
    # One batch per association, jobs named by position within it.
    assert [(j.batch, j.source_name) for j in jobs[:7]] == [(jobs[0].batch, f"file {n:04d}") for n in range(1, 8)]
    assert jobs[0].batch.startswith("dicom-") and len({j.batch for j in jobs}) == 3
    assert [j.status for j in jobs] == [IngestJob.Status.READY] * 6 + [IngestJob.Status.FAILED] + [
        IngestJob.Status.READY
    ] * 2
    assert "bits stored (26)" in jobs[6].error
    assert {j.source_name for j in jobs[7:]} == {"file 0001"}
    assert ProjectItem.objects.filter(project=project).count() == 8
    # The receiver's own copies are gone; nothing identifying reached the log or the rows.
    assert not any((ROOT / "var").rglob("receiver/*.dcm"))
    assert "QZPACS" not in (ROOT / "var" / "test" / "receiver-worker.log").read_text()
    assert not IngestJob.objects.filter(error__contains="QZPACS").exists()


def test_unknown_ae_titles_and_wrong_hosts_are_refused(receiver, tmp_path):
    project = make_project(slug="refusing")
    DicomPeer.objects.create(ae_title="KNOWN", project=project)
    DicomPeer.objects.create(ae_title="ELSEWHERE", project=project, host="10.9.8.7")
    DicomPeer.objects.create(ae_title="OFF", project=project, enabled=False)
    instance = tmp_path / "one.dcm"
    write_synthetic_echo(instance, frames=2, rows=64, columns=80, seed=7)
    assert dcmtk("echoscu", receiver, "KNOWN").returncode == 0
    for aet in ("STRANGER", "OFF"):
        refused = dcmtk("storescu", receiver, aet, instance)
        assert refused.returncode != 0
        assert "Association Rejected" in refused.stdout + refused.stderr, refused.stdout + refused.stderr
    wrong_host = dcmtk("storescu", receiver, "ELSEWHERE", instance)
    assert wrong_host.returncode != 0
    assert not IngestJob.objects.exists()


def test_a_new_receiver_removes_instances_a_stopped_one_left(tmp_path):
    from media_ingest.processing import private_root

    folder = private_root() / "receiver"
    folder.mkdir(parents=True, exist_ok=True)
    leftover = folder / "half-written.dcm"
    leftover.write_bytes(b"DICM QZLEFT^OVER")
    server = Receiver("UNITY")
    server.start("127.0.0.1", free_port())
    try:
        assert not leftover.exists()
    finally:
        server.stop()
