"""Building a release's archive: what the task runs (``tasks.build_release``).

The archive is written to a temporary file in the private root and renamed into place, so a
failed or repeated build never leaves a half archive where a download could find it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datasets.build import ReleaseBuilder
from datasets.models import Release
from media_ingest.selectors import LosslessMissing

logger = logging.getLogger(__name__)


def releases_root() -> Path:
    return Path(settings.UNITY_PRIVATE_ROOT) / "releases"


def release_path(release: Release) -> Path:
    return releases_root() / release.archive_name


def _progress(release_id: int):
    def report(done: int, total: int) -> None:
        Release.objects.filter(pk=release_id).update(progress_done=done, progress_total=total)

    return report


def do_build_release(release_id: int) -> Release:
    """Build (or rebuild) release ``release_id``'s archive. A withdrawn release is left alone."""
    with transaction.atomic():
        release = Release.objects.select_for_update().select_related("project").get(pk=release_id)
        if release.status == Release.Status.WITHDRAWN:
            return release
        release.status, release.error, release.started_at = Release.Status.BUILDING, "", timezone.now()
        release.save(update_fields=["status", "error", "started_at"])
    logger.info("release %s: building", release.pk)
    root = releases_root()
    root.mkdir(parents=True, exist_ok=True)
    name = f"{release.name}.zip"
    handle, temporary = tempfile.mkstemp(prefix=f".{release.name}-", suffix=".zip", dir=root)
    os.close(handle)
    try:
        summary = ReleaseBuilder(release, progress=_progress(release.pk)).build(Path(temporary))
        digest, size = _sha256(Path(temporary))
        # mkstemp makes it 0600: nginx, another user, must read it to serve it (X-Accel); the
        # folder is never served but through Django's licence check.
        Path(temporary).chmod(0o644)
        os.replace(temporary, root / name)
    except LosslessMissing as exc:
        return _failed(release, str(exc), temporary)
    except Exception as exc:
        logger.exception("release %s: build failed", release.pk)
        _failed(release, f"the build failed ({type(exc).__name__}); see the worker's log", temporary)
        raise
    Release.objects.filter(pk=release.pk).exclude(status=Release.Status.WITHDRAWN).update(
        status=Release.Status.READY,
        archive_name=name,
        archive_size=size,
        archive_sha256=digest,
        summary=summary,
        finished_at=timezone.now(),
    )
    logger.info("release %s: ready, %s bytes", release.pk, size)
    release.refresh_from_db()
    return release


def _failed(release: Release, reason: str, temporary: str) -> Release:
    Path(temporary).unlink(missing_ok=True)
    Release.objects.filter(pk=release.pk).update(status=Release.Status.FAILED, error=reason, finished_at=timezone.now())
    release.refresh_from_db()
    return release


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest(), path.stat().st_size
