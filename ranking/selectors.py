"""Reads for ranking: the issuing pool, the expert's judged sets, and the next batch (the issuer
registered with annotations for kind "ranking")."""

from __future__ import annotations

from functools import cache

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from annotations.errors import ConsensusReached
from annotations.models import Judgement, Task
from annotations.selectors import in_flight_params, in_flight_sql
from media_ingest.models import Clip, ProjectItem
from projects.models import Project
from ranking.fit import FitParams
from ranking.models import ItemRating
from ranking.scheduler import Pool, SchedulerParams, choose_batch

__all__ = ["issue_pool", "judged_item_sets", "next_batch", "pending_judgements"]

PRIOR_SD = FitParams().prior_sd


def judged_item_sets(project: Project, expert: AbstractBaseUser) -> set[str]:
    """Item sets this expert holds or has judged or skipped here (expired tasks do not count).
    ``next_batch`` reads the same sets in its pool query."""
    return set(
        Task.objects.filter(project=project, expert=expert)
        .exclude(status=Task.Status.EXPIRED)
        .values_list("item_set_key", flat=True)
    )


@cache
def _pool_sql(below_target: bool, with_judged: bool) -> str:
    item, clip, rating, task = (
        ProjectItem._meta.db_table,
        Clip._meta.db_table,
        ItemRating._meta.db_table,
        Task._meta.db_table,
    )
    target = "AND p.judgement_count < %s" if below_target else ""
    # Walks item_issue_order_idx in (judgement_count, id) order and stops after the window; the
    # in-flight set is read once (a hash join), not per pool row. The expert's judged sets come
    # back in the same round trip (rows with only the last column set).
    judged = f"""
        UNION ALL
        SELECT NULL, NULL, NULL, NULL, t.item_set_key FROM {task} t
        WHERE t.expert_id = %s AND t.project_id = %s AND t.status <> '{Task.Status.EXPIRED}'"""  # noqa: S608
    return f"""
        WITH flight AS ({in_flight_sql()}),
        pool AS (
            SELECT p.id, p.judgement_count + COALESCE(f.n, 0) AS views, r.score, r.score_se
            FROM {item} p
            JOIN {clip} c ON c.id = p.clip_id
            LEFT JOIN flight f ON f.item_id = p.id
            LEFT JOIN {rating} r ON r.item_id = p.id
            WHERE p.project_id = %s AND p.is_active = %s AND c.status = '{Clip.Status.READY}' {target}
              AND (f.mine IS NULL OR f.mine = 0)
            ORDER BY p.judgement_count, p.id
            LIMIT %s)
        SELECT id, views, score, score_se, NULL FROM pool{judged if with_judged else ""}"""  # noqa: S608


def _pool_and_judged(
    project: Project, expert: AbstractBaseUser, *, window: int, below_target: bool, with_judged: bool
) -> tuple[Pool, set[str]]:
    params: list[object] = [*in_flight_params(project, expert), project.pk, True]
    if below_target:
        params.append(project.target_views_per_item)
    params.append(window)
    if with_judged:
        params += [expert.pk, project.pk]
    with connection.cursor() as cursor:
        cursor.execute(_pool_sql(below_target, with_judged), params)
        rows = cursor.fetchall()
    judged = {row[4] for row in rows if row[4] is not None}
    rows = [row for row in rows if row[4] is None]
    # Plain tuples, not model instances: building 256 models costs more than the query.
    pool = Pool(
        item=np.array([row[0] for row in rows], np.int64),
        location=np.array([0.0 if row[2] is None else row[2] for row in rows], np.float64),
        spread=np.array([PRIOR_SD if row[3] is None else row[3] for row in rows], np.float64),
        views=np.array([row[1] for row in rows], np.int64),
    )
    return pool, judged


def issue_pool(project: Project, expert: AbstractBaseUser, *, window: int, below_target: bool = True) -> Pool:
    """The ``window`` least-viewed active items, with score, uncertainty and views (answered and
    in flight). Items in the expert's own open tasks are left out.

    One query, bounded by ``window``: it walks item_issue_order_idx in order and stops, so its
    cost does not grow with the project; the project's tasks in flight are read once and joined
    (``annotations.selectors.in_flight_sql``). Ties in views come back in id order; the
    scheduler breaks them at random. A prepared SQL text: no ORM compilation per request.
    """
    pool, _ = _pool_and_judged(project, expert, window=window, below_target=below_target, with_judged=False)
    return pool


def next_batch(project: Project, expert: AbstractBaseUser, rng: np.random.Generator) -> list[ProjectItem] | None:
    """The issuer for ranking projects (see annotations.issuing): the expert's next batch.

    Raises ``ConsensusReached`` once the project has reached consensus. Items below the target
    views come first; when every item has its views but consensus is not reached yet, the
    least-viewed items are shown again. One query (the pool and the expert's judged sets, see
    ``judged_item_sets``), two when the items below the target run out.
    """
    if project.consensus_reached_at is not None:
        raise ConsensusReached("This ranking has reached consensus: no more batches are needed. Thank you!")
    params = SchedulerParams(batch_size=project.batch_size)
    judged: set[str] | None = None
    for below_target in (True, False):
        pool, sets = _pool_and_judged(
            project, expert, window=params.window, below_target=below_target, with_judged=judged is None
        )
        judged = sets if judged is None else judged
        if len(pool) < params.batch_size and below_target:
            continue
        batch = choose_batch(pool, params=params, rng=rng, exclude_sets=judged)
        if batch is not None:
            # The pool query just read these rows: deferred instances (pk and project) spare a
            # second round trip; do_issue_task needs nothing else.
            return [
                ProjectItem.from_db(ProjectItem.objects.db, ["id", "project_id"], [int(i), project.pk]) for i in batch
            ]
    return None


def pending_judgements(project_id: int, after_id: int, limit: int) -> list[tuple[int, float]]:
    """(id, created_at as a timestamp) of judgements not yet folded, oldest first, at most ``limit``."""
    rows = (
        Judgement.objects.filter(project_id=project_id, id__gt=after_id)
        .order_by("id")
        .values_list("id", "created_at")[:limit]
    )
    return [(pk, created.timestamp()) for pk, created in rows]
