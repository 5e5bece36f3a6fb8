"""The learning loop at 100,000 items on PostgreSQL, through a real Celery worker (solo pool, so
its peak RSS is the run's): re-scoring the pool with MC dropout and rewriting the queue; training
on 5,000 labelled clips; and issuing from the queue while other experts submit.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/unity_bench .venv/bin/python bench/learning_loop.py

Baselines in the same run: re-scoring with one deterministic-like pass under the random strategy
(no MC, no diversity) beside the hybrid with ``--passes`` MC passes; training on 5,000 labels
beside training on 500; the queue issuer beside the least-covered issuer, alternating requests.

The project (1,000 clips x 100 frames = 100,000 frame items of six synthetic views) is built once
in the bench database and reused; media under UNITY_VAR_DIR (default /tmp/unity_bench_var).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unity_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("UNITY_VAR_DIR", "/tmp/unity_bench_var")  # noqa: S108 - a bench scratch folder
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-learning")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")

CLIPS, FRAMES = 1000, 100
SLUG = "bench-learning-100k"


def ensure_database() -> None:
    from bench.ranking_issue_latency import ensure_database as ensure

    ensure()


def build_project():
    """1,000 clips of synthetic views, 100 jittered frames each, every frame an item."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from media_ingest.models import ProjectItem
    from media_ingest.synthetic_views import sample_pool
    from projects.models import Project
    from projects.services import do_add_member
    from tests.learning_helpers import VIEW_SCHEMA, store_clip
    from tests.support import make_project

    project = Project.objects.filter(slug=SLUG).first()
    if project is None:
        print(f"building {CLIPS:,} clips x {FRAMES} frames (once)...", flush=True)
        started = time.perf_counter()
        found = sample_pool(CLIPS, seed=7)
        rng = np.random.default_rng(7)
        with transaction.atomic():
            project = make_project(
                Project.Kind.CLASSIFICATION, slug=SLUG, label_schema=VIEW_SCHEMA, target_views_per_item=1
            )
            for c in range(CLIPS):
                base = found.images[c].astype(np.int16)
                noise = rng.integers(-12, 13, size=(FRAMES, *base.shape), dtype=np.int16)
                frames = np.clip(base[None] + noise, 0, 255).astype(np.uint8)
                clip = store_clip(f"{SLUG}-{c}", frames, study=f"{SLUG}-study-{c // 4}")
                ProjectItem.objects.bulk_create(
                    [ProjectItem(project=project, clip=clip, frame_index=f) for f in range(FRAMES)]
                )
        np.save(Path(os.environ["UNITY_VAR_DIR"]) / f"{SLUG}-views.npy", found.views)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    experts = []
    for i in range(6):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-learner-{i}")
        do_add_member(project, user=user)
        experts.append(user)
    return project, experts


def label(project, expert, count: int) -> int:
    """Answer (with the true view) ``count`` items that have no answer, spread over the clips:
    frame 0 of each clip first, then frame 1, ..."""
    from annotations.services import do_issue_task, do_submit_judgement
    from media_ingest.models import ProjectItem
    from media_ingest.synthetic_views import VIEWS

    views = np.load(Path(os.environ["UNITY_VAR_DIR"]) / f"{SLUG}-views.npy")
    first_clip = ProjectItem.objects.filter(project=project).order_by("clip_id").values_list("clip_id", flat=True)[0]
    todo = list(
        ProjectItem.objects.filter(project=project, judgement_count=0)
        .order_by("frame_index", "clip_id")
        .values_list("id", "clip_id")[:count]
    )
    rng = np.random.default_rng(0)
    for item_id, clip_id in todo:
        item = ProjectItem(pk=item_id, project_id=project.pk)
        task = do_issue_task(project, expert=expert, items=[item], rng=rng)
        do_submit_judgement(task.pk, expert=expert, answer={"class": VIEWS[int(views[clip_id - first_clip])].lower()})
    return len(todo)


