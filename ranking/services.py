"""Folding the judgement log into ratings. ``do_*`` write; every write holds the project's lock.

Locking (docs/locking.md, "Ranking"): a rating fold runs in one transaction holding the
PostgreSQL advisory lock ``(RANKING_LOCK_NAMESPACE, project id)``; before it, a short barrier
transaction takes ``SHARE`` on the judgement table to learn the highest judgement id below which
every insert has committed. On SQLite writers are serialised already and both are no-ops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from annotations.models import Judgement
from media_ingest.models import ProjectItem
from projects.models import Project
from ranking.fit import rank_breaking_weights
from ranking.glicko2 import Glicko2Params, Ratings, initial_ratings, rate_period
from ranking.models import ItemRating, RatingState
from ranking.outcomes import closed_periods, orderings_to_outcomes, period_labels
from ranking.reliability import (
    consensus_fit,
    rank_intervals,
    scale_separation_reliability,
    split_half_reliability,
)

logger = logging.getLogger(__name__)

__all__ = [
    "RANKING_LOCK_NAMESPACE",
    "do_close_rating_periods",
    "do_recompute_ratings",
    "glicko_params",
    "period_is_due",
]

#: First key of the advisory lock pair; the second is the project id.
RANKING_LOCK_NAMESPACE = 4_200_001
LOCK_TIMEOUT = "30s"
WRITE_BATCH = 2000


def glicko_params(project: Project) -> Glicko2Params:
    return Glicko2Params(
        tau=project.glicko_tau,
        initial_rating=project.glicko_initial_rating,
        initial_rd=project.glicko_initial_rd,
        initial_volatility=project.glicko_initial_volatility,
    )


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


@dataclass(frozen=True)
class _Items:
    ids: np.ndarray
    index_of: dict[int, int]


def _project_items(project: Project) -> _Items:
    ids = np.array(sorted(ProjectItem.objects.filter(project=project).values_list("id", flat=True)), np.int64)
    return _Items(ids=ids, index_of={int(pk): i for i, pk in enumerate(ids)})


def _load_ratings(project: Project, items: _Items, params: Glicko2Params) -> tuple[Ratings, np.ndarray]:
    ratings = initial_ratings(len(items.ids), params)
    views = np.zeros(len(items.ids), np.int64)
    for item_id, rating, rd, volatility, seen in ItemRating.objects.filter(project=project).values_list(
        "item_id", "rating", "rd", "volatility", "views"
    ):
        i = items.index_of.get(item_id)
        if i is not None:
            ratings.rating[i], ratings.rd[i], ratings.volatility[i], views[i] = rating, rd, volatility, seen
    return ratings, views


@dataclass(frozen=True)
class _Log:
    ids: list[int]
    experts: list[int]
    answers: list[dict]
    created: list[float]


def _read_log(project: Project, *, after_id: int, up_to_id: int) -> _Log:
    rows = (
        Judgement.objects.filter(project=project, id__gt=after_id, id__lte=up_to_id)
        .order_by("id")
        .values_list("id", "expert_id", "answer", "created_at")
    )
    log = _Log([], [], [], [])
    for pk, expert_id, answer, created in rows.iterator(chunk_size=5000):
        log.ids.append(pk)
        log.experts.append(expert_id)
        log.answers.append(answer)
        log.created.append(created.timestamp())
    return log


def _known(answers: Sequence[dict], items: _Items) -> list[dict]:
    """Orderings restricted to items still in the project (a removed item drops out of the log)."""
    return [
        {
            "ordering": [i for i in a.get("ordering", []) if i in items.index_of],
            "ties": [[i for i in g if i in items.index_of] for g in a.get("ties", [])],
        }
        for a in answers
    ]


def _fold_periods(
    ratings: Ratings, views: np.ndarray, log: _Log, *, labels: np.ndarray, items: _Items, params: Glicko2Params
) -> Ratings:
    """Rate each period of ``log`` in turn. Items never seen keep the initial state (an item
    added late is not penalised for periods before it existed, so the fold does not depend on
    when items were added)."""
    answers = _known(log.answers, items)
    indexed = orderings_to_outcomes(answers, [0] * len(answers), items.index_of)
    outcome_period = labels[indexed.judgement]
    fresh = initial_ratings(len(items.ids), params)
    for period in np.unique(labels):
        mine = np.flatnonzero(outcome_period == period)
        ratings = rate_period(ratings, indexed.outcomes.take(mine), params)
        for j in np.flatnonzero(labels == period):
            for item_id in answers[j]["ordering"]:
                views[items.index_of[item_id]] += 1
        never = views == 0
        for array, initial in zip(
            (ratings.rating, ratings.rd, ratings.volatility),
            (fresh.rating, fresh.rd, fresh.volatility),
            strict=True,
        ):
            array[never] = initial[never]
    return ratings


@dataclass(frozen=True)
class Reliability:
    ssr: float
    split_half_experts: float
    split_half_judgements: float
    experts: list[dict]


def _consensus(project: Project, items: _Items, log: _Log, seed: int) -> tuple[dict[str, np.ndarray], Reliability]:
    """The consensus fit of the whole folded log, its ranks and its reliability."""
    answers = _known(log.answers, items)
    expert_ids = sorted(set(log.experts))
    expert_index = {e: i for i, e in enumerate(expert_ids)}
    indexed = orderings_to_outcomes(answers, [expert_index[e] for e in log.experts], items.index_of)
    sizes = np.array([len(a["ordering"]) for a in answers], np.int64)
    weights = rank_breaking_weights(sizes)
    n = len(items.ids)
    fit, agreement = consensus_fit(n, indexed.outcomes, weights, indexed.expert, len(expert_ids))
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


def _write(
    project: Project,
    *,
    state: RatingState,
    items: _Items,
    ratings: Ratings,
    views: np.ndarray,
    consensus: dict[str, np.ndarray],
    reliability: Reliability,
) -> None:
    existing = {r.item_id: r for r in ItemRating.objects.filter(project=project)}
    changed, created = [], []
    for i, item_id in enumerate(items.ids.tolist()):
        row = existing.get(item_id) or ItemRating(item_id=item_id, project=project)
        row.rating, row.rd, row.volatility = (
            float(ratings.rating[i]),
            float(ratings.rd[i]),
            float(ratings.volatility[i]),
        )
        row.views = int(views[i])
        row.score, row.score_se = float(consensus["score"][i]), float(consensus["score_se"][i])
        row.rank, row.rank_low, row.rank_high = (int(consensus[k][i]) for k in ("rank", "rank_low", "rank_high"))
        (changed if row.pk else created).append(row)
    fields = ["rating", "rd", "volatility", "views", "score", "score_se", "rank", "rank_low", "rank_high", "updated_at"]
    now = timezone.now()
    for row in changed:
        row.updated_at = now
    ItemRating.objects.bulk_update(changed, fields, batch_size=WRITE_BATCH)
    ItemRating.objects.bulk_create(created, batch_size=WRITE_BATCH)
    state.ssr = reliability.ssr
    state.split_half_experts = _nan_to_none(reliability.split_half_experts)
    state.split_half_judgements = _nan_to_none(reliability.split_half_judgements)
    state.experts = reliability.experts
    state.save()
    _check_consensus(project, reliability.ssr, views)


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
    """Fold every closed rating period after the state's watermark. Returns periods folded."""
    watermark = _committed_watermark(project.pk)
    now = time.time()  # after the watermark: every judgement not yet in the log is created later
    with transaction.atomic():
        _lock_project(project.pk)
        project = Project.objects.get(pk=project.pk)
        state, _ = RatingState.objects.get_or_create(project=project)
        if from_scratch:
            state.last_judgement_id, state.periods, state.judgements = 0, 0, 0
        params = glicko_params(project)
        items = _project_items(project)
        if from_scratch:
            ratings, views = initial_ratings(len(items.ids), params), np.zeros(len(items.ids), np.int64)
        else:
            ratings, views = _load_ratings(project, items, params)
        pending = _read_log(project, after_id=state.last_judgement_id, up_to_id=watermark)
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
        if done == 0 and not from_scratch:
            state.period_started_at = _started(pending)
            state.save(update_fields=["period_started_at", "updated_at"])
            return 0
        folded = _Log(pending.ids[:done], pending.experts[:done], pending.answers[:done], pending.created[:done])
        ratings = _fold_periods(ratings, views, folded, labels=labels[:done], items=items, params=params)
        periods = len(np.unique(labels[:done]))
        if done:
            state.last_judgement_id = folded.ids[-1]
        state.periods += periods
        state.judgements += done
        rest = _Log(pending.ids[done:], pending.experts[done:], pending.answers[done:], pending.created[done:])
        state.period_started_at = _started(rest)
        # A recompute has just read the whole log (``folded``); an incremental fold reads it here.
        whole = folded if from_scratch else _read_log(project, after_id=0, up_to_id=state.last_judgement_id)
        consensus, reliability = _consensus(project, items, whole, seed=state.last_judgement_id)
        _write(
            project,
            state=state,
            items=items,
            ratings=ratings,
            views=views,
            consensus=consensus,
            reliability=reliability,
        )
        return periods


def _started(log: _Log) -> datetime | None:
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
