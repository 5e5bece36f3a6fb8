"""Ingest of N instances (default 200) sent by DCMTK's storescu in one association to the DICOM
receiver, drained by one media worker, beside the same files through ``manage.py ingest`` (which
processes them in its own process, one at a time): instances per second both ways, and the peak
RSS of the receiver and of the worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/unity_bench .venv/bin/python bench/dicom_receiver.py [--count 200]

Both paths end when every job is finished (ready or duplicate): the receiver path includes
storescu's transfer, the receiver's staging and the worker's processing; the worker runs one
job at a time, like ``manage.py ingest``, so the ratio shows what the receiver adds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unity_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("UNITY_VAR_DIR", "/tmp/unity_bench_dicom_var")  # noqa: S108 - a bench scratch folder
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-dicom")
os.environ.setdefault("GOOGLE_CLIENT_ID", "bench")  # DEBUG off: management commands check sign-in is set
os.environ.setdefault("GOOGLE_CLIENT_SECRET", "bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")


def peak_rss_mb(pid: int) -> float:
    from bench.learning_loop import peak_rss_mb as peak

    return peak(pid)


def tree_peak_mb(pid: int) -> float:
    """The largest VmHWM among ``pid`` and its children (a prefork worker does the work in a child)."""
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    return max(peak_rss_mb(p) for p in pids)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_jobs(project, count: int, timeout: float = 1800) -> float:
    from media_ingest.models import IngestJob

    done = [IngestJob.Status.READY, IngestJob.Status.DUPLICATE, IngestJob.Status.FAILED]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if IngestJob.objects.filter(project=project, status__in=done).count() >= count:
            return time.perf_counter()
        time.sleep(0.2)
    raise SystemExit("timed out waiting for the jobs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--frames", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("storescu") is None:
        raise SystemExit("storescu not found: apt-get install dcmtk")
    from bench.ranking_issue_latency import ensure_database

    ensure_database()
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    from media_ingest.models import Clip, DicomPeer, IngestJob, ProjectItem
    from media_ingest.synthetic import write_synthetic_echo
    from projects.models import Project
    from tests.support import make_project
    from tests.workers import wait_for_worker

    folder = Path(tempfile.mkdtemp(prefix="bench-dicom-"))
    started = time.perf_counter()
    files = []
    for n in range(args.count):
        files.append(folder / f"i{n:04d}.dcm")
        write_synthetic_echo(files[-1], frames=args.frames, rows=300, columns=400, seed=5000 + n)
    print(f"{args.count} instances of {args.frames} frames, 400x300: written in {time.perf_counter() - started:.0f} s")
    for slug in ("bench-dicom-receiver", "bench-dicom-command"):
        Project.objects.filter(slug=slug).delete()
    IngestJob.objects.filter(project__slug__startswith="bench-dicom").delete()
    ProjectItem.objects.filter(project__slug__startswith="bench-dicom").delete()
    Clip.objects.filter(project_items__isnull=True).delete()
    via_receiver = make_project(slug="bench-dicom-receiver")
    via_command = make_project(slug="bench-dicom-command")
    DicomPeer.objects.filter(ae_title="BENCHSCU").delete()
    DicomPeer.objects.create(ae_title="BENCHSCU", project=via_receiver, host="127.0.0.1")

    env = {**os.environ}
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "manage.py", "dicom_receiver", "--port", str(port), "--address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    name = f"bench-dicom-{os.getpid()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "unity", "worker", "-Q", "media", "-n", f"{name}@%h",
         "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_worker(name, worker, timeout=120)
        deadline = time.monotonic() + 60
        while True:  # the receiver's socket
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or receiver.poll() is not None:
                    raise SystemExit("the receiver did not start") from None
                time.sleep(0.2)
        started = time.perf_counter()
        sent = subprocess.run(
            ["storescu", "-aet", "BENCHSCU", "-aec", "UNITY", "127.0.0.1", str(port), *map(str, files)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        transferred = time.perf_counter() - started
        if sent.returncode != 0:
            raise SystemExit(f"storescu failed: {sent.stdout} {sent.stderr}")
        finished = wait_jobs(via_receiver, args.count)
        receiver_s = finished - started
        receiver_rss, worker_rss = peak_rss_mb(receiver.pid), tree_peak_mb(worker.pid)
    finally:
        receiver.terminate()
        worker.terminate()
        receiver.wait(timeout=30)
        worker.wait(timeout=60)
    ready = IngestJob.objects.filter(project=via_receiver, status=IngestJob.Status.READY).count()
    # Same pixels would make the second path's jobs cheap duplicates: forget the first path's clips.
    IngestJob.objects.filter(project=via_receiver).update(clip=None)
    ProjectItem.objects.filter(project=via_receiver).delete()
    Clip.objects.filter(project_items__isnull=True).delete()

    started = time.perf_counter()
    command = subprocess.Popen(
        [sys.executable, "manage.py", "ingest", str(folder), "--project", "bench-dicom-command", "--here"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    peak_command = 0.0
    while command.poll() is None:
        peak_command = max(peak_command, peak_rss_mb(command.pid))
        time.sleep(0.2)
    command_s = time.perf_counter() - started
    ready_command = IngestJob.objects.filter(project=via_command, status=IngestJob.Status.READY).count()
    shutil.rmtree(folder, ignore_errors=True)

    print("| path | instances | ready | seconds | instances/s | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    print(
        f"| storescu -> receiver -> 1 media worker | {args.count} | {ready} | {receiver_s:.1f} "
        f"| {args.count / receiver_s:.2f} | receiver {receiver_rss:.0f}, worker {worker_rss:.0f} |"
    )
    print(
        f"| manage.py ingest (baseline) | {args.count} | {ready_command} | {command_s:.1f} "
        f"| {args.count / command_s:.2f} | {peak_command:.0f} |"
    )
    print(
        f"receiver / command: {command_s / receiver_s:.2f}x the rate (target >= 0.9x); "
        f"storescu's transfer alone took {transferred:.1f} s"
    )


if __name__ == "__main__":
    main()
