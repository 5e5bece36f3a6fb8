"""The issuer of single-item projects that learn (``annotations.issuing``): the serving model
version's queue, best first.

Same rules as the least-covered issuer (``annotations.selectors.least_covered_items``): never an
inactive item, an item on a clip that is not ready, an item whose answers are complete, or one
this expert already had (unless the project asks for repeats); items someone is working on right
now go to others first. Among the rest the best-ranked wins; items of equal score go to the one
served least recently. One prepared query walks the queue's index in rank order and stops after
a window, so the cost does not grow with the queue. With learning off (``Project.queue_version`` empty: no query), no
version yet, or the queue used up (items ingested after the version), the least-covered issuer answers.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from activelearning.models import Prediction
from annotations.selectors import in_flight_params, in_flight_sql, issuable_sql, least_covered_items
from media_ingest.models import ProjectItem
from projects.models import Project

#: How many queue places one request reads, front first. Items leave the queue as their answers
#: complete (``receivers``), so the front stays issuable; past this window the least-covered
#: issuer answers until the next version.
QUEUE_WINDOW = 2000
#: Issuable places considered per request: the first free one wins; more than the items in flight.
QUEUE_CANDIDATES = 64


@cache
def _queue_sql(include_answered: bool) -> str:
    # The head of the queue is read first, through prediction_queue_idx (version, rank), and
    # materialised: left to itself the planner may read the whole version and sort it (it did,
    # 30-120 ms at 100,000 items, once statistics said few rows pass the filters). No outer ORDER
    # BY (it would check every head row before sorting): the scan of the materialised head keeps
    # its order, and the candidates are sorted by rank here anyway.
    return f"""
        WITH flight AS ({in_flight_sql()}),
        head AS MATERIALIZED (
            SELECT q.id, q.item_id, q.rank, q.uncertainty, q.diversity, q.served_at
            FROM {Prediction._meta.db_table} q
            WHERE q.version_id = %s AND q.rank IS NOT NULL
            ORDER BY q.rank
            LIMIT {QUEUE_WINDOW})
        SELECT h.id, p.id, CASE WHEN f.item_id IS NULL THEN 0 ELSE 1 END, h.uncertainty, h.diversity, h.served_at,
            h.rank
        FROM head h
        JOIN {ProjectItem._meta.db_table} p ON p.id = h.item_id
        LEFT JOIN flight f ON f.item_id = p.id
        WHERE p.is_active = %s AND p.judgement_count < %s
          AND {issuable_sql(include_answered)}
        LIMIT {QUEUE_CANDIDATES}"""  # noqa: S608


@cache
def _served_sql() -> str:
    return f"UPDATE {Prediction._meta.db_table} SET served_at = %s WHERE id = %s"  # noqa: S608


def choose(candidates: list[tuple]) -> tuple:
    """From rows (prediction id, item id, busy, uncertainty, diversity, served_at) in rank
    order: the first not in flight (else the first), and among rows of the same score as it,
    the one served least recently (never served first)."""
    free = [row for row in candidates if not row[2]] or candidates
    best = free[0]
    tied = [row for row in free if row[3] == best[3] and row[4] == best[4]]
    return min(tied, key=lambda row: (row[5] is not None, row[5] or 0))


def queued_items(project: Project, expert: AbstractBaseUser, rng: np.random.Generator) -> list[ProjectItem] | None:
    """The issuer registered for classification and keypoint projects."""
    if project.queue_version is None:
        return least_covered_items(project, expert, rng)
    params = [
        *in_flight_params(project, expert),
        project.queue_version,
        True,
        project.target_views_per_item,
        expert.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_queue_sql(not project.allow_repeats), params)
        candidates = sorted(cursor.fetchall(), key=lambda row: row[6])
        if not candidates:
            return least_covered_items(project, expert, rng)
        prediction_id, item_id, *_ = choose(candidates)
        cursor.execute(_served_sql(), [connection.ops.adapt_datetimefield_value(timezone.now()), prediction_id])
    return [ProjectItem.from_db(ProjectItem.objects.db, ["id", "project_id"], [item_id, project.pk])]
