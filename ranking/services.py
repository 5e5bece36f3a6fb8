"""Folding the judgement log into ratings. ``do_*`` write; every write holds the project's lock.

Locking (docs/locking.md, "Ranking"): a rating fold runs in one transaction holding the
PostgreSQL advisory lock ``(RANKING_LOCK_NAMESPACE, project id)``; before it, a short barrier
transaction takes ``SHARE`` on the judgement table to learn the highest judgement id below which
every insert has committed. On SQLite writers are serialised already and both are no-ops.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from annotations.models import Judgement
from media_ingest.models import ProjectItem
from projects.models import Project, ProjectMembership
from projects.selectors import consensus_decisions
from ranking.fit import rank_breaking_weights
from ranking.glicko2 import LazyState, initial_ratings
from ranking.models import ConvergencePoint, ItemRating, RatingState
from ranking.outcomes import closed_periods, orderings_to_outcomes, period_labels
from ranking.reliability import (
    consensus_fit,
    rank_intervals,
    scale_separation_reliability,
    spearman,
    split_half_reliability,
)
from ranking.selectors import (
    JudgementLog,
    ProjectItems,
    fold_log,
    glicko_params,
    judgement_log,
    known_answers,
    project_items,
    shown_items,
    stored_ratings,
)

logger = logging.getLogger(__name__)

__all__ = [
    "RANKING_LOCK_NAMESPACE",
    "Snapshot",
    "compute_consensus",
    "do_close_rating_periods",
    "do_recompute_ratings",
    "period_is_due",
    "snapshot_ratings",
]

#: First key of the advisory lock pair; the second is the project id.
RANKING_LOCK_NAMESPACE = 4_200_001
LOCK_TIMEOUT = "30s"
#: Rows per COPY into the fold's temporary table (bounds the fold's memory at 1,000,000 items).
WRITE_BATCH = 100_000
#: A refit costs about (items + judgements) row-operations: a project with folded judgements and
#: items together at most this many refits at every fold (a few seconds at most).
REFIT_SMALL = 20_000
#: Larger projects refit when the folded count reaches the next boundary: boundaries at least
#: REFIT_STEP (or one judgement per REFIT_ITEMS_PER_STEP items, whichever is more) apart, and each
#: at least REFIT_GROWTH times the last, so refits over a project's life cost a small multiple of one.
REFIT_STEP = 1_000
REFIT_ITEMS_PER_STEP = 100
REFIT_GROWTH = 1.2


def consensus_prefix(judgements: int, items: int) -> int:
    """How many of the first folded judgements the consensus fit covers, given how many are folded
    and how many items the project has.

    A function of the two counts alone, so incremental folds and a recompute fit the same prefix
    of the log (README, "Writes"): every judgement on a small project, otherwise the last boundary
    reached. The Glicko-2 ratings, views and provisional ratings never lag."""
    if judgements + items <= REFIT_SMALL:
        return judgements
    step = max(REFIT_STEP, items // REFIT_ITEMS_PER_STEP)
    boundary = 0
    while (following := max(boundary + step, math.ceil(boundary * REFIT_GROWTH))) <= judgements:
        boundary = following
    return boundary


def _items_key(project: Project) -> str:
    """Which items the project has (count, sum and largest id), read from the index in one query,
    and a digest of the admin's decisions on experts' weights: a refit is due when either changes,
    since ranks are over every item and the fit weighs experts as decided (``decided_weights``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(MAX(id), 0) FROM {ProjectItem._meta.db_table}"  # noqa: S608
            " WHERE project_id = %s",
            [project.pk],
        )
        items = ":".join(str(int(v)) for v in cursor.fetchone())
    decided = sorted(
        ProjectMembership.objects.filter(project=project)
        .exclude(standing=ProjectMembership.Standing.AUTO)
        .values_list("user_id", "standing")
    )
    digest = hashlib.sha256(repr((project.weigh_experts, decided)).encode()).hexdigest()[:8]
    return f"{items}:w{digest}"


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _lock_project(project_id: int) -> None:
    """Call inside atomic(): the project's rating lock, released at commit or rollback."""
    if not _is_postgres():
        return  # SQLite: IMMEDIATE transactions already serialise every writer.
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RANKING_LOCK_NAMESPACE, project_id])


