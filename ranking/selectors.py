"""Reads for ranking: the issuing pool, the expert's judged sets, and the next batch (the issuer
registered with annotations for kind "ranking")."""

from __future__ import annotations

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotations.errors import ConsensusReached
from annotations.models import Judgement, Task, TaskItem
from media_ingest.models import Clip, ProjectItem
from projects.models import Project
from ranking.fit import FitParams
from ranking.scheduler import Pool, SchedulerParams, choose_batch

__all__ = ["issue_pool", "judged_item_sets", "next_batch", "pending_judgements"]

PRIOR_SD = FitParams().prior_sd


def judged_item_sets(project: Project, expert: AbstractBaseUser) -> set[str]:
    """Item sets this expert holds or has judged or skipped here (expired tasks do not count)."""
    return set(
        Task.objects.filter(project=project, expert=expert)
        .exclude(status=Task.Status.EXPIRED)
        .values_list("item_set_key", flat=True)
    )


def issue_pool(project: Project, expert: AbstractBaseUser, *, window: int, below_target: bool = True) -> Pool:
    """The ``window`` least-viewed active items, with score, uncertainty and views in flight.

    One query, bounded by ``window``: it walks the (project, is_active, judgement_count) index
    in order and stops, so its cost does not grow with the project. Ties in views come back in
    index order; the scheduler breaks them at random. Items in the expert's own open tasks are
    left out.
    """
    now = timezone.now()
    in_flight = (
        TaskItem.objects.filter(item=OuterRef("pk"), task__status=Task.Status.ISSUED, task__expires_at__gt=now)
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    mine = TaskItem.objects.filter(
        task__project=project, task__expert=expert, task__status=Task.Status.ISSUED, task__expires_at__gt=now
    ).values("item_id")
    rows = ProjectItem.objects.filter(project=project, is_active=True, clip__status=Clip.Status.READY).exclude(
        pk__in=mine
    )
    if below_target:
        rows = rows.filter(judgement_count__lt=project.target_views_per_item)
    rows = list(
        rows.annotate(busy=Coalesce(Subquery(in_flight, output_field=IntegerField()), 0))
        .order_by("judgement_count")
        .values_list("id", "judgement_count", "busy", "rating__score", "rating__score_se")[:window]
    )
    # Plain tuples, not model instances: building 256 models costs more than the query.
    pool = Pool(
        item=np.array([row[0] for row in rows], np.int64),
        location=np.array([0.0 if row[3] is None else row[3] for row in rows], np.float64),
        spread=np.array([PRIOR_SD if row[4] is None else row[4] for row in rows], np.float64),
        views=np.array([row[1] + row[2] for row in rows], np.int64),
    )
    return pool


def next_batch(project: Project, expert: AbstractBaseUser, rng: np.random.Generator) -> list[ProjectItem] | None:
    """The issuer for ranking projects (see annotations.issuing): the expert's next batch.

    Raises ``ConsensusReached`` once the project has reached consensus. Items below the target
    views come first; when every item has its views but consensus is not reached yet, the
    least-viewed items are shown again.
    """
    if project.consensus_reached_at is not None:
        raise ConsensusReached("This ranking has reached consensus: no more batches are needed. Thank you!")
    params = SchedulerParams(batch_size=project.batch_size)
    judged = judged_item_sets(project, expert)
    for below_target in (True, False):
        pool = issue_pool(project, expert, window=params.window, below_target=below_target)
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
