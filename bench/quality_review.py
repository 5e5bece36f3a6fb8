"""The review pages on a large project, beside a plain admin change list in the same run.

    .venv/bin/python bench/quality_review.py                       # 100,000 items, 1,000,000 judgements
    .venv/bin/python bench/quality_review.py --items 10000 --judgements 100000

A classification project is built by COPY (bench/release_build.py's labels project: 25 experts,
10 answers per item), 1% of the answers then carry feedback and 100 items a decision. Timed
in-process through Django's test client (a staff user, PostgreSQL, the Redis cache):
- the disagreement order itself (``compute_review_order``: one aggregate in the database);
- the review list with nothing cached (it computes the order), then ``--requests`` views of pages
  and filters with the order cached (what a reviewer paging sees for ``ORDER_FRESH_SECONDS``);
- an item's page, and the feedback list (newest first; filtered by text);
- the judgements' admin change list, as the baseline.
Prints p50/p95 of each and the ratio of the review list's p95 to the change list's.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unity_bench_review")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("UNITY_VAR_DIR", "/tmp/unity_bench_review_var")  # noqa: S108 (a bench's scratch)
os.environ.setdefault("UNITY_STATIC_ROOT", "/tmp/unity_bench_review_static")  # noqa: S108 (a bench's scratch)
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(16))
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("UNITY_SECURE_COOKIES", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")

from release_build import LABELS_SLUG, build_labels, recreate_database, setup_django  # noqa: E402


def timed(client, url: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    response = client.get(url, params or {})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return elapsed


def percentiles(values: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.array(values) * 1000, [50, 95])
    return float(p50), float(p95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--judgements", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the bench database of the last run")
    args = parser.parse_args()

    if not args.reuse:
        recreate_database()
    setup_django()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from annotations.models import Adjudication, Judgement
    from media_ingest.models import ProjectItem
    from projects.models import Project
    from quality.review.selectors import compute_review_order
    from tests.support import make_user

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if not args.reuse:
        started = time.perf_counter()
        build_labels(args.items, args.judgements)
        project = Project.objects.get(slug=LABELS_SLUG)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Judgement._meta.db_table} SET feedback = 'poor window ' || id WHERE project_id = %s AND id %% 100 = 0",  # noqa: S608
                [project.pk],
            )
        admin = make_user("bench-review-admin", staff=True)
        items = list(ProjectItem.objects.filter(project=project).order_by("id").values_list("id", flat=True)[:100])
        Adjudication.objects.bulk_create(
            [Adjudication(project=project, item_id=i, reviewer=admin, decision="accepted") for i in items]
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(
            f"project: {args.items:,} items, {args.judgements:,} judgements, built in {time.perf_counter() - started:.1f} s"
        )
    project = Project.objects.get(slug=LABELS_SLUG)
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-review-admin"))
    base = f"/p/{project.slug}/review/"

    orders = []
    for _ in range(3):
        started = time.perf_counter()
        order = compute_review_order(project)
        orders.append(time.perf_counter() - started)
    print(f"disagreement order of {len(order.item_ids):,} items (one aggregate): {min(orders):.2f}-{max(orders):.2f} s")
    cache.clear()
    print(f"review list, first view (order computed): {timed(client, base) * 1000:.0f} ms")
    item = int(order.item_ids[0])
    views = {"list": [], "filtered": [], "item": [], "feedback": [], "feedback text": [], "change list": []}
    for k in range(args.requests):
        views["list"].append(timed(client, base, {"page": str(1 + 37 * k)}))
        views["filtered"].append(timed(client, base, {"decision": "undecided", "feedback": "1", "page": str(1 + k)}))
        views["item"].append(timed(client, f"{base}{item + k}/"))
        views["feedback"].append(timed(client, f"{base}feedback/", {"page": str(1 + k)}))
        views["feedback text"].append(timed(client, f"{base}feedback/", {"q": f"window {100 * (k + 1)}"}))
        views["change list"].append(timed(client, "/admin/annotations/judgement/"))
    p = {name: percentiles(values) for name, values in views.items()}
    for name, (p50, p95) in p.items():
        print(f"{name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    print(f"ratio review list / change list, p95: {p['list'][1] / p['change list'][1]:.2f}x")


if __name__ == "__main__":
    main()
