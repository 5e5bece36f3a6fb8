"""A transient storage error is retried with backoff; the job then finishes."""

from unittest import mock

import pytest
from django.core.files.storage import default_storage

from media_ingest import conf
from media_ingest.models import IngestJob
from media_ingest.synthetic import write_synthetic_echo
from media_ingest.tasks import retry_countdown
from tests.ingest_helpers import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


def test_storage_failing_once_is_retried_and_the_job_becomes_ready(project, tmp_path):
    source = tmp_path / "a.dcm"
    write_synthetic_echo(source, frames=4, rows=120, columns=160)
    real_save = default_storage.save
    calls = {"n": 0}

    def flaky_save(name, content, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk briefly unavailable")
        return real_save(name, content, **kwargs)

    with mock.patch.object(default_storage, "save", side_effect=flaky_save):
        [job] = ingest(project, [source])
    assert job.status == IngestJob.Status.READY, job.error
    assert job.attempts == 2


def test_a_job_that_keeps_failing_transiently_fails_with_the_reason_and_keeps_its_file(project, tmp_path, monkeypatch):
    monkeypatch.setattr(
        conf, "INGEST", conf.IngestSettings.from_env().__class__(**{**conf.INGEST.__dict__, "max_retries": 2})
    )
    source = tmp_path / "a.dcm"
    write_synthetic_echo(source, frames=4, rows=120, columns=160)
    with mock.patch.object(default_storage, "save", side_effect=OSError("down")):
        [job] = ingest(project, [source])
    assert job.status == IngestJob.Status.FAILED
    assert job.attempts == 3
    assert job.error.startswith("gave up after 3 attempts: storage or database error (OSError)")
    assert job.staged_path, "kept for an admin retry"


def test_backoff_grows_and_is_capped():
    assert [retry_countdown(n) for n in range(8)] == [10, 20, 40, 80, 160, 320, 600, 600]
