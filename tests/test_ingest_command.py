"""``manage.py ingest`` takes files, folders and zips, prints a summary and fails if any file failed."""

import io
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from media_ingest.models import IngestJob
from media_ingest.synthetic import write_synthetic_echo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roots")]


def test_ingest_command_reports_ready_duplicate_and_failed_files_and_exits_non_zero(project, tmp_path):
    folder = tmp_path / "study"
    call_command("make_demo_echoes", str(folder), count=2, frames=6, rows=120, columns=160, stdout=io.StringIO())
    assert len(list(folder.glob("*.dcm"))) == 2
    assert len(list(folder.glob("*.json"))) == 2  # truth sidecars, skipped by ingest
    (folder / "broken.dcm").write_bytes(b"not dicom")
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(sorted(folder.glob("echo-*.dcm"))[0], "copy.dcm")

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("ingest", str(folder), str(archive), project=project.slug, here=True, stdout=out, stderr=err)
    assert failure.value.returncode == 1
    summary = out.getvalue()
    assert "ready 2, duplicate 1, failed 1 (of 4 files)" in summary
    assert "study/broken.dcm: not a DICOM file" in summary
    assert "4/4 files" in err.getvalue()
    assert IngestJob.objects.filter(project=project).count() == 4


def test_ingest_command_succeeds_when_every_file_is_ingested(project, tmp_path):
    source = tmp_path / "one.dcm"
    write_synthetic_echo(source, frames=4, rows=120, columns=160)
    out = io.StringIO()
    call_command("ingest", str(source), project=project.slug, here=True, stdout=out, stderr=io.StringIO())
    assert "ready 1, duplicate 0, failed 0 (of 1 files)" in out.getvalue()


def test_watch_ingests_what_lands_in_a_drop_folder_and_moves_it_aside(
    project, tmp_path, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import call_command

    from media_ingest.models import IngestJob
    from media_ingest.synthetic import write_synthetic_echo

    drop = tmp_path / "drop"
    drop.mkdir()
    write_synthetic_echo(drop / "DOE^JANE.dcm", frames=2, rows=48, columns=64, seed=41)
    (drop / "DOE^JANE-notes.txt").write_text("not dicom")
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "ingest", "--project", project.slug, "--watch", str(drop), "--interval", "0.05", "--once", stdout=out
        )
    jobs = list(IngestJob.objects.filter(project=project).order_by("source_name"))
    assert [j.status for j in jobs] == [IngestJob.Status.FAILED, IngestJob.Status.READY]  # notes sort first
    assert not any(p for p in drop.iterdir() if not p.name.startswith("."))  # moved aside
    [batch] = list((drop / ".ingested").iterdir())
    assert sorted(p.name for p in batch.iterdir()) == ["DOE^JANE-notes.txt", "DOE^JANE.dcm", "DOE^JANE.json"]
    assert "2 file(s) queued" in out.getvalue()
    assert not IngestJob.objects.filter(error__contains="DOE").exists()
