"""Where resumable uploads keep their bytes while they arrive (``private/uploads/<id>.part``),
and the clean-up of uploads abandoned half-way (a page closed and never opened again)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from media_ingest.models import Upload
from media_ingest.processing import private_root

logger = logging.getLogger(__name__)


def part_path(upload: Upload) -> Path:
    return private_root() / "uploads" / f"{upload.pk}.part"


def do_expire_uploads(*, hours: float | None = None) -> int:
    """Delete unfinished uploads that received nothing for ``hours`` (``UNITY_UPLOAD_EXPIRY_HOURS``,
    72: a laptop closed over a weekend still resumes), with their bytes; returns how many. The
    last activity is the part file's modification time (every chunk writes it)."""
    hours = settings.UNITY_UPLOAD_EXPIRY_HOURS if hours is None else hours
    cutoff = timezone.now() - timedelta(hours=hours)
    expired = 0
    # Unfinished uploads, and parts of a file whose final upload never came.
    waiting = Q(finished_at__isnull=True) | Q(partial=True, final__isnull=True)
    for upload in Upload.objects.filter(waiting, created_at__lt=cutoff).iterator():
        path = part_path(upload)
        try:
            last = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        except FileNotFoundError:
            last = upload.created_at
        if last >= cutoff:
            continue
        path.unlink(missing_ok=True)
        upload.delete()
        expired += 1
    if expired:
        logger.info("expired %s unfinished upload(s) idle for %s hours", expired, hours)
    return expired
