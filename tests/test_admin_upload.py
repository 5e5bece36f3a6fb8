"""The admin's upload page: a study folder of more than 100 files is accepted, and the result
page names each file as the admin's browser sent it (never stored), with its position and any
refusal, so the admin can tell which file failed."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from media_ingest.models import IngestJob
from media_ingest.synthetic import write_synthetic_echo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


def test_a_hundred_and_twenty_files_upload_and_each_outcome_is_named(
    client, admin_user, project, tmp_path, django_capture_on_commit_callbacks
):
    good = tmp_path / "good.dcm"
    write_synthetic_echo(good, frames=2, rows=48, columns=64, seed=3)
    data = good.read_bytes()
    files = [SimpleUploadedFile(f"SMITH^JOHN-{n:03d}.dcm", data) for n in range(118)]
    files.append(SimpleUploadedFile("SMITH^JOHN-notes.dcm", b"not a dicom file at all"))
    traversal = io.BytesIO()
    with zipfile.ZipFile(traversal, "w") as zf:
        zf.writestr("../escape.dcm", data)
    files.append(SimpleUploadedFile("SMITH^JOHN-archive.zip", traversal.getvalue()))
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse("admin:media_ingest_ingestjob_upload"), {"project": project.pk, "files": files})
    assert page.status_code == 200, page.content[:500]
    text = page.content.decode()
    assert "120 files received" in text
    assert "SMITH^JOHN-117.dcm" in text and "file 0118" in text
    # The zip's refusal is named by the admin's own file name, at staging already.
    assert "SMITH^JOHN-archive.zip : ../escape.dcm" in text and "path traversal" in text
    jobs = IngestJob.objects.filter(project=project)
    assert jobs.count() == 120
    # Processing ran (eager here): the text file fails alone, by position; no name was stored.
    assert jobs.get(source_name="file 0119").status == IngestJob.Status.FAILED
    assert not jobs.filter(source_name__contains="SMITH").exists()
    assert not jobs.filter(error__contains="SMITH").exists()
