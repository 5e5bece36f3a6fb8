"""The annotate loop under load: N experts loop next -> submit over HTTP against gunicorn
(4 sync workers) on PostgreSQL, for classification and ranking, at 10,000 and 100,000 items
(1,000,000 with --million); loops/s and next/submit p50/p95/p99 per size and expert count,
and afterwards a check that every acknowledged submit (201) is exactly one judgement.

    .venv/bin/python bench/annotate_load.py                     # 10k + 100k, 8 and 32 experts, 60 s
    .venv/bin/python bench/annotate_load.py --million --experts 8 --seconds 30

The bench database (DATABASE_URL, default unity_bench_h3_load) is dropped and built afresh: the
items by COPY and one INSERT ... SELECT, then VACUUM (ANALYZE) (else autovacuum visits the
bulk-loaded millions of rows during the timed runs: classification at 1,000,000 items ran at 63
loops/s beside the ranking project's fresh rows, 156 alone), so only the loop is timed. A ranking
project gets its first fold (every item's rating row) before its runs, timed apart. Sessions are created in the
session store directly, as allauth does at login. Traffic goes only to 127.0.0.1.

Ratings live: during every ranking run a real Celery worker (solo pool, queue ``ranking``) folds
the periods the judgements close, on the same two cores, and a probe reads the provisional
ratings (``ranking.selectors.provisional_ratings``) and the fold watermark in a loop, and the
length of the ``ranking`` queue in Redis. Printed per ranking run: the time from a judgement's
201 to the end of the first provisional read that started after it (p50/p95/p99), the time from
its commit to the fold that stored it (judgements still unfolded at the end count as censored),
the most folds waiting in the queue at once, and the worker's peak RSS (the folds' own).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unity_bench_h3_load")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("UNITY_VAR_DIR", "/tmp/unity_bench_h3_var")  # noqa: S108 (a bench's scratch)
os.environ.setdefault("UNITY_STATIC_ROOT", str(ROOT / "static"))
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(16))
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("UNITY_SECURE_COOKIES", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")

KINDS = ("classification", "ranking")
# Label Studio, measured the same way on this machine (gunicorn, PostgreSQL, 8 users, 100,000 items).
LABEL_STUDIO_LOOPS_PER_S = (3.2, 3.6)


def recreate_database() -> None:
    import psycopg2

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    if not name.startswith("unity_bench"):
        raise SystemExit(f"refusing to drop {name!r}: the bench database's name starts with unity_bench")
    conn = psycopg2.connect(
        host=url.hostname, port=url.port or 5432, user=url.username or "postgres", dbname="postgres"
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def copy_rows(model: type, rows: list[dict[str, object]]) -> None:
    """COPY ``rows`` into ``model``'s table; unset fields take the field's default."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        values = []
        for f in fields:
            value = row.get(f.attname, f.get_default())
            if value is None:
                values.append("\\N")
            elif isinstance(value, bool):
                values.append("t" if value else "f")
            else:
                values.append(value.isoformat() if hasattr(value, "isoformat") else value)
        writer.writerow(values)
    buffer.seek(0)
    columns = ", ".join(f.column for f in fields)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {model._meta.db_table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
        )