def start_worker(log_path: Path) -> subprocess.Popen:
    from tests.workers import wait_for_worker

    name = f"bench-learning-{os.getpid()}"
    env = {**os.environ, "UNITY_LEARNING_THREADS": "2"}
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "unity", "worker", "-Q", "learning", "-n", f"{name}@%h",
         "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_for_worker(name, process, timeout=120)
    return process


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak(pid: int) -> None:
    """Reset VmHWM (Linux: writing 5 to clear_refs), so each run's peak is its own."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def timed_run(project, worker: subprocess.Popen, **settings_fields) -> dict:
    from django.db import transaction

    from activelearning.models import LearningRun, LearningSettings
    from activelearning.services import do_request_retrain

    LearningSettings.objects.update_or_create(project=project, defaults={"enabled": True, **settings_fields})
    reset_peak(worker.pid)
    started = time.perf_counter()
    with transaction.atomic():
        run = do_request_retrain(project, LearningRun.Trigger.ADMIN)
    finished = {LearningRun.Status.DONE, LearningRun.Status.FAILED, LearningRun.Status.UNCHANGED}
    while LearningRun.objects.get(pk=run.pk).status not in finished:
        if worker.poll() is not None:
            raise SystemExit("the worker died")
        time.sleep(0.2)
    wall = time.perf_counter() - started
    run = LearningRun.objects.select_related("version").get(pk=run.pk)
    if run.status != LearningRun.Status.DONE:
        raise SystemExit(f"run {run.pk}: {run.status} {run.error}")
    v = run.version
    return {
        "wall": wall,
        "run": (run.finished_at - run.started_at).total_seconds(),
        "train": v.train_seconds,
        "score": v.score_seconds,
        "labels": v.label_count,
        "queue": v.queue_size,
        "metrics": v.metrics,
        "rss": peak_rss_mb(worker.pid),
    }


def submit_loop(project, expert, stop: threading.Event, done: list[int]) -> None:
    from bench.ranking_issue_latency import submit_loop as loop

    loop(project, expert, stop, done, answer=lambda task: {"class": "a4c"})


def issuer_latency(project, experts, requests: int, submitters: int) -> tuple[list[float], list[float], float]:
    """Alternating requests: the queue issuer (queue_version set) and the least-covered one (unset),
    each issuing a task that is then answered, while ``submitters`` experts loop next -> submit."""
    from django.contrib.auth import get_user_model

    from annotations.services import do_issue_next_task, do_submit_judgement
    from projects.models import Project
    from projects.services import do_add_member

    queue_version = Project.objects.get(pk=project.pk).queue_version
    background = []
    for i in range(submitters):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-learning-submitter-{i}")
        do_add_member(project, user=user)
        background.append(user)
    stop, done = threading.Event(), [0]
    threads = [
        threading.Thread(target=submit_loop, args=(Project.objects.get(pk=project.pk), user, stop, done))
        for user in background
    ]
    for thread in threads:
        thread.start()
    started_all = time.perf_counter()
    rng = np.random.default_rng(1)
    queue, least = [], []
    off = Project.objects.get(pk=project.pk)
    off.queue_version = None  # this request's view of the project: learning off
    on = Project.objects.get(pk=project.pk)
    for i in range(requests + 10):
        for target, samples in ((on, queue), (off, least)):
            expert = experts[i % len(experts)]
            started = time.perf_counter()
            task = do_issue_next_task(target, expert=expert, rng=rng)
            elapsed = time.perf_counter() - started
            do_submit_judgement(task.pk, expert=expert, answer={"class": "a4c"})
            if i >= 10:
                samples.append(elapsed)
    stop.set()
    for thread in threads:
        thread.join()
    assert on.queue_version == queue_version
    return queue, least, done[0] / (time.perf_counter() - started_all)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--submitters", type=int, default=3)
    parser.add_argument("--skip-training", action="store_true", help="leave out the 5,000-label training run")
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    import redis

    from activelearning.models import LearningRun, ModelVersion
    from annotations.models import Judgement, Task
    from media_ingest.models import ProjectItem

    # The bench's own Redis database: messages of an interrupted run (unacknowledged ones come
    # back after a while) must not run against this one's rows.
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    project, experts = build_project()
    # A clean slate of answers and versions, so every run of the bench measures the same thing.
    ModelVersion.objects.filter(project=project).delete()
    LearningRun.objects.filter(project=project).delete()
    Judgement.objects.filter(project=project).delete()
    Task.objects.filter(project=project).delete()
    ProjectItem.objects.filter(project=project).update(judgement_count=0)
    n = ProjectItem.objects.filter(project=project).count()
    params = settings.ACTIVE_LEARNING
    print(f"project {project.slug}: {n:,} items on PostgreSQL; learner {params}, 2 torch threads on the worker")

    started = time.perf_counter()
    label(project, experts[0], 500)
    print(f"500 labels through the services: {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have by now: plans for the tables' real sizes
    log_path = ROOT / "var" / "bench-learning-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    worker = start_worker(log_path)
    try:
        base = timed_run(project, worker, strategy="random", mc_passes=1, diverse_head=200, min_labels=20)
        hybrid = timed_run(project, worker, strategy="hybrid", mc_passes=args.passes, diverse_head=200, min_labels=20)
        print("\n### Re-scoring 100,000 items and rewriting the queue (worker, end to end)")
        print("| run | labels | queue | train s | score s | write+read s | run s | peak RSS MB | held-out |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for name, r in (("random, 1 pass (baseline)", base), (f"hybrid, {args.passes} MC passes", hybrid)):
            other = r["run"] - r["train"] - r["score"]
            print(
                f"| {name} | {r['labels']} | {r['queue']:,} | {r['train']:.1f} | {r['score']:.1f} | {other:.1f} "
                f"| {r['run']:.1f} | {r['rss']:.0f} | {r['metrics'].get('accuracy')} |"
            )
        print(
            f"hybrid / baseline: scoring {hybrid['score'] / base['score']:.2f}x, run {hybrid['run'] / base['run']:.2f}x;"
            f" target < 60 s and < 2,048 MB: scoring+write {hybrid['run'] - hybrid['train']:.1f} s, RSS {hybrid['rss']:.0f} MB"
        )

        big = None
        if not args.skip_training:
            started = time.perf_counter()
            added = label(
                project, experts[1], 5000 - ProjectItem.objects.filter(project=project, judgement_count__gt=0).count()
            )
            print(f"\n{added} more labels: {time.perf_counter() - started:.1f} s", flush=True)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            big = timed_run(project, worker, strategy="hybrid", mc_passes=args.passes, diverse_head=200, min_labels=20)
            print("### Training on 5,000 labelled clips (same learner settings)")
            print("| labels | train s | held-out accuracy |\n| ---: | ---: | --- |")
            print(f"| {hybrid['labels']} | {hybrid['train']:.1f} | {hybrid['metrics'].get('accuracy')} |")
            print(f"| {big['labels']} | {big['train']:.1f} | {big['metrics'].get('accuracy')} |")
            print(
                f"5,000 / 500 labels: training {big['train'] / hybrid['train']:.2f}x; whole run {big['run']:.1f} s, peak RSS {big['rss']:.0f} MB"
            )
        serving = big if not args.skip_training else hybrid
        queue, least, rate = issuer_latency(project, experts, args.requests, args.submitters)
        q50, q95 = (float(np.percentile(np.asarray(queue) * 1000, p)) for p in (50, 95))
        l50, l95 = (float(np.percentile(np.asarray(least) * 1000, p)) for p in (50, 95))
        print(
            f"\n### Issuing with the queue at {serving['queue']:,} items ({args.submitters} experts submitting, {rate:.1f} answers/s)"
        )
        print("| issuer | p50 ms | p95 ms |")
        print("| --- | ---: | ---: |")
        print(f"| queue (serving version) | {q50:.1f} | {q95:.1f} |")
        print(f"| least covered (baseline) | {l50:.1f} | {l95:.1f} |")
        print(f"queue / least covered p95: {q95 / l95:.2f}x; target p95 < 20 ms")

    finally:
        worker.terminate()
        worker.wait(timeout=30)


if __name__ == "__main__":
    main()
