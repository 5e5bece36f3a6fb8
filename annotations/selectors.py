"""Reads for tasks and judgements."""

from __future__ import annotations

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from annotations.answers import IssuedItem
from annotations.models import Task, TaskItem
from media_ingest.models import Clip, ProjectItem
from projects.models import Project

# How many of the least-covered items are considered per request: bounded work at any size.
CANDIDATE_WINDOW = 200


def open_tasks(project: Project, expert: AbstractBaseUser) -> QuerySet[Task]:
    return Task.objects.filter(
        project=project, expert=expert, status=Task.Status.ISSUED, expires_at__gt=timezone.now()
    ).order_by("issued_at")


def items_seen_by(expert: AbstractBaseUser, *, include_answered: bool) -> QuerySet[TaskItem]:
    """Task items of this expert that block reissuing (open tasks, and answered/skipped ones)."""
    statuses = [Task.Status.ISSUED]
    if include_answered:
        statuses += [Task.Status.ANSWERED, Task.Status.SKIPPED]
    return TaskItem.objects.filter(task__expert=expert, task__status__in=statuses)


def least_covered_items(
    project: Project, expert: AbstractBaseUser, rng: np.random.Generator
) -> list[ProjectItem] | None:
    """The next single item: fewest answers first, never one this expert already had (unless the
    project asks for repeats), preferring items nobody is working on right now."""
    seen = items_seen_by(expert, include_answered=not project.allow_repeats).filter(item=OuterRef("pk"))
    in_flight = TaskItem.objects.filter(
        item=OuterRef("pk"), task__status=Task.Status.ISSUED, task__expires_at__gt=timezone.now()
    )
    candidates = list(
        ProjectItem.objects.filter(
            project=project,
            is_active=True,
            clip__status=Clip.Status.READY,
            judgement_count__lt=project.target_views_per_item,
        )
        .exclude(Exists(seen))
        .annotate(busy=Exists(in_flight))
        .order_by("judgement_count", "id")[:CANDIDATE_WINDOW]
    )
    if not candidates:
        return None
    best = min((item.busy, item.judgement_count) for item in candidates)
    tier = [item for item in candidates if (item.busy, item.judgement_count) == best]
    return [tier[int(rng.integers(len(tier)))]]


def issued_items(task: Task) -> list[IssuedItem]:
    rows = TaskItem.objects.filter(task=task).select_related("item__clip").order_by("position")
    return [
        IssuedItem(
            id=row.item_id,
            frame_count=row.item.clip.frame_count,
            width=row.item.clip.columns,
            height=row.item.clip.rows,
        )
        for row in rows
    ]
