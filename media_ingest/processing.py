"""Processing one ingest job: the work behind the Celery task (``tasks.process_ingest_job``).

Flow: claim the job -> decode, mask, hash and encode into a private work folder (no lock held) ->
claim the clip by its code (one short transaction) -> store the files (owner only) -> mark the
clip ready, the job ready or duplicate, and ensure the project item (one short transaction).

Idempotent: a finished job is returned unchanged; a job interrupted at any point is processed
again from its staged file, and a clip left half-stored by a dead run is taken over.
Log lines name job ids and our own messages only, never file names or DICOM attribute values.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import timedelta
from enum import Enum
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from pydicom.uid import UID

from media_ingest import conf
from media_ingest.derived import DerivedMedia, EncoderSettings
from media_ingest.errors import IngestError, TransientIngestError
from media_ingest.layout import ARRAY, LOSSLESS_MANIFEST, MANIFEST, POSTER, VIDEO, storage_prefix
from media_ingest.models import Clip, IngestJob, ProjectItem
from media_ingest.pipeline import ProcessedFile, process_file

logger = logging.getLogger(__name__)

FINISHED = (IngestJob.Status.READY, IngestJob.Status.DUPLICATE, IngestJob.Status.FAILED)


class _Role(Enum):
    OWNER = "owner"  # this job stores the clip's files
    ALREADY_OURS = "already-ours"  # a re-run of the job that stored them
    DUPLICATE = "duplicate"  # another job stored the same pixels


def private_root() -> Path:
    return Path(settings.UNITY_PRIVATE_ROOT)


def original_path(job: IngestJob) -> Path:
    """Where a project with ``keep_originals`` keeps the uploaded file. Never served."""
    return private_root() / "originals" / str(job.project_id) / f"{job.pk}.dcm"


def encoder_settings() -> EncoderSettings:
    limits = conf.INGEST
    return EncoderSettings(jpeg_quality=limits.jpeg_quality, crf=limits.video_crf, preset=limits.video_preset)


def do_process_ingest_job(job_id: int) -> IngestJob:
    """Process job ``job_id``; returns it finished. Raises ``TransientIngestError`` when a retry
    may succeed (the task retries with backoff). Call outside any transaction."""
    job = _claim_job(job_id)
    if job is None:
        return IngestJob.objects.get(pk=job_id)
    staged = Path(job.staged_path) if job.staged_path else None
    if staged is None or not staged.is_file():
        return _fail(job, "the staged file is missing; upload it again")
    folder = private_root() / "work"
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"job-{job.pk}-", dir=folder))
    try:
        try:
            processed = process_file(
                staged, folder=work, rectangles=list(job.project.mask_rectangles or []), settings=encoder_settings()
            )
        except IngestError as exc:
            return _fail(job, str(exc))
        except MemoryError:
            logger.warning("ingest job %s: over the job memory budget", job.pk)
            return _fail(
                job,
                "decoding this file needs more memory than one job may use "
                f"({conf.INGEST.job_memory_bytes:,} bytes, UNITY_INGEST_JOB_MEMORY_BYTES)",
            )
        except OSError as exc:
            raise TransientIngestError(f"file system error while processing ({type(exc).__name__})") from None
        except Exception as exc:  # noqa: BLE001 - a decoder or encoder bug must not leak details
            logger.error("ingest job %s: unexpected %s while processing", job.pk, type(exc).__name__)
            return _fail(job, f"unexpected error while processing ({type(exc).__name__})")
        try:
            clip, role = _claim_clip(job, processed)
            if role is _Role.OWNER:
                _store(processed.media, storage_prefix(clip.code))
            return _finish(job, clip, processed, role)
        except (OSError, DatabaseError) as exc:
            raise TransientIngestError(f"storage or database error ({type(exc).__name__})") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _claim_job(job_id: int) -> IngestJob | None:
    with transaction.atomic():
        job = IngestJob.objects.select_for_update().select_related("project").get(pk=job_id)
        if job.status in FINISHED:
            return None
        job.status = IngestJob.Status.PROCESSING
        job.attempts += 1
        job.started_at = timezone.now()
        job.save(update_fields=["status", "attempts", "started_at", "updated_at"])
    logger.info("ingest job %s: processing (attempt %s)", job.pk, job.attempts)
    return job


def _clip_fields(processed: ProcessedFile) -> dict[str, object]:
    record = processed.record
    return {
        "frame_count": processed.media.frame_count,
        "frame_rate": record.frame_rate,
        "frame_rate_source": record.frame_rate_source,
        "rows": record.rows,
        "columns": record.columns,
        "pixel_spacing_x_mm": record.pixel_spacing_x_mm,
        "pixel_spacing_y_mm": record.pixel_spacing_y_mm,
        "study_key": record.study_key,
        "manufacturer": record.manufacturer,
        "manufacturer_model": record.manufacturer_model,
        "modality": record.modality,
        "source_transfer_syntax": _transfer_syntax_name(record.transfer_syntax_uid)[:64],
        "source_photometric": record.photometric,
        "mask_source": processed.mask_source,
        "error": "",
    }


def _transfer_syntax_name(uid: str) -> str:
    value = UID(uid)
    return value.name if value.is_transfer_syntax else uid


def _claim_clip(job: IngestJob, processed: ProcessedFile) -> tuple[Clip, _Role]:
    code = processed.media.code
    stale_before = timezone.now() - timedelta(minutes=conf.INGEST.stale_minutes)
    with transaction.atomic():
        clip = Clip.objects.select_for_update().filter(code=code).first()
        if clip is None:
            try:
                with transaction.atomic():
                    clip = Clip.objects.create(code=code, status=Clip.Status.PROCESSING, **_clip_fields(processed))
            except IntegrityError:
                raise TransientIngestError("another job is storing the same clip") from None
        elif clip.status == Clip.Status.READY:
            return clip, (_Role.ALREADY_OURS if job.clip_id == clip.pk else _Role.DUPLICATE)
        elif job.clip_id == clip.pk or clip.status == Clip.Status.FAILED or clip.updated_at < stale_before:
            # Ours from an interrupted run, or abandoned by a dead one: take it over.
            for field, value in _clip_fields(processed).items():
                setattr(clip, field, value)
            clip.status = Clip.Status.PROCESSING
            clip.save()
        else:
            raise TransientIngestError("another job is storing the same clip")
        job.clip = clip
        job.save(update_fields=["clip", "updated_at"])
    return clip, _Role.OWNER


def _store(media: DerivedMedia, prefix: str) -> None:
    """Copy the work folder into the media storage. Names are content-addressed, so a file left
    by an interrupted run is replaced rather than renamed."""
    for name in media.names:
        target = f"{prefix}/{name}"
        if default_storage.exists(target):
            default_storage.delete(target)
        with (media.folder / name).open("rb") as handle:
            saved = default_storage.save(target, File(handle, name=Path(name).name))
        if saved != target:
            raise TransientIngestError("the media storage renamed a file; retrying")


def _finish(job: IngestJob, clip: Clip, processed: ProcessedFile, role: _Role) -> IngestJob:
    with transaction.atomic():
        if role is _Role.OWNER:
            prefix = storage_prefix(clip.code)
            Clip.objects.filter(pk=clip.pk).update(
                status=Clip.Status.READY,
                storage_prefix=prefix,
                video_name=f"{prefix}/{VIDEO}",
                poster_name=f"{prefix}/{POSTER}",
                frames_manifest_name=f"{prefix}/{MANIFEST}",
                array_name=f"{prefix}/{ARRAY}",
                lossless_manifest_name=f"{prefix}/{LOSSLESS_MANIFEST}",
                updated_at=timezone.now(),
            )
        duplicate = role is _Role.DUPLICATE
        job.status = IngestJob.Status.DUPLICATE if duplicate else IngestJob.Status.READY
        job.clip = clip
        job.error = f"same pixels as clip {clip.code[:12]}, already ingested: linked to it" if duplicate else ""
        job.finished_at = timezone.now()
        ProjectItem.objects.get_or_create(project=job.project, clip=clip, frame_index=None)
        _dispose_staged(job)
        job.save()
    logger.info("ingest job %s: %s, clip %s", job.pk, job.status, clip.code[:12])
    return job


def _fail(job: IngestJob, reason: str, *, keep_staged: bool = False) -> IngestJob:
    with transaction.atomic():
        job.status = IngestJob.Status.FAILED
        job.error = reason[:2000]
        job.finished_at = timezone.now()
        if not keep_staged:
            _dispose_staged(job)
        job.save()
    logger.warning("ingest job %s: failed: %s", job.pk, job.error)
    return job


def do_fail_ingest_job(job_id: int, *, reason: str) -> IngestJob:
    """Give up on a job after transient errors (the task calls this once its retries are spent).
    The staged file is kept in the private store so that an admin can retry the job."""
    job = IngestJob.objects.select_related("project").get(pk=job_id)
    if job.status in FINISHED:
        return job
    return _fail(job, reason, keep_staged=True)


def do_requeue_ingest_job(job_id: int, *, note: str) -> None:
    """Mark a job queued again while its retry waits (the staged file is kept)."""
    IngestJob.objects.filter(pk=job_id, status=IngestJob.Status.PROCESSING).update(
        status=IngestJob.Status.QUEUED, error=f"retrying: {note}"[:2000], updated_at=timezone.now()
    )


def _dispose_staged(job: IngestJob) -> None:
    """After the job's final state commits, the original leaves the staging area: kept in the
    private store if the project asks, else deleted. Until that commit the file stays, so an
    interrupted run can be repeated."""
    if not job.staged_path:
        return
    staged = Path(job.staged_path)
    target = original_path(job) if job.project.keep_originals else None
    job.staged_path = ""

    def dispose() -> None:
        if not staged.is_file():
            return
        if target is None:
            staged.unlink()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged, target)

    transaction.on_commit(dispose)
