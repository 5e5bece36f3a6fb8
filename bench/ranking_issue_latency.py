"""Latency of issuing the next ranking batch in a 100,000-item project on PostgreSQL, p50/p95,
beside a naive ``ORDER BY random()`` pick in the same run, while other experts submit: a few
background threads (``--submitters``, default 3) loop next -> submit through the services.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/unity_bench .venv/bin/python bench/ranking_issue_latency.py

The database is created and migrated if needed; the project is built once and reused. The rating
folds the submitters' judgements queue go to Redis (REDIS_URL, default db 11) and are dropped at
the end: no worker folds during the run, so the figures are issuing's.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unity_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-latency")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")

N_ITEMS = 100_000
SLUG = "bench-ranking-100k"


def ensure_database() -> None:
    from urllib.parse import urlsplit

    import psycopg2

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    conn = psycopg2.connect(
        host=url.hostname, port=url.port or 5432, user=url.username or "postgres", dbname="postgres"
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def build_project(rng: np.random.Generator):
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from media_ingest.models import Clip, ProjectItem
    from projects.models import Project
    from projects.services import do_add_member
    from ranking.models import ItemRating
    from tests.support import make_project

    project = Project.objects.filter(slug=SLUG).first()
    if project is None:
        print(f"building a {N_ITEMS:,}-item project (once)...", flush=True)
        with transaction.atomic():
            project = make_project(
                Project.Kind.RANKING, slug=SLUG, title="Bench: 100k items", question="Order by foreshortening"
            )
            clips = Clip.objects.bulk_create(
                [Clip(code=f"{SLUG}-{i:064d}"[-64:], status=Clip.Status.READY) for i in range(N_ITEMS)],
                batch_size=5000,
            )
            views = rng.integers(0, 4, size=N_ITEMS)
            items = ProjectItem.objects.bulk_create(
                [
                    ProjectItem(project=project, clip=clip, judgement_count=int(v))
                    for clip, v in zip(clips, views, strict=True)
                ],
                batch_size=5000,
            )
            scores = rng.standard_normal(N_ITEMS)
            ItemRating.objects.bulk_create(
                [
                    ItemRating(
                        item=item,
                        project=project,
                        rating=1500 + 173.7 * s,
                        rd=120.0,
                        volatility=0.06,
                        views=int(v),
                        score=float(s),
                        score_se=0.5,
                    )
                    for item, s, v in zip(items, scores, views, strict=True)
                ],
                batch_size=5000,
            )
    user_model = get_user_model()
    experts = []
    for i in range(8):
        user, _ = user_model.objects.get_or_create(
            username=f"bench-expert-{i}", defaults={"email": f"b{i}@example.org"}
        )
        do_add_member(project, user=user)
        experts.append(user)
    return project, experts


def shown_order(task) -> dict:
    """A ranking answer: the batch in the order it was shown."""
    return {"ordering": [row.item_id for row in task.task_items.all()], "ties": []}


def submit_loop(project, expert, stop: threading.Event, done: list[int], answer=shown_order) -> None:
    """One background expert: next -> submit ``answer(task)`` until ``stop``."""
    from django.db import connection

    from annotations.services import do_issue_next_task, do_submit_judgement

    rng = np.random.default_rng(expert.pk)
    try:
        while not stop.is_set():
            task = do_issue_next_task(project, expert=expert, rng=rng)
            if task is None:
                return
            do_submit_judgement(task.pk, expert=expert, answer=answer(task))
            done[0] += 1
    finally:
        connection.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.asarray(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--submitters", type=int, default=3, help="background experts submitting meanwhile")
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from annotations.models import Task
    from annotations.services import do_issue_task
    from media_ingest.models import ProjectItem
    from ranking.selectors import next_batch

    rng = np.random.default_rng(0)
    project, experts = build_project(rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"project {project.slug}: {ProjectItem.objects.filter(project=project).count():,} items, PostgreSQL")

    from django.contrib.auth import get_user_model

    from projects.services import do_add_member

    submitters = []
    for i in range(args.submitters):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-submitter-{i}")
        do_add_member(project, user=user)
        submitters.append(user)
    stop, done = threading.Event(), [0]
    threads = [threading.Thread(target=submit_loop, args=(project, user, stop, done)) for user in submitters]
    for thread in threads:
        thread.start()
    started_all = time.perf_counter()

    ours: list[float] = []
    naive: list[float] = []
    for i in range(args.requests + 20):
        expert = experts[i % len(experts)]
        started = time.perf_counter()
        with transaction.atomic():
            items = next_batch(project, expert, rng)
            task = do_issue_task(project, expert=expert, items=items, rng=rng)
        elapsed = time.perf_counter() - started
        # Answered in the bench's world: keeps open tasks bounded, the judged sets grow.
        Task.objects.filter(pk=task.pk).update(status=Task.Status.ANSWERED)
        ProjectItem.objects.filter(pk__in=[it.pk for it in items]).update(judgement_count=1 + i // 1000)

        started = time.perf_counter()
        with transaction.atomic():
            picked = list(ProjectItem.objects.filter(project=project, is_active=True).order_by("?")[:6])
            naive_task = do_issue_task(project, expert=expert, items=picked, rng=rng)
        naive_elapsed = time.perf_counter() - started
        Task.objects.filter(pk=naive_task.pk).update(status=Task.Status.ANSWERED)
        if i >= 20:  # warm-up
            ours.append(elapsed)
            naive.append(naive_elapsed)
    stop.set()
    for thread in threads:
        thread.join()
    submits_per_s = done[0] / (time.perf_counter() - started_all)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()  # the folds the submitters queued
    p50, p95 = percentiles(ours)
    n50, n95 = percentiles(naive)
    print(f"{args.requests} requests each, issue = choose items + create Task/TaskItems in one transaction")
    print(f"meanwhile {args.submitters} background experts submitted {submits_per_s:.1f} judgements/s")
    print(f"Unity issuer (ranking.selectors.next_batch): p50 {p50:.1f} ms  p95 {p95:.1f} ms  (target p95 < 20 ms)")
    print(f"naive ORDER BY random() LIMIT 6:            p50 {n50:.1f} ms  p95 {n95:.1f} ms")
    print(f"ratio naive/Unity at p95: {n95 / p95:.1f}x")


if __name__ == "__main__":
    main()
