"""Reads for ranking: the issuing pool, the expert's judged sets, and the next batch (the issuer
registered with annotations for kind "ranking")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from ranking.glicko2 import Glicko2Params, LazyState, Ratings, fold_periods, initial_ratings
from ranking.models import ItemRating, RatingState
from ranking.outcomes import orderings_to_outcomes, period_labels
from ranking.scheduler import Pool, SchedulerParams, choose_batch

__all__ = [
    "JudgementLog",
    "ProjectItems",
    "Provisional",
    "glicko_params",
    "issue_pool",
    "judged_item_sets",
    "judgement_log",
    "next_batch",
    "pending_judgements",
    "project_items",
    "provisional_ratings",
    "stored_ratings",
    "views_of",
]

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
    sql = _pool_sql(below_target, with_judged)
    if connection.vendor == "postgresql":
        # The filter on the expert's own in-flight items after the left join is estimated to keep
        # ~3% of the project, so the planner may sort the whole project instead of walking the
        # (judgement_count, id) index and stopping after the window: 380 ms against 4 ms at
        # 100,000 items. No sort is wanted in this query; SET LOCAL ends with the issuing transaction.
        sql = "SET LOCAL enable_sort = off; " + sql
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
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


# --- Ratings as stored, the judgement log, and provisional ratings ------------------------------


def glicko_params(project: Project) -> Glicko2Params:
    return Glicko2Params(
        tau=project.glicko_tau,
        initial_rating=project.glicko_initial_rating,
        initial_rd=project.glicko_initial_rd,
        initial_volatility=project.glicko_initial_volatility,
    )


@dataclass(frozen=True)
class ProjectItems:
    """Item ids in increasing order; an item's position is its index in the rating arrays."""

    ids: np.ndarray

    def positions(self, answers: Sequence[dict]) -> dict[int, int]:
        """Position of every item id ``answers`` show that is still in the project: the only ids
        a fold looks up (a dict of every item would hold ~105 MB at 1,000,000 items)."""
        shown = np.unique(
            np.fromiter(
                (i for a in answers for group in (a.get("ordering", []), *a.get("ties", [])) for i in group),
                np.int64,
            )
        )
        at = np.searchsorted(self.ids, shown)
        known = at < len(self.ids)
        known[known] = self.ids[at[known]] == shown[known]
        return dict(zip(shown[known].tolist(), at[known].tolist(), strict=True))


def project_items(project: Project) -> ProjectItems:
    ids = np.array(sorted(ProjectItem.objects.filter(project=project).values_list("id", flat=True)), np.int64)
    return ProjectItems(ids=ids)


READ_CHUNK = 50_000


#: Up to this many items are read by id; more, and the project's rows are read in index order.
BY_ID = 50_000


def stored_ratings(project: Project, items: ProjectItems, params: Glicko2Params) -> LazyState:
    """The stored Glicko-2 state of ``items`` (the initial state where no row exists yet), read
    in chunks straight into arrays (no model instances)."""
    n = len(items.ids)
    state = LazyState(initial_ratings(n, params), np.zeros(n, np.int64), np.zeros(n, np.int64))
    rows = ItemRating.objects.filter(project=project)
    if n <= BY_ID:
        rows = rows.filter(item_id__in=items.ids.tolist())
    query = rows.values_list("item_id", "rating", "rd", "volatility", "views", "rated_period")
    chunk: list[tuple] = []
    for row in query.iterator(chunk_size=READ_CHUNK):
        chunk.append(row)
        if len(chunk) == READ_CHUNK:
            _fill(state, items, chunk)
            chunk = []
    _fill(state, items, chunk)
    return state


def _fill(state: LazyState, items: ProjectItems, chunk: list[tuple]) -> None:
    if not chunk:
        return
    values = np.array(chunk, np.float64)
    ids = values[:, 0].astype(np.int64)
    at = np.searchsorted(items.ids, ids)
    known = (at < len(items.ids)) & (items.ids[np.minimum(at, len(items.ids) - 1)] == ids)
    at, values = at[known], values[known]
    state.ratings.rating[at], state.ratings.rd[at], state.ratings.volatility[at] = (
        values[:, 1],
        values[:, 2],
        values[:, 3],
    )
    state.views[at], state.rated[at] = values[:, 4].astype(np.int64), values[:, 5].astype(np.int64)


