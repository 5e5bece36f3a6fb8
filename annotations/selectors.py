"""Reads for tasks and judgements."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Least, TruncMonth
from django.utils import timezone

from annotations.answers import IssuedItem
from annotations.models import Judgement, Task, TaskItem
from media_ingest.models import Clip, ProjectItem
from projects.models import Project
from projects.selectors import is_member

# How many of the least-covered items are considered per request: bounded work at any size.
CANDIDATE_WINDOW = 200


def open_tasks(project: Project, expert: AbstractBaseUser) -> QuerySet[Task]:
    return Task.objects.filter(
        project=project, expert=expert, status=Task.Status.ISSUED, expires_at__gt=timezone.now()
    ).order_by("issued_at")


def held_task(task_id: object, expert: AbstractBaseUser, *, for_update: bool = False) -> Task | None:
    """The task if ``expert`` holds it: issued to them, in a project they are still a member of
    (or they are staff). Else None, so a task of someone else, or of a project the expert was
    removed from, is not revealed. ``for_update`` (inside atomic()) locks the task row only."""
    tasks = Task.objects.select_related("project")
    if for_update:
        tasks = tasks.select_for_update(of=("self",))
    try:
        task = tasks.get(pk=task_id, expert=expert)
    except (Task.DoesNotExist, ValueError, TypeError, ValidationError):
        return None
    if not (expert.is_staff or is_member(expert, task.project)):
        return None
    return task


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


@dataclass(frozen=True)
class ProjectProgress:
    project: Project
    my_judgements: int
    items: int
    answers_needed: int
    answers_done: int
    leaderboard: list[dict[str, object]]

    @property
    def percent(self) -> int:
        if not self.answers_needed:
            return 0
        return round(100 * self.answers_done / self.answers_needed)


def _display_name(row: dict[str, object]) -> str:
    first = str(row.get("expert__first_name") or "").strip()
    last = str(row.get("expert__last_name") or "").strip()
    if first or last:
        return f"{first} {last[:1]}.".strip() if last else first
    return str(row.get("expert__username"))


def _leaderboards(projects: list[Project], user: AbstractBaseUser) -> dict[int, list[dict[str, object]]]:
    """Each project's top experts by answers, for every project in one query."""
    sizes = {p.pk: p.leaderboard_size for p in projects if p.leaderboard_size > 0}
    boards: dict[int, list[dict[str, object]]] = {pk: [] for pk in sizes}
    if not sizes:
        return boards
    rows = (
        Judgement.objects.filter(project_id__in=list(sizes))
        .values("project_id", "expert_id", "expert__first_name", "expert__last_name", "expert__username")
        .annotate(judgements=Count("id"))
        .order_by("project_id", "-judgements", "expert_id")
    )
    for row in rows:
        board = boards[row["project_id"]]
        if len(board) < sizes[row["project_id"]]:
            board.append(
                {
                    "rank": len(board) + 1,
                    "name": _display_name(row),
                    "judgements": row["judgements"],
                    "me": row["expert_id"] == user.pk,
                }
            )
    return boards


def project_progress(projects: list[Project], user: AbstractBaseUser) -> list[ProjectProgress]:
    ids = [p.pk for p in projects]
    boards = _leaderboards(projects, user)
    mine = dict(
        Judgement.objects.filter(project_id__in=ids, expert=user)
        .values_list("project_id")
        .annotate(n=Count("id"))
        .values_list("project_id", "n")
    )
    coverage = {
        row["project_id"]: row
        for row in ProjectItem.objects.filter(project_id__in=ids, is_active=True, clip__status=Clip.Status.READY)
        .values("project_id")
        .annotate(
            items=Count("id"),
            done=Sum(Least(F("judgement_count"), F("project__target_views_per_item"), output_field=IntegerField())),
        )
    }
    result = []
    for project in projects:
        row = coverage.get(project.pk, {"items": 0, "done": 0})
        result.append(
            ProjectProgress(
                project=project,
                my_judgements=mine.get(project.pk, 0),
                items=row["items"],
                answers_needed=row["items"] * project.target_views_per_item,
                answers_done=row["done"] or 0,
                leaderboard=boards.get(project.pk, []),
            )
        )
    return result


def contribution_rows(user: AbstractBaseUser) -> list[dict[str, object]]:
    """The expert's judgements and time on task per month and project, newest month first."""
    rows = (
        Judgement.objects.filter(expert=user)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "project__slug", "project__title")
        .annotate(judgements=Count("id"), time_ms=Sum("time_on_task_ms"), not_sure=Count("id", filter=Q(not_sure=True)))
        .order_by("-month", "project__title")
    )
    return [
        {
            "month": row["month"].date() if hasattr(row["month"], "date") else row["month"],
            "project_slug": row["project__slug"],
            "project_title": row["project__title"],
            "judgements": row["judgements"],
            "not_sure": row["not_sure"],
            "minutes": round((row["time_ms"] or 0) / 60000, 1),
        }
        for row in rows
    ]
