"""The quality dashboard over HTTP on a large project, beside a plain admin change list.

    .venv/bin/python bench/quality_dashboard.py                       # 100,000 items, 1,000,000 judgements
    .venv/bin/python bench/quality_dashboard.py --items 10000 --judgements 100000

A classification project is built by COPY (bench/release_build.py's labels project: 25 experts,
10 answers per item), then gunicorn (4 sync workers) on PostgreSQL with the Redis cache serves
a staff user: the dashboard's first view (nothing cached: it computes the dashboard, as the
worker's refresh does, from every answer), then ``--requests`` more views (the dashboard as the
worker keeps it, one cache read), and as many views of the judgements' admin change list,
alternating. Prints p50/p95 of each and their ratio, then the time of the worker's refresh with
new answers (agreement recomputed) and without. Target (issue 11): dashboard p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unity_bench_quality")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
# Pages render templates with hashed static names (DEBUG off): collectstatic into a scratch folder.
os.environ.setdefault("UNITY_STATIC_ROOT", "/tmp/unity_bench_quality_static")  # noqa: S108 (a bench's scratch)
os.environ.setdefault("UNITY_SECURE_COOKIES", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from annotate_load import free_port, login_cookies, start_gunicorn  # noqa: E402 - after the environment
from release_build import LABELS_SLUG, build_labels, recreate_database, setup_django  # noqa: E402


def timed_get(session, url: str) -> float:
    started = time.perf_counter()
    response = session.get(url, timeout=600)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return elapsed


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
    import requests
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command

    from tests.support import make_user

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    cache.clear()
    if not args.reuse:
        started = time.perf_counter()
        build_labels(args.items, args.judgements)
        seconds = time.perf_counter() - started
        print(f"project: {args.items:,} items, {args.judgements:,} judgements, built in {seconds:.1f} s")
    admin = get_user_model().objects.filter(username="bench-quality-admin").first()
    admin = admin or make_user("bench-quality-admin", staff=True)
    port = free_port()
    server = start_gunicorn(port)
    try:
        session = requests.Session()
        session.cookies.update(login_cookies(admin))
        base = f"http://127.0.0.1:{port}"
        dashboard, changelist = f"{base}/p/{LABELS_SLUG}/quality/", f"{base}/admin/annotations/judgement/"
        first = timed_get(session, dashboard)
        print(f"dashboard, first view (nothing cached: computed from every answer): {first * 1000:.0f} ms", flush=True)
        pages, lists = [], []
        for _ in range(args.requests):
            pages.append(timed_get(session, dashboard))
            lists.append(timed_get(session, changelist))
        p = {name: np.percentile(np.array(v) * 1000, [50, 95]) for name, v in (("dashboard", pages), ("list", lists))}
        print(
            f"dashboard as the worker keeps it: p50 {p['dashboard'][0]:.0f} ms, p95 {p['dashboard'][1]:.0f} ms (target p95 < 500 ms)"
        )
        print(f"admin change list of judgements: p50 {p['list'][0]:.0f} ms, p95 {p['list'][1]:.0f} ms")
        print(f"ratio dashboard / change list, p95: {p['dashboard'][1] / p['list'][1]:.2f}x")
        from projects.models import Project
        from quality.services import do_refresh_dashboard

        project = Project.objects.get(slug=LABELS_SLUG)
        started = time.perf_counter()
        do_refresh_dashboard(project)
        quiet = time.perf_counter() - started
        cache.clear()  # as after a new answer: the agreement is recomputed too
        started = time.perf_counter()
        do_refresh_dashboard(project)
        busy = time.perf_counter() - started
        print(
            f"worker refresh (every minute while experts answer): {busy:.1f} s with new answers, {quiet:.1f} s without"
        )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
