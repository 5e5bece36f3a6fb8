"""A full rating recompute of 1,000,000 pairwise outcomes over 100,000 items, database included,
beside the numpy-only work on the same log measured in the same run.

1. Builds a ranking project in the bench database (DATABASE_URL, default PostgreSQL
   ``unity_bench_h2``, dropped and built afresh): the items by one INSERT ... SELECT over
   generate_series, ~66,667 orderings of 6 items (15 pairs each) as tasks and judgements by COPY.
2. numpy-only, in a fresh child that reads the log first (not timed): the recompute's
   computation (rating periods with Glicko-2, the consensus fit, rank intervals, split-half
   reliability): what ``do_recompute_ratings`` computes, without reading or writing the database.
3. ``do_recompute_ratings`` end to end (read the log, compute, write every row), in a fresh child
   process so its peak RSS is the fold's own; then one more period of judgements and one
   incremental fold (``do_close_rating_periods``), also in a child.
4. With ``--package``, the glicko2 PyPI package's per-player loop on a sample, extrapolated.

    .venv/bin/python bench/ranking_throughput.py [--items 100000] [--outcomes 1000000] [--periods 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import secrets
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unity_bench_h2")
os.environ.setdefault("UNITY_VAR_DIR", str(ROOT / "var" / "bench_throughput"))
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(16))
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")
os.environ.pop("REDIS_URL", None)  # no broker: nothing here queues work

SLUG = "throughput"
BATCH = 6
PAIRS = BATCH * (BATCH - 1) // 2


def recreate_database() -> None:
    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    if not name.startswith("unity_bench"):
        raise SystemExit(f"refusing to drop {name!r}: the bench database's name starts with unity_bench")
    where = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    subprocess.run(["dropdb", *where, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *where, name], check=True)


def setup_django(*, fresh: bool) -> None:
    if fresh and os.environ["DATABASE_URL"].startswith("postgres"):
        recreate_database()
    import django

    django.setup()
    if fresh:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def orderings(n_items: int, n_orderings: int, rng: np.random.Generator) -> np.ndarray:
    """Orderings of 6 distinct random items (indices) by a latent quality with Thurstone noise."""
    quality = rng.standard_normal(n_items)
    stride = n_items // BATCH
    batches = (np.arange(BATCH) * stride + rng.integers(0, stride, size=(n_orderings, 1))) % n_items
    batches = (batches + rng.integers(0, n_items, size=(n_orderings, 1))) % n_items  # distinct per row
    perceived = quality[batches] + rng.standard_normal(batches.shape)
    return np.take_along_axis(batches, np.argsort(-perceived, axis=1), axis=1)


def insert_series(model: type, count: int, expressions: dict[str, tuple[str, list]], *, source: str = "") -> None:
    """INSERT rows of ``model`` in one statement, one per row of ``source`` (default: ``g`` over
    1..count): columns in ``expressions`` take that SQL and parameters, the others their default."""
    from django.db import connection

    columns, values, args = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key and f.column not in expressions:
            continue
        columns.append(f.column)
        sql, params = expressions.get(f.column, ("%s", [f.get_db_prep_save(f.get_default(), connection)]))
        values.append(sql)
        args += params
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM "  # noqa: S608
    with connection.cursor() as cursor:
        if source:
            cursor.execute(sql + source, args)
        else:
            cursor.execute(sql + "generate_series(1, %s) g", [*args, count])


def copy_text(table: str, columns: list[str], lines: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO("\n".join(lines) + "\n"))


def copy_judgements(project: object, rows: list[list[int]], experts: list[int], first: datetime) -> list[dict]:
    """Answered tasks and their judgements by COPY, one a second from ``first``; returns the answers."""
    from annotations.models import Judgement, Task

    tasks, judgements, answers = [], [], []
    for j, (row, expert) in enumerate(zip(rows, experts, strict=True)):
        task, created = uuid.uuid4(), (first + timedelta(seconds=j)).isoformat()
        key = "-".join(str(i) for i in sorted(row))
        answer = {"ordering": row, "ties": []}
        answers.append(answer)
        tasks.append(f"{task}\t{project.pk}\t{expert}\t{Task.Status.ANSWERED}\t{key}\t{created}\t{created}\t{created}")
        judgements.append(f"{task}\t{project.pk}\t{expert}\t{json.dumps(answer)}\t{created}")
    task_columns = ["id", "project_id", "expert_id", "status", "item_set_key", "issued_at", "expires_at", "closed_at"]
    copy_text(Task._meta.db_table, [*task_columns, "skip_reason"], [t + "\t" for t in tasks])
    judgement_columns = ["task_id", "project_id", "expert_id", "answer", "created_at"]
    defaults = "\tf\t\t0\t{}"  # not_sure, feedback, time_on_task_ms, client_info
    copy_text(
        Judgement._meta.db_table,
        [*judgement_columns, "not_sure", "feedback", "time_on_task_ms", "client_info"],
        [j + defaults for j in judgements],
    )
    return answers


def build(n_items: int, batches: np.ndarray, *, per_period: int, experts: int) -> tuple[object, dict]:
    """The project, its items and the judgement log; returns (project, the log as answers)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from media_ingest.models import Clip, ProjectItem
    from tests.support import make_project

    started = time.perf_counter()
    users = [get_user_model().objects.create(username=f"bench-expert-{i}") for i in range(experts)]
    with transaction.atomic():
        project = make_project("ranking", slug=SLUG, rating_period_judgements=per_period, rating_period_minutes=24 * 60)
        now = datetime.now(UTC)
        insert_series(
            Clip,
            n_items,
            {
                "code": ("md5(%s || g::text)", [SLUG]),
                "status": ("%s", [Clip.Status.READY]),
                "created_at": ("%s", [now]),
                "updated_at": ("%s", [now]),
            },
        )
        insert_series(
            ProjectItem,
            n_items,
            {"project_id": ("%s", [project.pk]), "clip_id": ("c.id", []), "created_at": ("%s", [now])},
            source=f"{Clip._meta.db_table} c ORDER BY c.id",
        )
        ids = np.array(sorted(ProjectItem.objects.filter(project=project).values_list("id", flat=True)), np.int64)
        item_ids = ids[batches]
        # Judgements a second apart, a month ago: periods by count, all closed by time.
        first = now - timedelta(days=30)
        who = [users[int(e)].pk for e in np.arange(len(batches)) % experts]
        answers = copy_judgements(project, item_ids.tolist(), who, first)
    print(
        f"built: {n_items:,} items, {len(batches):,} orderings ({len(batches) * PAIRS:,} outcomes), "
        f"{per_period:,} orderings per period, {experts} experts, in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return project, {"ids": ids, "answers": answers, "experts": who, "first": first}


def numpy_only(project: object) -> dict:
    """What do_recompute_ratings computes, on the log already read: no database in the timing.
    Runs in a fresh child like the recompute, so both figures come from the same kind of process."""
    from ranking.glicko2 import LazyState, initial_ratings
    from ranking.outcomes import period_labels
    from ranking.selectors import fold_log, glicko_params, judgement_log, project_items
    from ranking.services import compute_consensus

    items = project_items(project)
    judgements = judgement_log(project, after_id=0)
    started = time.perf_counter()
    params = glicko_params(project)
    n = len(items.ids)
    lazy = LazyState(initial_ratings(n, params), np.zeros(n, np.int64), np.zeros(n, np.int64))
    labels = period_labels(
        judgements.created,
        every_judgements=project.rating_period_judgements,
        every_seconds=project.rating_period_minutes * 60.0,
    )
    fold_log(lazy, judgements, labels, index_of=items.positions(judgements.answers), first_period=0, params=params)
    glicko = time.perf_counter() - started
    compute_consensus(project, items, judgements, seed=judgements.ids[-1])
    return {"seconds": time.perf_counter() - started, "glicko": glicko}


def child(what: str) -> dict:
    """Run ``what`` (recompute | incremental) in a fresh process; its time and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", what], check=True, capture_output=True, text=True, env=os.environ
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_child(what: str) -> None:
    setup_django(fresh=False)
    from projects.models import Project
    from ranking.services import do_close_rating_periods, do_recompute_ratings

    project = Project.objects.get(slug=SLUG)
    if what == "numpy":
        print(json.dumps({**numpy_only(project), "peak_mb": high_water_mb()}))
        return
    before = high_water_mb()
    started = time.perf_counter()
    periods = do_recompute_ratings(project) if what == "recompute" else do_close_rating_periods(project.pk)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "periods": periods, "peak_mb": high_water_mb(), "before_mb": before}))


def high_water_mb() -> float:
    """This process's peak resident set (VmHWM). Not ru_maxrss: Linux carries that over from the
    parent across fork and exec, so a child would report the bench's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def add_period(project: object, log: dict, rng: np.random.Generator) -> int:
    """One more period of judgements after the recompute's (it closes by time, as in a quiet hour)."""
    from django.db import transaction

    n = project.rating_period_judgements
    rows = log["ids"][orderings(len(log["ids"]), n, rng)].tolist()
    experts = sorted(set(log["experts"]))
    with transaction.atomic():
        copy_judgements(
            project,
            rows,
            [experts[j % len(experts)] for j in range(n)],
            log["first"] + timedelta(seconds=len(log["answers"]) + 1),
        )
    return n


def package_comparison(n_items: int, batches: np.ndarray, periods: int, players: int, rng: np.random.Generator) -> None:
    """The glicko2 package's per-player loop, timed on ``players`` per period and extrapolated."""
    import glicko2 as package

    from ranking.glicko2 import Glicko2Params, PairOutcomes, initial_ratings, rate_period

    i, j = np.triu_indices(BATCH, k=1)
    outcomes = PairOutcomes(batches[:, i].ravel(), batches[:, j].ravel(), np.ones(len(batches) * PAIRS))
    labels = np.repeat(np.arange(periods), -(-len(outcomes) // periods))[: len(outcomes)]
    params = Glicko2Params()
    state = initial_ratings(n_items, params)
    seconds, games = 0.0, 0
    for period in np.split(np.arange(len(outcomes)), np.flatnonzero(np.diff(labels)) + 1):
        part = outcomes.take(period)
        side = np.concatenate([part.first, part.second])
        other = np.concatenate([part.second, part.first])
        score = np.concatenate([part.score, 1.0 - part.score])
        for p in rng.choice(n_items, size=players, replace=False):
            mine = side == p
            if not mine.any():
                continue
            player = package.Player(
                rating=float(state.rating[p]), rd=float(state.rd[p]), vol=float(state.volatility[p])
            )
            started = time.perf_counter()
            player.update_player(
                state.rating[other[mine]].tolist(), state.rd[other[mine]].tolist(), score[mine].tolist()
            )
            seconds += time.perf_counter() - started
            games += int(mine.sum())
        state = rate_period(state, part, params)
    total = seconds / games * 2 * len(outcomes)
    print(f"glicko2 package per-player loop: {seconds:.2f} s for {games:,} player-games, extrapolated: {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=1_000_000)
    parser.add_argument("--periods", type=int, default=20)
    parser.add_argument("--experts", type=int, default=20)
    parser.add_argument("--package", action="store_true", help="also time the glicko2 package (slow)")
    parser.add_argument("--child", choices=["numpy", "recompute", "incremental"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return
    setup_django(fresh=True)
    from django.db import connection

    rng = np.random.default_rng(0)
    n_orderings = -(-args.outcomes // PAIRS)
    batches = orderings(args.items, n_orderings, rng)
    per_period = -(-n_orderings // args.periods)
    project, log = build(args.items, batches, per_period=per_period, experts=args.experts)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})", flush=True)

    numpy = min((child("numpy") for _ in range(2)), key=lambda r: r["seconds"])
    numpy_s = numpy["seconds"]
    print(
        "numpy-only recompute (fresh process, log read first and not timed; Glicko-2 periods, consensus fit, "
        f"ranks, reliability; best of 2): {numpy_s:.2f} s (of which Glicko-2 periods from the answers: "
        f"{numpy['glicko']:.2f} s), peak RSS {numpy['peak_mb']:.0f} MB"
    )
    recompute = child("recompute")
    print(
        f"full recompute, database included (read log, compute, write {args.items:,} rows): "
        f"{recompute['seconds']:.2f} s, {recompute['periods']} periods"
    )
    print(f"ratio database-included / numpy-only: {recompute['seconds'] / numpy_s:.2f}x (target <= 5x)")
    print(
        f"recompute peak RSS: {recompute['peak_mb']:.0f} MB (process after start-up: {recompute['before_mb']:.0f} MB)"
    )
    added = add_period(project, log, rng)
    incremental = child("incremental")
    print(
        f"incremental fold of one period ({added:,} orderings) on top: {incremental['seconds']:.2f} s, "
        f"{incremental['periods']} period, peak RSS {incremental['peak_mb']:.0f} MB"
    )
    if args.package:
        package_comparison(args.items, batches, args.periods, 2000, rng)


if __name__ == "__main__":
    main()