@dataclass(frozen=True)
class JudgementLog:
    ids: list[int]
    experts: list[int]
    answers: list[dict]
    created: list[float]

    def __getitem__(self, part: slice) -> JudgementLog:
        return JudgementLog(self.ids[part], self.experts[part], self.answers[part], self.created[part])


def judgement_log(project: Project, *, after_id: int, up_to_id: int | None = None) -> JudgementLog:
    """The project's judgements with ``after_id < id <= up_to_id``, in id order."""
    rows = Judgement.objects.filter(project=project, id__gt=after_id)
    if up_to_id is not None:
        rows = rows.filter(id__lte=up_to_id)
    log = JudgementLog([], [], [], [])
    for pk, expert_id, answer, created in (
        rows.order_by("id").values_list("id", "expert_id", "answer", "created_at").iterator(chunk_size=5000)
    ):
        log.ids.append(pk)
        log.experts.append(expert_id)
        log.answers.append(answer)
        log.created.append(created.timestamp())
    return log


def known_answers(answers: Sequence[dict], index_of: Mapping[int, int]) -> list[dict]:
    """Orderings restricted to items still in the project (a removed item drops out of the log)."""
    return [
        {
            "ordering": [i for i in a.get("ordering", []) if i in index_of],
            "ties": [[i for i in g if i in index_of] for g in a.get("ties", [])],
        }
        for a in answers
    ]


def views_of(answers: Sequence[dict], index_of: Mapping[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(item index, judgement position) of every item shown in ``answers`` (already known)."""
    item = np.fromiter((index_of[i] for a in answers for i in a["ordering"]), np.int64)
    position = np.repeat(np.arange(len(answers), dtype=np.int64), [len(a["ordering"]) for a in answers])
    return item, position


def fold_log(
    state: LazyState, log: JudgementLog, labels: np.ndarray, *, index_of: Mapping[int, int], first_period: int, params
) -> np.ndarray:
    """Rate the periods of ``log`` (labelled ``labels``) into ``state``; returns the changed items.
    The one code path of a fold, a recompute and the provisional ratings."""
    answers = known_answers(log.answers, index_of)
    indexed = orderings_to_outcomes(answers, [0] * len(answers), index_of)
    viewed, position = views_of(answers, index_of)
    return fold_periods(
        state,
        indexed.outcomes,
        labels[indexed.judgement],
        viewed,
        labels[position],
        periods=np.unique(labels),
        first_period=first_period,
        params=params,
    )


@dataclass(frozen=True)
class Provisional:
    """Glicko-2 ratings as a fold would store them if the open period closed now (nothing is
    written): the items of the unfolded orderings, and the period count they reach. Every other
    item keeps its stored state, its RD read at ``periods``."""

    periods: int
    judgements: int
    item_ids: np.ndarray
    ratings: Ratings
    views: np.ndarray

    def of(self) -> dict[int, tuple[float, float, float, int]]:
        """item id -> (rating, rd, volatility, views)."""
        r = self.ratings
        return {
            int(i): (float(r.rating[k]), float(r.rd[k]), float(r.volatility[k]), int(self.views[k]))
            for k, i in enumerate(self.item_ids.tolist())
        }


def shown_items(project: Project, log: JudgementLog) -> ProjectItems:
    """The items ``log``'s orderings show that are still in the project (one indexed read)."""
    shown = sorted({int(i) for a in log.answers for i in a.get("ordering", [])})
    alive = ProjectItem.objects.filter(project=project, id__in=shown).values_list("id", flat=True)
    return ProjectItems(ids=np.array(sorted(alive), np.int64))


def provisional_ratings(project: Project) -> Provisional:
    """Apply the unfolded judgements (the open period, and any closed period a fold has not
    reached yet) to the stored ratings in memory. Reads the unfolded log and the rows of the items
    it shows: its cost follows the open period, not the project."""
    state = RatingState.objects.filter(project=project).values_list("periods", "last_judgement_id").first()
    periods, watermark = state or (0, 0)
    log = judgement_log(project, after_id=watermark)
    items = shown_items(project, log)
    ids = items.ids
    params = glicko_params(project)
    lazy = stored_ratings(project, items, params)
    labels = period_labels(
        log.created,
        every_judgements=project.rating_period_judgements,
        every_seconds=project.rating_period_minutes * 60.0,
    )
    fold_log(lazy, log, labels, index_of=items.positions(log.answers), first_period=periods, params=params)
    reached = periods + len(np.unique(labels))
    return Provisional(
        periods=reached, judgements=len(log.ids), item_ids=ids, ratings=lazy.at(reached), views=lazy.views
    )
