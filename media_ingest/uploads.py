"""Resumable uploads: the tus 1.0.0 protocol (core, creation, termination; https://tus.io), for
studies too large or too many for one request. Staff only, signed in (session with its CSRF
token, as the admin's browser sends it).

    OPTIONS /ingest/uploads/<slug>/          what the server speaks, its maximum size
    POST    /ingest/uploads/<slug>/          Upload-Length (+ Upload-Metadata "batch <b64>") -> 201 Location
    HEAD    /ingest/uploads/u/<id>           Upload-Offset: how much arrived (resume from there)
    GET     /ingest/uploads/u/<id>           JSON: offset, length, and once complete the jobs it became
    PATCH   /ingest/uploads/u/<id>           Upload-Offset + bytes (application/offset+octet-stream)
    DELETE  /ingest/uploads/u/<id>           give up: the bytes are deleted

A chunk is streamed to ``private/uploads/<id>.part`` in 1 MiB blocks (never held in memory) and
the offset is saved even when the connection drops mid-chunk, so a client resends only what did
not arrive. Clients send chunks of a few MiB, so no web worker is held for long. When the last
byte arrives the file becomes an ingest job in its batch (``do_create_ingest_jobs``; a zip, one
job per file inside, named ``file 0003 entry 0012`` after the upload's place); that PATCH answers
200 with the jobs as JSON (a zip entry's name included, for the admin's page only) and
``X-Ingest-Job``/``X-Ingest-Status`` for the first (a refusal at staging: the job's error).
At most ``MAX_OPEN_UPLOADS`` unfinished uploads per user (429 past it); unfinished uploads idle
for ``UNITY_UPLOAD_EXPIRY_HOURS`` are deleted (``upload_store.do_expire_uploads``, hourly in
beat). No file name is stored.
"""

from __future__ import annotations

import base64
import logging
import shutil
import uuid

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from media_ingest import conf
from media_ingest.models import IngestJob, Upload
from media_ingest.services import do_create_ingest_jobs, source_label
from media_ingest.upload_store import part_path
from projects.models import Project

logger = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
BLOCK = 1024 * 1024
MAX_OPEN_UPLOADS = 64


def _tus(response: HttpResponse) -> HttpResponse:
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    return response


