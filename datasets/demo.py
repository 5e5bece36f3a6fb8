"""A demo release, so the researchers' side has something to show on a fresh machine (make run)."""

from __future__ import annotations

from datasets.models import Release
from datasets.processing import do_build_release
from datasets.services import do_create_release
from projects.models import Project

DEMO_PROJECT = "tte-view-detection"


def do_release_demo() -> Release | None:
    """Release v1 of the demo view-detection project once (idempotent); None without the project."""
    project = Project.objects.filter(slug=DEMO_PROJECT).first()
    if project is None:
        return None
    existing = Release.objects.filter(project=project).order_by("version").first()
    if existing is not None:
        return existing
    release = do_create_release(
        project,
        title="Demo: transthoracic view detection (synthetic)",
        description="Synthetic echo loops made on this machine, to try the catalogue and the download.",
        citation="Unity demo data (synthetic), no citation needed.",
        queue=False,
    )
    return do_build_release(release.pk)
