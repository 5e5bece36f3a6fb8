"""Demo clips: synthetic echoes ingested into every demo project, idempotently and fast."""

from __future__ import annotations

import tempfile
from pathlib import Path

from media_ingest.models import IngestJob
from media_ingest.services import do_create_ingest_jobs
from media_ingest.synthetic import write_synthetic_echo
from projects.demo import DEMO_PROJECTS
from projects.models import Project

DEMO_BATCH = "demo"


def _views_for(project: Project, count: int) -> list[tuple[int, str]]:
    """Seeds and views: A4C loops for A4C projects, both views for view detection."""
    if project.echo_view.upper() == "A4C":
        return [(seed, "a4c") for seed in range(count)]
    return [(seed, "a4c" if seed % 2 == 0 else "plax") for seed in range(count)]


def do_ingest_demo_echoes(*, count_per_project: int = 12) -> None:
    """Generate small synthetic loops (320x240, 30-60 frames) and ingest them into each demo
    project that has none yet. Projects share clips (same seed, same pixels), so each clip is
    encoded once per project run and stored once. Re-running adds nothing."""
    projects = [p for p in Project.objects.filter(slug__in=[spec["slug"] for spec in DEMO_PROJECTS])]
    pending = [p for p in projects if not IngestJob.objects.filter(project=p, batch=DEMO_BATCH).exists()]
    if not pending:
        return
    with tempfile.TemporaryDirectory(prefix="unity-demo-") as folder:
        written: dict[tuple[int, str], Path] = {}
        for project in pending:
            paths = []
            for seed, view in _views_for(project, count_per_project):
                if (seed, view) not in written:
                    path = Path(folder) / f"demo-{view}-{seed:03d}.dcm"
                    write_synthetic_echo(
                        path,
                        view=view,
                        frames=30 + (seed * 7) % 31,
                        rows=240,
                        columns=320,
                        seed=seed,
                        transfer_syntax="explicit_little",
                    )
                    written[(seed, view)] = path
                paths.append(written[(seed, view)])
            do_create_ingest_jobs(project, paths=paths, batch=DEMO_BATCH)