def _refuse(status: int, detail: str) -> HttpResponse:
    return _tus(HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8"))


def _staff(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated or not request.user.is_staff:
        return _refuse(404, "Not found.")
    return None


def _metadata(header: str) -> dict[str, str]:
    found = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            found[key] = base64.b64decode(value).decode("utf-8") if value else ""
        except (ValueError, UnicodeDecodeError):
            found[key] = ""
    return found


@require_http_methods(["OPTIONS", "POST"])
def create(request: HttpRequest, slug: str) -> HttpResponse:
    if refusal := _staff(request):
        return refusal
    project = get_object_or_404(Project, slug=slug)
    limit = conf.INGEST.max_file_bytes
    if request.method == "OPTIONS":
        response = _tus(HttpResponse(status=204))
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = "creation,termination,concatenation"
        response["Tus-Max-Size"] = str(limit)
        return response
    concat = request.headers.get("Upload-Concat", "")
    if concat.startswith("final;"):
        return _concatenate(request, project, concat.removeprefix("final;").split())
    partial = concat == "partial"
    if concat and not partial:
        return _refuse(400, "Upload-Concat must be 'partial' or 'final;<upload URLs>'.")
    try:
        length = int(request.headers.get("Upload-Length", ""))
    except ValueError:
        return _refuse(400, "Upload-Length must be the file's size in bytes.")
    if length < 1:
        return _refuse(400, "Upload-Length must be at least 1.")
    if length > limit:
        return _too_large(limit)
    if Upload.objects.filter(created_by=request.user, finished_at__isnull=True).count() >= MAX_OPEN_UPLOADS:
        return _refuse(429, f"At most {MAX_OPEN_UPLOADS} unfinished uploads at once: finish or delete some.")
    batch = _batch(request)
    if partial:  # a part of a file: no place in a batch (its final upload takes one)
        upload = Upload.objects.create(
            project=project, created_by=request.user, batch="", position=0, length=length, partial=True
        )
    else:
        upload = _create_placed(project, request.user, batch=batch, length=length)
    path = part_path(upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    response = _tus(HttpResponse(status=201))
    response["Location"] = f"/ingest/uploads/u/{upload.pk}"
    response["Upload-Offset"] = "0"
    return response


def _create_placed(project: Project, user, *, batch: str, length: int, offset: int = 0) -> Upload:
    with transaction.atomic():
        # A page sends a few files at once: places in a batch are handed out one at a time.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        position = Upload.objects.filter(batch=batch, partial=False).count() + 1
        return Upload.objects.create(
            project=project, created_by=user, batch=batch, position=position, length=length, offset=offset
        )


def _concatenate(request: HttpRequest, project: Project, urls: list[str]) -> HttpResponse:
    """The final upload of parts sent in parallel: their bytes joined, in order, into one file
    that becomes its batch's job(s). Asked again with the same parts (the answer was lost), the
    same final upload answers."""
    ids = []
    for url in urls:
        try:
            ids.append(uuid.UUID(url.rstrip("/").rsplit("/", 1)[-1]))
        except ValueError:
            return _refuse(400, "Upload-Concat final lists upload URLs.")
    if not ids or len(set(ids)) != len(ids):
        return _refuse(400, "Upload-Concat final lists each part once.")
    with transaction.atomic():
        # The parts locked: the same parts sent twice at once are joined once.
        found = Upload.objects.select_for_update().filter(
            pk__in=ids, created_by=request.user, project=project, partial=True
        )
        parts = {u.pk: u for u in found.order_by("pk")}
        if len(parts) != len(ids):
            return _refuse(404, "No such partial upload.")
        ordered = [parts[i] for i in ids]
        if any(part.finished_at is None for part in ordered):
            return _refuse(400, "Every part must be complete before the final upload.")
        finals = {part.final_id for part in ordered}
        if finals != {None}:
            if len(finals) > 1:
                return _refuse(409, "These parts belong to other final uploads.")
            final = Upload.objects.get(pk=finals.pop())
            return _created(final, _jobs_of(final))
        if any(not part_path(part).exists() for part in ordered):
            Upload.objects.filter(pk__in=ids).delete()
            return _refuse(410, "A part's bytes are gone (expired): send the file again.")
        length = sum(part.length for part in ordered)
        if length > conf.INGEST.max_file_bytes:
            return _too_large(conf.INGEST.max_file_bytes)
        final = _create_placed(project, request.user, batch=_batch(request), length=length, offset=length)
        target = part_path(final)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The first part's file becomes the final one (renamed, not copied); the others appended.
        part_path(ordered[0]).replace(target)
        with target.open("ab") as out:
            for part in ordered[1:]:
                with part_path(part).open("rb") as source:
                    shutil.copyfileobj(source, out, BLOCK)
        Upload.objects.filter(pk__in=ids).update(final=final)
        jobs = _finish(final)
    for part in ordered[1:]:
        part_path(part).unlink(missing_ok=True)
    return _created(final, jobs)


def _batch(request: HttpRequest) -> str:
    batch = _metadata(request.headers.get("Upload-Metadata", "")).get("batch", "")[:40]
    return "".join(c for c in batch if c.isalnum() or c in "-_") or f"upload-{uuid.uuid4().hex[:12]}"


@require_http_methods(["GET", "HEAD", "PATCH", "DELETE"])
def upload(request: HttpRequest, upload_id: uuid.UUID) -> HttpResponse:
    if refusal := _staff(request):
        return refusal
    found = Upload.objects.filter(pk=upload_id, created_by=request.user).first()
    if found is None:
        return _refuse(404, "No such upload.")
    if request.method == "DELETE":
        part_path(found).unlink(missing_ok=True)
        found.delete()
        return _tus(HttpResponse(status=204))
    if request.method == "HEAD":
        response = _tus(HttpResponse(status=200))
        response["Upload-Offset"] = str(found.offset)
        response["Upload-Length"] = str(found.length)
        return response
    if request.method == "GET":
        return _outcome(found, _jobs_of(found) if found.finished_at else [])
    return _patch(request, found)


def _patch(request: HttpRequest, found: Upload) -> HttpResponse:
    if request.headers.get("Content-Type", "") != "application/offset+octet-stream":
        return _refuse(415, "Send the bytes as application/offset+octet-stream.")
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return _refuse(400, "Upload-Offset must be a number of bytes.")
    with transaction.atomic():
        locked = Upload.objects.select_for_update().get(pk=found.pk)
        if locked.finished_at is not None:
            return _refuse(409, "This upload is complete.")
        if offset != locked.offset:
            response = _refuse(409, f"The upload is at {locked.offset} bytes: resume from there.")
            response["Upload-Offset"] = str(locked.offset)
            return response
        written, broken = _append(request, locked)
        locked.offset += written
        locked.save(update_fields=["offset"])
        # Finished under the row's lock: a repeated last chunk can never stage the file twice.
        # A part of a file only completes: its final upload stages the joined bytes.
        jobs = []
        if locked.offset == locked.length and locked.partial:
            locked.finished_at = timezone.now()
            locked.save(update_fields=["finished_at"])
        elif locked.offset == locked.length:
            jobs = _finish(locked)
    if broken:
        logger.info("upload %s: connection dropped at %s of %s bytes", locked.pk, locked.offset, locked.length)
        return _refuse(400, "The connection dropped: resume from Upload-Offset.")
    if locked.offset < locked.length or locked.partial:
        response = _tus(HttpResponse(status=204))
        response["Upload-Offset"] = str(locked.offset)
        return response
    # The last chunk answers what became of the file: its jobs (a zip gives one per file inside,
    # with the entry's name: shown in the admin's browser, never stored).
    response = _outcome(locked, jobs)
    if jobs:
        response["X-Ingest-Job"] = str(jobs[0].pk)
        response["X-Ingest-Status"] = str(jobs[0].status)
        if jobs[0].error:
            response["X-Ingest-Error"] = jobs[0].error[:300]
    return response


def _too_large(limit: int) -> HttpResponse:
    return _refuse(413, f"The file is larger than {limit} bytes (UNITY_INGEST_MAX_FILE_BYTES).")


def _created(final: Upload, jobs: list[IngestJob]) -> HttpResponse:
    """A final (joined) upload's answer: where it is, and the jobs it became."""
    response = _outcome(final, jobs, status=201)
    response["Location"] = f"/ingest/uploads/u/{final.pk}"
    return response


def _outcome(upload: Upload, jobs: list[IngestJob], *, status: int = 200) -> HttpResponse:
    rows = []
    for job in jobs:
        _, _, entry = getattr(job, "local_name", "").partition(":")
        rows.append(
            {"id": job.pk, "source_name": job.source_name, "entry": entry, "status": job.status, "error": job.error}
        )
    body = {"batch": upload.batch, "position": upload.position, "offset": upload.offset, "length": upload.length}
    response = _tus(JsonResponse({**body, "complete": upload.finished_at is not None, "jobs": rows}, status=status))
    response["Upload-Offset"] = str(upload.offset)
    return response


def _jobs_of(upload: Upload) -> list[IngestJob]:
    """The jobs a finished upload became (asked again after the last chunk's answer was lost)."""
    label = source_label(upload.position)
    in_batch = IngestJob.objects.filter(project_id=upload.project_id, batch=upload.batch).order_by("pk")
    return list(in_batch.filter(Q(source_name=label) | Q(source_name__startswith=f"{label} entry ")))


def _append(request: HttpRequest, upload: Upload) -> tuple[int, bool]:
    """Write the request's bytes at the upload's offset, never past its length; returns (bytes
    written, whether the client went away before sending what it announced)."""
    room = upload.length - upload.offset
    announced = request.headers.get("Content-Length")
    written = 0
    with part_path(upload).open("r+b") as out:
        out.seek(upload.offset)
        out.truncate()
        try:
            while written < room:
                block = request.read(min(BLOCK, room - written))
                if not block:
                    break
                out.write(block)
                written += len(block)
        except OSError:
            return written, True
        out.flush()
    short = announced is not None and announced.isdigit() and written < min(int(announced), room)
    return written, short


def _finish(upload: Upload) -> list:
    path = part_path(upload)
    jobs = do_create_ingest_jobs(
        upload.project,
        paths=[path],
        created_by=upload.created_by,
        batch=upload.batch,
        first_position=upload.position,
        label=source_label(upload.position),
    )
    path.unlink(missing_ok=True)
    upload.job = jobs[0] if jobs else None
    upload.finished_at = timezone.now()
    upload.save(update_fields=["job", "finished_at"])
    return jobs
