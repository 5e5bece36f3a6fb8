"""``manage.py ingest PATH... --project SLUG``: DICOM files, folders and zips from a server folder.

``--watch FOLDER``: a drop folder. Every few seconds, files (and zips) whose size and time have
stayed the same since the last look (done being copied) are ingested as one batch and moved to
``FOLDER/.ingested/<batch>/`` (a hidden folder, never read again); ``--delete`` removes them
instead. Names go to this terminal only. Stops on Ctrl+C.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_ingest.models import IngestJob
from media_ingest.services import do_create_ingest_jobs
from media_ingest.staging import is_skipped
from media_ingest.tasks import process_ingest_job
from projects.models import Project

FINISHED = {IngestJob.Status.READY, IngestJob.Status.DUPLICATE, IngestJob.Status.FAILED}


class Command(BaseCommand):
    help = "Ingest DICOM files, folders and zip archives into a project. Exits 1 if any file failed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", type=Path)
        parser.add_argument("--watch", metavar="FOLDER", help="Watch a drop folder and ingest what lands in it.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between looks (--watch).")
        parser.add_argument("--delete", action="store_true", help="Delete ingested files instead of moving them.")
        parser.add_argument("--once", action="store_true", help="With --watch: stop after the first batch.")
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument(
            "--here",
            action="store_true",
            help="Run the jobs in this process even when a broker is configured (default: queue them "
            "for the media workers and wait).",
        )
        parser.add_argument(
            "--timeout", type=float, default=3600.0, help="Seconds to wait for the workers (default 3600)."
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            project = Project.objects.get(slug=options["project"])
        except Project.DoesNotExist:
            raise CommandError(f"no project with slug {options['project']!r}") from None
        if options["watch"]:
            self._watch(project, Path(options["watch"]), options)  # type: ignore[arg-type]
            return
        paths: list[Path] = options["paths"]  # type: ignore[assignment]
        if not paths:
            raise CommandError("give the files or folders to ingest, or --watch FOLDER")
        here = bool(options["here"]) or settings.CELERY_TASK_ALWAYS_EAGER
        jobs = do_create_ingest_jobs(project, paths=paths, queue=not here)
        if here:
            for index, job in enumerate(jobs, start=1):
                if job.status == IngestJob.Status.QUEUED:
                    process_ingest_job.apply(args=[job.pk])
                self._progress(index, len(jobs))
        else:
            self._wait(jobs, timeout=float(options["timeout"]))  # type: ignore[arg-type]
        names = {job.pk: job.local_name for job in jobs}
        self._summary(list(IngestJob.objects.filter(pk__in=list(names)).order_by("pk")), names)

    def _wait(self, jobs: list[IngestJob], *, timeout: float) -> None:
        ids = [j.pk for j in jobs]
        deadline = time.monotonic() + timeout
        while True:
            done = IngestJob.objects.filter(pk__in=ids, status__in=FINISHED).count()
            self._progress(done, len(ids))
            if done == len(ids):
                return
            if time.monotonic() > deadline:
                raise CommandError(
                    f"{len(ids) - done} job(s) still queued or processing after {timeout:.0f} s; "
                    "is a worker running on the media queue (make worker)?"
                )
            time.sleep(0.5)

    def _watch(self, project: Project, folder: Path, options: dict) -> None:
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        done_root = folder / ".ingested"
        seen: dict[Path, tuple[int, float]] = {}
        self.stdout.write(f"watching {folder} for project {project.slug} (Ctrl+C to stop)")
        try:
            while True:
                now = {
                    path: (path.lstat().st_size, path.lstat().st_mtime)
                    for path in sorted(folder.iterdir())
                    if not path.name.startswith(".") and (path.is_file() or path.is_symlink())
                }
                settled = [path for path, mark in now.items() if seen.get(path) == mark]
                seen = now
                if settled:
                    # Sidecars (.json) and hidden files are moved aside with the batch, not ingested.
                    wanted = [path for path in settled if not is_skipped(path.name)]
                    jobs = do_create_ingest_jobs(project, paths=wanted, queue=True) if wanted else []
                    batch = jobs[0].batch if jobs else "empty"
                    target = done_root / batch
                    target.mkdir(parents=True, exist_ok=True)
                    for path in settled:
                        if options["delete"] or path.is_symlink():
                            path.unlink(missing_ok=True)
                        else:
                            shutil.move(str(path), target / path.name)
                        seen.pop(path, None)
                    failed = [j for j in jobs if j.status == IngestJob.Status.FAILED]
                    self.stdout.write(f"batch {batch}: {len(jobs)} file(s) queued, {len(failed)} refused")
                    for job in failed:
                        self.stdout.write(self.style.ERROR(f"  refused  {job.local_name}: {job.error}"))
                    if options["once"]:
                        return
                time.sleep(float(options["interval"]))
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files", ending="")
        self.stderr.flush()

    def _summary(self, jobs: list[IngestJob], names: dict[int, str]) -> None:
        """File names are printed to the admin's terminal only; the database never holds them."""
        self.stderr.write("")
        counts = {status: sum(j.status == status for j in jobs) for status in IngestJob.Status.values}
        self.stdout.write(
            f"ready {counts['ready']}, duplicate {counts['duplicate']}, failed {counts['failed']} (of {len(jobs)} files)"
        )
        for job in jobs:
            if job.status == IngestJob.Status.DUPLICATE:
                self.stdout.write(f"  duplicate  {names[job.pk]}: {job.error}")
        for job in jobs:
            if job.status == IngestJob.Status.FAILED:
                self.stdout.write(self.style.ERROR(f"  failed     {names[job.pk]}: {job.error}"))
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} file(s) failed", returncode=1)
