"""Time from submitting an answer to the next task being visible and playable, in real Chromium
on localhost, measured by the page's own performance marks (``submit-<task>`` to ``task-ready``:
the next task's first frame drawn, its chunks fetched while the expert worked). Baseline, measured
in the same run: a plain load of the labelling page to the same ``task-ready`` mark.

    .venv/bin/python bench/labelling_latency.py [--tasks 50] [--think-ms 250]

Uses a throw-away test database (DATABASE_URL's test database, or SQLite under var/test).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.env_plugin  # noqa: E402, F401 - test environment defaults (DEBUG off, local cookies)

BASELINE_LOADS = 10
SUBMIT_AND_WAIT = """async () => {
  const n = window.unityTimings.length;
  document.querySelector("label[for='class-a4c']").click();
  document.getElementById('submit').click();
  while (window.unityTimings.length === n) await new Promise((r) => setTimeout(r, 2));
  return window.unityTimings[n];
}"""
LOAD_READY = """async () => {
  while (!performance.getEntriesByName('task-ready').length) await new Promise((r) => setTimeout(r, 2));
  return performance.getEntriesByName('task-ready')[0].startTime;
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--think-ms", type=int, default=250, help="time the 'expert' spends before each submit")
    args = parser.parse_args()

    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API keeps a loop in this thread
    import django

    django.setup()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test import Client
    from django.test.runner import DiscoverRunner
    from django.test.testcases import LiveServerThread
    from django.test.utils import setup_test_environment, teardown_test_environment
    from playwright.sync_api import sync_playwright

    from projects.models import Project
    from projects.services import do_add_member
    from tests.browser_helpers import CHROMIUM, CHROMIUM_ARGS, ingest_synthetic
    from tests.support import make_project, make_user

    setup_test_environment()
    runner = DiscoverRunner(verbosity=0, interactive=False)
    old_config = runner.setup_databases()
    server = None
    try:
        expert = make_user("bench-expert")
        project = make_project(
            Project.Kind.CLASSIFICATION,
            slug="bench-views",
            target_views_per_item=1,
            label_schema={"classes": [{"key": "a4c", "name": "Apical four-chamber", "description": "A4C"}]},
        )
        do_add_member(project, user=expert)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            ingest_synthetic(project, Path(folder), args.tasks + BASELINE_LOADS + 4, rows=240, columns=320, frames=40)
        print(
            f"ingested {args.tasks + BASELINE_LOADS + 4} clips of 320x240x40 in {time.perf_counter() - started:.1f} s"
        )
        client = Client()
        client.force_login(expert)
        session = client.cookies["sessionid"].value

        server = LiveServerThread("localhost", StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        base = f"http://localhost:{server.port}"

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
            page = context.new_page()

            loads = []
            for _ in range(BASELINE_LOADS):
                page.goto(f"{base}/p/bench-views/label/")
                loads.append(page.evaluate(LOAD_READY))
            page.goto(f"{base}/p/bench-views/label/")
            page.evaluate(LOAD_READY)
            submits = []
            for _ in range(args.tasks):
                page.wait_for_timeout(args.think_ms)
                value = page.evaluate(SUBMIT_AND_WAIT)
                if value is None:
                    raise SystemExit("a task was shown without a submit mark")
                submits.append(value)
            browser.close()

        p50, p95 = percentile(submits, 50), percentile(submits, 95)
        b50, b95 = percentile(loads, 50), percentile(loads, 95)
        print(f"submit -> next task visible and playable, {len(submits)} tasks (think time {args.think_ms} ms):")
        print(
            f"  p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   mean {statistics.mean(submits):7.1f} ms   max {max(submits):7.1f} ms"
        )
        print(f"baseline: plain load of the labelling page to the same mark, {len(loads)} loads:")
        print(f"  p50 {b50:7.1f} ms   p95 {b95:7.1f} ms")
        print(f"ratio (submit / page load): p50 {p50 / b50:.2f}   p95 {p95 / b95:.2f}")
        print(f"target p95 < 300 ms: {'met' if p95 < 300 else 'NOT met'}")
    finally:
        if server is not None:
            server.terminate()
        runner.teardown_databases(old_config)
        teardown_test_environment()


if __name__ == "__main__":
    main()