def _committed_watermark(project_id: int) -> int:
    """The highest judgement id of the project such that no lower id can still commit.

    Ids come from a sequence when a row is inserted, but transactions commit in any order: a
    fold that read ids 1-10 while 9 was still uncommitted would skip 9 for ever. Taking SHARE on
    the table waits for every transaction that is inserting judgements and then lets them go.
    """
    with transaction.atomic():
        if _is_postgres():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                cursor.execute(f"LOCK TABLE {Judgement._meta.db_table} IN SHARE MODE")
        last = Judgement.objects.filter(project_id=project_id).order_by("-id").values_list("id", flat=True).first()
    return last or 0


def decided_weights(project: Project, expert_ids: Sequence[int], decisions: dict | None = None) -> np.ndarray:
    """Per expert (in ``expert_ids`` order): the weight the admin decided, NaN where the fit
    estimates it. Excluded experts weigh 0; trusted ones 1; with the project's ``weigh_experts``
    off every other expert weighs 1 as well. ``decisions``: as frozen by a release
    (``projects.selectors.consensus_decisions``); None reads the project's now."""
    decisions = decisions if decisions is not None else consensus_decisions(project)
    standing = decisions.get("standing", {})
    free = np.nan if decisions.get("weigh_experts", True) else 1.0
    by_standing = {ProjectMembership.Standing.EXCLUDED: 0.0, ProjectMembership.Standing.TRUSTED: 1.0}
    return np.array([by_standing.get(standing.get(str(e)), free) for e in expert_ids], float)


@dataclass(frozen=True)
class Reliability:
    ssr: float
    split_half_experts: float
    split_half_judgements: float
    experts: list[dict]


def compute_consensus(
    project: Project, items: ProjectItems, log: JudgementLog, seed: int, decisions: dict | None = None
) -> tuple[dict[str, np.ndarray], Reliability]:
    """The consensus fit of the whole folded log, its ranks and its reliability (experts weighed
    as ``decisions`` say, see ``decided_weights``)."""
    index_of = items.positions(log.answers)
    answers = known_answers(log.answers, index_of)
    expert_ids = sorted(set(log.experts))
    expert_index = {e: i for i, e in enumerate(expert_ids)}
    indexed = orderings_to_outcomes(answers, [expert_index[e] for e in log.experts], index_of)
    sizes = np.array([len(a["ordering"]) for a in answers], np.int64)
    weights = rank_breaking_weights(sizes)
    n = len(items.ids)
    fit, agreement = consensus_fit(
        n,
        indexed.outcomes,
        weights,
        indexed.expert,
        len(expert_ids),
        fixed_weight=decided_weights(project, expert_ids, decisions),
    )
    rng = np.random.default_rng([seed, project.pk])
    ranks = rank_intervals(fit, rng=rng)
    seen = np.bincount(np.concatenate([indexed.outcomes.first, indexed.outcomes.second]), minlength=n) > 0
    ssr = scale_separation_reliability(fit.score[seen], fit.se[seen]) if seen.sum() > 1 else 0.0
    weights_by_expert = weights * agreement.weight[indexed.expert] if len(weights) else weights
    reliability = Reliability(
        ssr=ssr,
        split_half_experts=split_half_reliability(n, indexed.outcomes, weights_by_expert, indexed.expert, rng=rng),
        split_half_judgements=split_half_reliability(
            n, indexed.outcomes, weights_by_expert, indexed.judgement, rng=rng
        ),
        experts=[
            {
                "expert_id": expert_id,
                "pairs": int(agreement.pairs[i]),
                "kendall_tau": round(float(agreement.tau[i]), 4),
                "weight": round(float(agreement.weight[i]), 4),
                "flagged": bool(agreement.flagged[i]),
            }
            for i, expert_id in enumerate(expert_ids)
        ],
    )
    columns = {
        "score": fit.score,
        "score_se": fit.se,
        "rank": ranks.rank,
        "rank_low": ranks.low,
        "rank_high": ranks.high,
    }
    return columns, reliability


