"""Re-running jobs is safe: finished jobs stay as they are, interrupted ones finish, duplicates link."""

from pathlib import Path

import pytest

from media_ingest.models import Clip, IngestJob, ProjectItem
from media_ingest.services import do_create_ingest_jobs, do_process_ingest_job
from media_ingest.synthetic import write_synthetic_echo
from tests.conftest import make_project
from tests.ingest_helpers import all_files, ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


@pytest.fixture
def echo(tmp_path):
    path = tmp_path / "a.dcm"
    write_synthetic_echo(path, frames=8, rows=120, columns=160)
    return path


def test_running_a_finished_job_again_changes_nothing(project, echo, roots):
    [job] = ingest(project, [echo])
    files_before = sorted(all_files(roots.media))
    again = do_process_ingest_job(job.pk)
    assert (again.status, again.clip_id, again.attempts) == (IngestJob.Status.READY, job.clip_id, 1)
    assert sorted(all_files(roots.media)) == files_before
    assert Clip.objects.count() == 1


def test_a_job_interrupted_after_claiming_its_clip_finishes_on_the_next_run(project, echo):
    # Nothing queued: we play the worker, dying after the clip row was created.
    [job] = do_create_ingest_jobs(project, paths=[echo], queue=False)
    IngestJob.objects.filter(pk=job.pk).update(status=IngestJob.Status.PROCESSING)
    finished = do_process_ingest_job(job.pk)
    assert finished.status == IngestJob.Status.READY
    clip = Clip.objects.get(pk=finished.clip_id)
    Clip.objects.filter(pk=clip.pk).update(status=Clip.Status.PROCESSING)
    IngestJob.objects.filter(pk=job.pk).update(status=IngestJob.Status.PROCESSING, staged_path=job.staged_path)
    # The staged file was disposed of at the first commit; stage it again as a redelivery would find it.
    Path(job.staged_path).write_bytes(echo.read_bytes())
    rerun = do_process_ingest_job(job.pk)
    assert rerun.status == IngestJob.Status.READY
    assert rerun.clip_id == clip.pk
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.READY


def test_the_same_pixels_in_a_second_project_link_to_the_existing_clip(project, echo):
    second = make_project(slug="second-project")
    [first_job] = ingest(project, [echo])
    [second_job] = ingest(second, [echo])
    assert second_job.status == IngestJob.Status.DUPLICATE
    assert second_job.clip_id == first_job.clip_id
    assert Clip.objects.count() == 1
    assert ProjectItem.objects.filter(clip_id=first_job.clip_id, frame_index=None).count() == 2
