"""Originals leave the staging area after processing; kept in the private store only if asked."""

import pytest

from media_ingest.models import IngestJob
from media_ingest.processing import original_path
from media_ingest.synthetic import write_synthetic_echo
from projects.models import Project
from tests.ingest_helpers import all_files, ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


@pytest.fixture
def echo(tmp_path):
    path = tmp_path / "a.dcm"
    write_synthetic_echo(path, frames=4, rows=120, columns=160)
    return path


def test_originals_are_deleted_after_processing_by_default(project, echo, roots):
    [job] = ingest(project, [echo])
    assert job.status == IngestJob.Status.READY
    assert job.staged_path == ""
    assert all_files(roots.private) == []
    assert echo.exists(), "the source outside the platform is only read"


def test_originals_are_kept_outside_media_storage_when_the_project_asks(project, echo, roots):
    Project.objects.filter(pk=project.pk).update(keep_originals=True)
    project.refresh_from_db()
    [job] = ingest(project, [echo])
    kept = original_path(job)
    assert kept.read_bytes() == echo.read_bytes()
    assert roots.private in kept.parents
    assert not any(p.suffix == ".dcm" for p in all_files(roots.media))