def _nan_to_none(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


#: The rows a fold writes, in this order: the temporary table's columns and the upsert's.
_COLUMNS = [
    ("item_id", "bigint"),
    ("rating", "float8"),
    ("rd", "float8"),
    ("volatility", "float8"),
    ("views", "bigint"),
    ("rated_period", "bigint"),
    ("score", "float8"),
    ("score_se", "float8"),
    ("rank", "bigint"),
    ("rank_low", "bigint"),
    ("rank_high", "bigint"),
]
_PG_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_PG_BINARY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def _copy_binary(columns: list[np.ndarray], rows: slice) -> bytes:
    """PostgreSQL's binary COPY format for ``rows`` of ``columns``, built by numpy (no Python
    object per value; floats travel bit for bit, so a recompute and the folds store the same)."""
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for k, column in enumerate(columns):
        fields += [(f"len{k}", ">i4"), (f"v{k}", ">f8" if column.dtype.kind == "f" else ">i8")]
    part = columns[0][rows]
    record = np.empty(len(part), dtype=np.dtype(fields))
    record["count"] = len(columns)
    for k, column in enumerate(columns):
        record[f"len{k}"] = 8
        record[f"v{k}"] = column[rows]
    return _PG_BINARY_HEADER + record.tobytes() + _PG_BINARY_TRAILER


#: The Glicko-2 part of a row: what a fold without a refit writes, for the items that played.
_GLICKO_COLUMNS = _COLUMNS[:6]


def _upsert_postgres(project: Project, columns: list[np.ndarray], layout: list[tuple[str, str]]) -> None:
    """COPY the rows into a temporary table, then one INSERT ... ON CONFLICT DO UPDATE."""
    table = ItemRating._meta.db_table
    names = [name for name, _ in layout]
    assigned = ", ".join(f"{name} = EXCLUDED.{name}" for name in names[1:])
    with connection.cursor() as cursor:
        # Dropped at commit; a fold nested in an outer transaction (tests, the admin) may meet its own.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.ranking_fold_rows")
        cursor.execute(
            "CREATE TEMPORARY TABLE ranking_fold_rows ("
            + ", ".join(f"{name} {kind}" for name, kind in layout)
            + ") ON COMMIT DROP"
        )
        for start in range(0, len(columns[0]), WRITE_BATCH):
            data = _copy_binary(columns, slice(start, start + WRITE_BATCH))
            cursor.copy_expert("COPY ranking_fold_rows FROM STDIN WITH (FORMAT binary)", io.BytesIO(data))
        if layout is _GLICKO_COLUMNS:  # rows of every item exist since the last refit: update them
            cursor.execute(
                f"UPDATE {table} AS r SET "  # noqa: S608 - our names
                + ", ".join(f"{name} = f.{name}" for name in names[1:])
                + ", updated_at = now() FROM ranking_fold_rows f WHERE r.item_id = f.item_id"
            )
            return
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(names)}, project_id, updated_at) "  # noqa: S608 - our names
            f"SELECT {', '.join(names)}, %s, now() FROM ranking_fold_rows "
            f"ON CONFLICT (item_id) DO UPDATE SET {assigned}, updated_at = EXCLUDED.updated_at",
            [project.pk],
        )


def _upsert_portable(project: Project, columns: list[np.ndarray], layout: list[tuple[str, str]]) -> None:
    """SQLite (the embedded default): batched INSERT ... ON CONFLICT DO UPDATE through the ORM."""
    names = [name for name, _ in layout]
    as_python = [column.tolist() for column in columns]
    rows = [
        ItemRating(project=project, **dict(zip(names, values, strict=True))) for values in zip(*as_python, strict=True)
    ]
    ItemRating.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["item"],
        update_fields=[*names[1:], "updated_at"],
    )


def _write(
    project: Project,
    *,
    state: RatingState,
    items: ProjectItems,
    lazy: LazyState,
    consensus: dict[str, np.ndarray],
    reliability: Reliability,
) -> None:
    """One set-based upsert of every item's row: the consensus fit moves every item on a refit,
    and it is what the issuing pool and the admin's rank order read in SQL (see README, "Writes").
    Glicko-2 values change only for the items that played; idle growth is never written."""
    columns = [
        items.ids,
        lazy.ratings.rating,
        lazy.ratings.rd,
        lazy.ratings.volatility,
        lazy.views,
        lazy.rated,
        np.asarray(consensus["score"], np.float64),
        np.asarray(consensus["score_se"], np.float64),
        *(np.asarray(consensus[k], np.int64) for k in ("rank", "rank_low", "rank_high")),
    ]
    if len(items.ids):
        (_upsert_postgres if _is_postgres() else _upsert_portable)(project, columns, _COLUMNS)
        if _is_postgres():
            # A refit may have just created every item's row (a project's first fold): fresh
            # statistics, so the issuing pool's join is not planned for an empty table until
            # autovacuum's next round. Samples the table; rare (refits follow a cadence).
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {ItemRating._meta.db_table}")
    state.ssr = reliability.ssr
    state.split_half_experts = _nan_to_none(reliability.split_half_experts)
    state.split_half_judgements = _nan_to_none(reliability.split_half_judgements)
    state.experts = reliability.experts
    state.save()
    _check_consensus(project, reliability.ssr, lazy.views)


