"""Changes: ingest jobs from uploaded files. ``check_*`` validates, ``do_*`` writes.

``do_create_ingest_jobs`` stages files and queues one job per file after commit;
``do_process_ingest_job`` (from ``processing``) is what the task runs.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from media_ingest.models import IngestJob
from media_ingest.processing import do_process_ingest_job, private_root
from media_ingest.staging import stage_paths
from media_ingest.tasks import process_ingest_job
from projects.models import Project

__all__ = ["do_create_ingest_jobs", "do_process_ingest_job", "do_retry_ingest_jobs"]


def do_create_ingest_jobs(
    project: Project,
    *,
    paths: list[Path],
    created_by: AbstractBaseUser | None = None,
    batch: str = "",
    queue: bool = True,
    first_position: int = 1,
    label: str = "",
) -> list[IngestJob]:
    """Stage every file under ``paths`` (folders and zips expanded) into the private store and
    create one job per file; each queued job goes to the media queue after commit. Files refused
    while staging (path traversal, expansion ratio, size) become failed jobs with the reason.
    The source files are only read. May be called inside a transaction. With ``queue=False``
    nothing is queued: the caller runs the jobs (``manage.py ingest`` does, for its progress bar).
    ``first_position``: where this call's files start in the batch (the DICOM receiver adds one
    instance at a time to its association's batch). ``label``: name every job of this call after
    one place in the batch instead (a resumable upload's position: ``file 0003``, or ``file 0003
    entry 0012`` for the files of a zip), so a zip's files never take other uploads' positions."""
    batch = batch or timezone.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    staged = list(stage_paths(paths, folder=private_root() / "staging" / batch))
    jobs = []
    with transaction.atomic():
        for position, item in enumerate(staged, start=first_position):
            # File and folder names often carry patient names (PACS exports): the database keeps
            # only the file's position in its batch. The name stays in memory for the caller
            # (``local_name``: manage.py ingest prints it to the admin's own terminal).
            name = source_label(position)
            if label:
                name = label if len(staged) == 1 else f"{label} entry {position - first_position + 1:04d}"
            job = IngestJob(project=project, batch=batch, source_name=name, created_by=created_by)
            job.local_name = item.name
            if item.error:
                job.status = IngestJob.Status.FAILED
                job.error = item.error
                job.finished_at = timezone.now()
            else:
                job.staged_path = str(item.path)
                job.source_sha256 = keyed_digest(item.sha256)
            job.save()
            if queue and job.status == IngestJob.Status.QUEUED:
                transaction.on_commit(functools.partial(process_ingest_job.delay, job.pk), robust=True)
            jobs.append(job)
    return jobs


def source_label(position: int) -> str:
    return f"file {position:04d}"


def keyed_digest(sha256_hex: str) -> str:
    """An HMAC of the original file's hash: spots the same upload twice within this deployment,
    but cannot confirm that a known (identified) file was uploaded without the server's secret."""
    return hmac.new(settings.SECRET_KEY.encode(), sha256_hex.encode(), hashlib.sha256).hexdigest()


def do_retry_ingest_jobs(jobs: Iterable[IngestJob]) -> int:
    """Queue failed jobs again whose staged file still exists (retries spent on a transient
    error). Jobs failed for their content have no staged file left and are skipped."""
    count = 0
    with transaction.atomic():
        for job in jobs:
            if job.status != IngestJob.Status.FAILED or not job.staged_path or not Path(job.staged_path).is_file():
                continue
            IngestJob.objects.filter(pk=job.pk).update(status=IngestJob.Status.QUEUED, error="", finished_at=None)
            transaction.on_commit(functools.partial(process_ingest_job.delay, job.pk), robust=True)
            count += 1
    return count