def build_project(kind: str, size: int, experts: list) -> object:
    from django.db import connection, transaction
    from django.utils import timezone

    from media_ingest.models import Clip, ProjectItem
    from projects.services import do_add_member
    from tests.support import make_project

    slug = f"load-{kind}-{size}"
    started = time.perf_counter()
    with transaction.atomic():
        project = make_project(kind, slug=slug, title=f"Load: {kind}, {size:,} items")
        now = timezone.now()
        item, clip = ProjectItem._meta.db_table, Clip._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {clip}")  # noqa: S608
            last_clip = cursor.fetchone()[0]
        chunk = 100_000
        for start in range(0, size, chunk):
            rows = []
            for i in range(start, min(size, start + chunk)):
                code = hashlib.sha256(f"{slug}-{i}".encode()).hexdigest()
                prefix = f"{code[:2]}/{code[2:4]}/{code}"
                rows.append(
                    {
                        "code": code,
                        "status": Clip.Status.READY,
                        "frame_count": 40,
                        "frame_rate": 30.0,
                        "rows": 240,
                        "columns": 320,
                        "storage_prefix": prefix,
                        "video_name": f"{prefix}/video.mp4",
                        "poster_name": f"{prefix}/poster.jpg",
                        "frames_manifest_name": f"{prefix}/frames/manifest.json",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            copy_rows(Clip, rows)
        insert = (
            f"INSERT INTO {item} (project_id, clip_id, frame_index, split, is_active, judgement_count, created_at)"  # noqa: S608
            f" SELECT %s, id, NULL, %s, true, 0, %s FROM {clip} WHERE id > %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(insert, [project.pk, ProjectItem.Split.DEVELOPMENT, now, last_clip])
        for expert in experts:
            do_add_member(project, user=expert)
    print(f"  built {slug}: {size:,} items in {time.perf_counter() - started:.1f} s", flush=True)
    tables = [clip, item]
    if kind == "ranking":
        # Every item's rating row, as the project's first fold writes them: a one-off of a new
        # project (or a changed item set), timed here, not inside the loop's run.
        from ranking.models import ItemRating
        from ranking.services import do_recompute_ratings

        started = time.perf_counter()
        do_recompute_ratings(project)
        tables.append(ItemRating._meta.db_table)
        print(f"  first fold (every item's rating row): {time.perf_counter() - started:.1f} s", flush=True)
    # A bulk load leaves every page for autovacuum to visit; in a database that has been running
    # it is done. VACUUM now, so it does not run on the same cores during the timed loops.
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    return project


def make_experts(n: int) -> list:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    experts = []
    for i in range(n):
        user = get_user_model().objects.create_user(username=f"load-expert-{i}", email=f"load{i}@example.org")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        experts.append(user)
    return experts


def login_cookies(user) -> dict[str, str]:
    """A session in the session store, as allauth's login makes it, and a CSRF token."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {settings.SESSION_COOKIE_NAME: session.session_key, settings.CSRF_COOKIE_NAME: secrets.token_hex(16)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "unity.wsgi",
            "--workers=4",
            "--worker-class=sync",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            "--timeout=120",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    import requests

    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/api/ready", timeout=5)  # a JSON 404: it is up
            return server
        except requests.RequestException:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


@dataclass
class Tally:
    next_s: list[float] = field(default_factory=list)
    submit_s: list[float] = field(default_factory=list)
    loop_s: list[float] = field(default_factory=list)
    acknowledged_at: list[float] = field(default_factory=list)  # time.time() of each 201
    created: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    exhausted: int = 0

    def error(self, key: str) -> None:
        self.errors[key] = self.errors.get(key, 0) + 1


def answer_for(kind: str, task: dict) -> dict:
    if kind == "ranking":
        return {"ordering": [item["id"] for item in task["items"]], "ties": []}
    return {"class": "a4c"}


def expert_loop(base: str, *, kind: str, slug: str, cookies: dict[str, str], until: float, tally: Tally) -> None:
    import requests

    http = requests.Session()
    for name, value in cookies.items():
        http.cookies.set(name, value, domain="127.0.0.1")
    from django.conf import settings

    http.headers["X-CSRFToken"] = cookies[settings.CSRF_COOKIE_NAME]
    http.headers["Referer"] = base + "/"
    while time.perf_counter() < until:
        started = loop_started = time.perf_counter()
        response = http.post(f"{base}/api/projects/{slug}/tasks/next", json={"exclude": []}, timeout=60)
        tally.next_s.append(time.perf_counter() - started)
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code != 200 or "task" not in body:
            if body.get("code") == "no_more_tasks":
                tally.exhausted += 1
                return
            tally.error(f"next {response.status_code} {body.get('code')}")
            continue
        task = body["task"]
        payload = {"answer": answer_for(kind, task), "time_on_task_ms": 1000}
        started = time.perf_counter()
        response = http.post(f"{base}/api/tasks/{task['id']}/judgement", json=payload, timeout=60)
        tally.submit_s.append(time.perf_counter() - started)
        if response.status_code == 201:
            tally.created += 1
            tally.acknowledged_at.append(time.time())
            tally.loop_s.append(time.perf_counter() - loop_started)
        else:
            tally.error(f"submit {response.status_code}")


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000, q)) if samples else float("nan")


@dataclass
class Probe:
    """Provisional reads (started, ended, time.time()), fold watermarks seen, queue lengths."""

    reads: list[tuple[float, float]] = field(default_factory=list)
    watermarks: list[tuple[float, int]] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def probe_loop(project_id: int, probe: Probe) -> None:
    import redis
    from django.db import connection

    from projects.models import Project
    from ranking.models import RatingState
    from ranking.selectors import provisional_ratings

    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        while not probe.stop.is_set():
            started = time.time()
            provisional_ratings(Project.objects.get(pk=project_id))
            probe.reads.append((started, time.time()))
            mark = RatingState.objects.filter(project_id=project_id).values_list("last_judgement_id", flat=True).first()
            probe.watermarks.append((time.time(), mark or 0))
            probe.queued.append(int(broker.llen("ranking")))
            probe.stop.wait(0.2)
    finally:
        connection.close()


def live_figures(project, acknowledged: list[float], probe: Probe, since_id: int) -> dict[str, object]:
    """Latency from a 201 to the first provisional read that began after it, and from a
    judgement's commit to the fold that stored it (censored at the last probe when unfolded)."""
    from annotations.models import Judgement

    starts = np.array([a for a, _ in probe.reads])
    ends = np.array([b for _, b in probe.reads])
    ack = np.sort(np.asarray(acknowledged))
    at = np.searchsorted(starts, ack)
    seen = at < len(starts)
    provisional = (ends[at[seen]] - ack[seen]).tolist()
    rows = list(
        Judgement.objects.filter(project=project, id__gt=since_id).order_by("id").values_list("id", "created_at")
    )
    marks_t = np.array([t for t, _ in probe.watermarks])
    marks = np.maximum.accumulate(np.array([m for _, m in probe.watermarks])) if probe.watermarks else np.array([])
    stored, censored = [], 0
    for pk, created in rows:
        first = np.searchsorted(marks, pk) if len(marks) else 0
        if first < len(marks):
            stored.append(marks_t[first] - created.timestamp())
        else:
            censored += 1
            stored.append(marks_t[-1] - created.timestamp() if len(marks_t) else float("nan"))
    return {
        "provisional": (pct(provisional, 50), pct(provisional, 95), pct(provisional, 99)),
        "provisional_read": pct([b - a for a, b in probe.reads], 95),
        "stored": (pct(stored, 50), pct(stored, 95), pct(stored, 99)),
        "censored": censored,
        "queued_max": max(probe.queued, default=0),
        "probes": len(probe.reads),
    }


def start_worker() -> subprocess.Popen:
    """A real Celery worker on the ranking queue (solo pool: the fold runs in this process); its
    log goes to var/annotate_load_worker.log."""
    (ROOT / "var").mkdir(exist_ok=True)
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "unity", "worker", "-Q", "ranking", "--pool=solo", "--loglevel=WARNING"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,  # the banner
        stderr=(ROOT / "var" / "annotate_load_worker.log").open("a"),  # warnings and errors
        start_new_session=True,
    )


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(base: str, kind: str, project, experts: list, seconds: float) -> dict[str, object]:
    from annotations.models import Judgement

    before = Judgement.objects.filter(project=project).count()
    since_id = Judgement.objects.order_by("-id").values_list("id", flat=True).first() or 0
    live = kind == "ranking"
    worker = start_worker() if live else None
    probe = Probe()
    prober = threading.Thread(target=probe_loop, args=(project.pk, probe)) if live else None
    if prober:
        prober.start()
    tallies = [Tally() for _ in experts]
    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(
            target=expert_loop,
            args=(base,),
            kwargs={"kind": kind, "slug": project.slug, "cookies": login_cookies(e), "until": until, "tally": t},
        )
        for e, t in zip(experts, tallies, strict=True)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    figures: dict[str, object] = {}
    if worker and prober:
        probe.stop.wait(10.0)  # the folds the last judgements closed
        probe.stop.set()
        prober.join()
        figures = live_figures(project, [a for t in tallies for a in t.acknowledged_at], probe, since_id)
        figures["worker_peak_mb"] = peak_rss_mb(worker.pid)
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    next_s = [x for t in tallies for x in t.next_s]
    submit_s = [x for t in tallies for x in t.submit_s]
    loop_s = [x for t in tallies for x in t.loop_s]
    created = sum(t.created for t in tallies)
    judged = Judgement.objects.filter(project=project).count() - before
    errors: dict[str, int] = {}
    for t in tallies:
        for key, n in t.errors.items():
            errors[key] = errors.get(key, 0) + n
    return {
        "loops_per_s": created / elapsed,
        "created": created,
        "judged": judged,
        "counts_agree": counts_agree(project),
        "next": (pct(next_s, 50), pct(next_s, 95), pct(next_s, 99)),
        "submit": (pct(submit_s, 50), pct(submit_s, 95), pct(submit_s, 99)),
        "loop": (pct(loop_s, 50), pct(loop_s, 95), pct(loop_s, 99)),
        "live": figures,
        "errors": errors,
        "exhausted": sum(t.exhausted for t in tallies),
    }


def counts_agree(project) -> bool:
    """Every item's judgement_count equals its answered tasks (one statement, any size)."""
    from django.db import connection

    from annotations.models import Task, TaskItem
    from media_ingest.models import ProjectItem

    sql = (
        f"SELECT (SELECT COALESCE(SUM(judgement_count), 0) FROM {ProjectItem._meta.db_table} WHERE project_id = %s),"  # noqa: S608
        f" (SELECT COUNT(*) FROM {TaskItem._meta.db_table} ti JOIN {Task._meta.db_table} t ON t.id = ti.task_id"
        f" WHERE t.project_id = %s AND t.status = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk, project.pk, Task.Status.ANSWERED])
        summed, answered = cursor.fetchone()
    return summed == answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated item counts")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 items")
    parser.add_argument("--experts", default="8,32", help="comma-separated concurrent expert counts")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run")
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.million else [])
    expert_counts = [int(n) for n in args.experts.split(",")]
    kinds = args.kinds.split(",")

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    experts = make_experts(max(expert_counts))
    port = free_port()
    server = start_gunicorn(port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the finally below stops gunicorn
    base = f"http://127.0.0.1:{port}"
    print(
        f"gunicorn (4 sync workers) on {base}, PostgreSQL; {args.seconds:.0f} s per run; "
        "ranking runs with a Celery worker folding on the same cores"
    )
    header = (
        f"{'kind':<15}{'items':>10}{'experts':>8}{'loops/s':>9}  {'next p50/p95/p99 ms':>22}  "
        f"{'submit p50/p95/p99 ms':>22}  {'loop p50/p95/p99 ms':>22}  check"
    )
    results = []
    try:
        for size in sizes:
            print(f"{size:,} items:", flush=True)
            projects = {kind: build_project(kind, size, experts) for kind in kinds}
            connection.close()
            print(header)
            for kind in kinds:
                for n in expert_counts:
                    r = run(base, kind, projects[kind], experts[:n], args.seconds)
                    once = "ok" if r["created"] == r["judged"] and r["counts_agree"] else "MISMATCH"
                    line = (
                        f"{kind:<15}{size:>10,}{n:>8}{r['loops_per_s']:>9.1f}  "
                        f"{'/'.join(f'{x:.0f}' for x in r['next']):>22}  "
                        f"{'/'.join(f'{x:.0f}' for x in r['submit']):>22}  "
                        f"{'/'.join(f'{x:.0f}' for x in r['loop']):>22}  "
                        f"201s {r['created']} = judgements {r['judged']}, counts agree {r['counts_agree']}: {once}"
                    )
                    if r["errors"] or r["exhausted"]:
                        line += f"  errors {r['errors']} exhausted {r['exhausted']}"
                    print(line, flush=True)
                    if live := r["live"]:
                        print(
                            "    ratings live: 201 -> provisional read p50/p95/p99 "
                            f"{'/'.join(f'{x / 1000:.2f}' for x in live['provisional'])} s "
                            f"(a provisional read p95 {live['provisional_read']:.0f} ms, {live['probes']} reads); "
                            f"commit -> stored by a fold p50/p95/p99 {'/'.join(f'{x / 1000:.1f}' for x in live['stored'])} s "
                            f"({live['censored']} unfolded at the end, counted to the last probe); "
                            f"folds waiting at most {live['queued_max']}; worker peak RSS {live['worker_peak_mb']:.0f} MB",
                            flush=True,
                        )
                    results.append((kind, size, n, r))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()  # the bench's queued folds
    low, high = LABEL_STUDIO_LOOPS_PER_S
    print(f"\nLabel Studio, same method, 100,000 items, 8 users: {low}-{high} loops/s")
    for kind, size, n, r in results:
        if size == 100_000 and n == 8:
            print(
                f"Unity {kind}: {r['loops_per_s']:.1f} loops/s = {r['loops_per_s'] / high:.1f}x-{r['loops_per_s'] / low:.1f}x"
            )
    failed = [(kind, size, n) for kind, size, n, r in results if r["created"] != r["judged"] or not r["counts_agree"]]
    print("exactly-once check:", "every 201 is one judgement, counts agree" if not failed else f"FAILED {failed}")


if __name__ == "__main__":
    main()