def _write_played(project: Project, *, state: RatingState, items: ProjectItems, lazy: LazyState) -> None:
    """A fold without a refit: the Glicko-2 columns of the items that played, nothing else."""
    columns = [items.ids, lazy.ratings.rating, lazy.ratings.rd, lazy.ratings.volatility, lazy.views, lazy.rated]
    if len(items.ids):
        (_upsert_postgres if _is_postgres() else _upsert_portable)(project, columns, _GLICKO_COLUMNS)
    state.save()
    _check_consensus(project, state.ssr or 0.0, lazy.views)


def _check_consensus(project: Project, ssr: float, views: np.ndarray) -> None:
    """Consensus: SSR at the project's bar and every active item at its target views. Once set,
    ``consensus_reached_at`` stays (issuing has stopped on it); an admin may clear it."""
    if project.consensus_reached_at is not None or ssr < project.consensus_min_ssr:
        return
    short = ProjectItem.objects.filter(
        project=project, is_active=True, judgement_count__lt=project.target_views_per_item
    ).exists()
    if not short and len(views):
        Project.objects.filter(pk=project.pk, consensus_reached_at__isnull=True).update(
            consensus_reached_at=timezone.now()
        )
        logger.info("project %s reached consensus (SSR %.3f)", project.slug, ssr)


def _fold(project: Project, *, from_scratch: bool) -> int:
    """Fold every closed rating period after the state's watermark. Returns periods folded.

    Refits the consensus (every item's row) when ``consensus_prefix`` of the folded count moves
    or the item set changed; otherwise reads and writes only the items the folded periods show."""
    watermark = _committed_watermark(project.pk)
    now = time.time()  # after the watermark: every judgement not yet in the log is created later
    with transaction.atomic():
        _lock_project(project.pk)
        project = Project.objects.get(pk=project.pk)
        state, _ = RatingState.objects.get_or_create(project=project)
        if from_scratch:
            state.last_judgement_id, state.periods, state.judgements = 0, 0, 0
            state.consensus_judgements, state.consensus_items = 0, ""
        params = glicko_params(project)
        pending = judgement_log(project, after_id=state.last_judgement_id, up_to_id=watermark)
        labels = period_labels(
            pending.created,
            every_judgements=project.rating_period_judgements,
            every_seconds=project.rating_period_minutes * 60.0,
        )
        done = closed_periods(
            labels,
            pending.created,
            every_judgements=project.rating_period_judgements,
            every_seconds=project.rating_period_minutes * 60.0,
            now=now,
        )
        key = _items_key(project)
        prefix = consensus_prefix(state.judgements + done, int(key.split(":")[0]))
        refit = from_scratch or prefix != state.consensus_judgements or key != state.consensus_items
        if done == 0 and not refit:
            state.period_started_at = _started(pending)
            state.save(update_fields=["period_started_at", "updated_at"])
            return 0
        folded = pending[:done]
        if refit:
            items = project_items(project)
            if from_scratch:
                n = len(items.ids)
                lazy = LazyState(initial_ratings(n, params), np.zeros(n, np.int64), np.zeros(n, np.int64))
            else:
                lazy = stored_ratings(project, items, params)
        else:
            items = shown_items(project, folded)
            lazy = stored_ratings(project, items, params)
        index_of = items.positions(folded.answers)
        fold_log(lazy, folded, labels[:done], index_of=index_of, first_period=state.periods, params=params)
        periods = len(np.unique(labels[:done]))
        if done:
            state.last_judgement_id = folded.ids[-1]
        state.periods += periods
        state.judgements += done
        state.period_started_at = _started(pending[done:])
        del pending, index_of
        if not refit:
            _write_played(project, state=state, items=items, lazy=lazy)
            return periods
        # A recompute has just read the whole log (``folded``); an incremental fold reads it here.
        whole = folded if from_scratch else judgement_log(project, after_id=0, up_to_id=state.last_judgement_id)
        covered = whole[:prefix]
        del whole, folded
        consensus, reliability = compute_consensus(project, items, covered, seed=covered.ids[-1] if covered.ids else 0)
        state.consensus_judgements, state.consensus_items = prefix, key
        del covered
        _record_convergence(project, state=state, items=items, lazy=lazy, consensus=consensus, ssr=reliability.ssr)
        _write(project, state=state, items=items, lazy=lazy, consensus=consensus, reliability=reliability)
        return periods


def _record_convergence(
    project: Project, *, state: RatingState, items: ProjectItems, lazy: LazyState, consensus: dict, ssr: float
) -> None:
    """Call at a refit, before its rows are written: how far the ratings have settled (a point of
    the dashboard's convergence plot). Rank stability compares the new consensus scores with the
    stored ones (the previous refit's) over the items viewed by both. Nothing before the first
    judgement (a project's first fold refits an empty log)."""
    if state.consensus_judgements == 0:
        return
    viewed = lazy.views > 0
    old = np.array(
        ItemRating.objects.filter(project=project, views__gt=0).values_list("item_id", "score").order_by("item_id"),
        dtype=np.float64,
    ).reshape(-1, 2)
    at = np.searchsorted(items.ids, old[:, 0].astype(np.int64))
    known = at < len(items.ids)
    known[known] = items.ids[at[known]] == old[known, 0]
    both = at[known]
    stability = spearman(old[known, 1], np.asarray(consensus["score"])[both]) if len(both) >= 3 else None
    ConvergencePoint.objects.create(
        project=project,
        judgements=state.consensus_judgements,
        periods=state.periods,
        mean_rd=float(np.mean(lazy.at(state.periods).rd[viewed])) if viewed.any() else project.glicko_initial_rd,
        mean_score_se=float(np.mean(np.asarray(consensus["score_se"])[viewed])) if viewed.any() else 0.0,
        ssr=_nan_to_none(ssr),
        rank_stability=None if stability is None else _nan_to_none(stability),
    )


def _started(log: JudgementLog) -> datetime | None:
    """When the log's first judgement was created (from the timestamp already read)."""
    if not log.ids:
        return None
    return datetime.fromtimestamp(log.created[0], tz=UTC)


def do_close_rating_periods(project_id: int) -> int:
    """Fold the closed rating periods not yet rated (the incremental path; Celery calls this).

    Idempotent: a second call with nothing new folds nothing. Returns the periods folded.
    """
    try:
        project = Project.objects.get(pk=project_id, kind=Project.Kind.RANKING)
    except Project.DoesNotExist:
        return 0
    return _fold(project, from_scratch=False)


def do_recompute_ratings(project: Project) -> int:
    """Rebuild every rating from the judgement log (``manage.py recompute_ratings``).

    Gives exactly the state the incremental path reaches on the same log. Returns periods.
    """
    return _fold(project, from_scratch=True)


def period_is_due(project: Project, pending: Sequence[tuple[int, float]]) -> bool:
    """Whether the unfolded judgements ``(id, created_at)`` already close a period."""
    created = [t for _, t in pending]
    labels = period_labels(
        created,
        every_judgements=project.rating_period_judgements,
        every_seconds=project.rating_period_minutes * 60.0,
    )
    return closed_periods(labels, created, every_judgements=project.rating_period_judgements) > 0


@dataclass(frozen=True)
class Snapshot:
    """Ratings as of one judgement id, computed from the log alone (nothing read from or written
    to the rating rows): what a dataset release publishes. Arrays follow ``item_ids``."""

    item_ids: np.ndarray
    judgements: int
    periods: int
    rating: np.ndarray
    rd: np.ndarray
    volatility: np.ndarray
    views: np.ndarray
    consensus: dict[str, np.ndarray]  # empty without judgements
    reliability: Reliability | None


def snapshot_ratings(
    project: Project, *, up_to_id: int, item_ids: Sequence[int], decisions: dict | None = None
) -> Snapshot:
    """Fold every judgement up to ``up_to_id`` from scratch into Glicko-2 ratings of ``item_ids``
    (the last rating period closed at the snapshot) and fit the consensus over the whole of it.
    Depends on the log, the item ids and the experts' ``decisions`` (a release's frozen ones)
    only, so a release rebuilt later publishes the same values."""
    items = ProjectItems(ids=np.array(sorted(item_ids), np.int64))
    params = glicko_params(project)
    log = judgement_log(project, after_id=0, up_to_id=up_to_id)
    labels = period_labels(
        log.created,
        every_judgements=project.rating_period_judgements,
        every_seconds=project.rating_period_minutes * 60.0,
    )
    n = len(items.ids)
    lazy = LazyState(initial_ratings(n, params), np.zeros(n, np.int64), np.zeros(n, np.int64))
    fold_log(lazy, log, labels, index_of=items.positions(log.answers), first_period=0, params=params)
    periods = len(np.unique(labels))
    state = lazy.at(periods)
    consensus, reliability = (
        compute_consensus(project, items, log, seed=up_to_id, decisions=decisions) if log.ids else ({}, None)
    )
    return Snapshot(
        item_ids=items.ids,
        judgements=len(log.ids),
        periods=periods,
        rating=state.rating,
        rd=state.rd,
        volatility=state.volatility,
        views=lazy.views,
        consensus=consensus,
        reliability=reliability,
    )
