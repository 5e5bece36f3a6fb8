"""Reads for tasks and judgements."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, F, IntegerField, Q, Sum
from django.db.models.functions import Least, TruncMonth
from django.utils import timezone

from annotations.answers import IssuedItem
from annotations.models import Judgement, Task, TaskItem
from media_ingest.models import Clip, ProjectItem
from projects.models import Project, ProjectMembership
from unity.prepared import columns, split_row

# How many of the least-covered items are considered per request: bounded work at any size.
CANDIDATE_WINDOW = 200


def held_task(task_id: object, expert: AbstractBaseUser, *, for_update: bool = False) -> Task | None:
    """The task if ``expert`` holds it: issued to them, in a project they are still a member of
    (or they are staff). Else None, so a task of someone else, or of a project the expert was
    removed from, is not revealed. ``for_update`` (inside atomic()) locks the task row only.

    One prepared query (``unity.prepared``): the task, its project and the membership."""
    try:
        key = task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(str(task_id))
    except (ValueError, TypeError, AttributeError):
        return None
    lock = for_update and connection.features.has_select_for_update_of
    with connection.cursor() as cursor:
        cursor.execute(_held_task_sql(lock), [expert.pk, Task._meta.pk.get_db_prep_value(key, connection), expert.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    (task, project), (is_member,) = split_row(row, _TASK, _PROJECT)
    if not (expert.is_staff or is_member):
        return None
    Task._meta.get_field("project").set_cached_value(task, project)
    return task


_TASK = columns(Task, "t")
_PROJECT = columns(Project, "pr")


@cache
def _held_task_sql(lock: bool) -> str:
    return f"""
        SELECT {_TASK.sql}, {_PROJECT.sql},
            EXISTS (SELECT 1 FROM {ProjectMembership._meta.db_table} m WHERE m.project_id = t.project_id AND m.user_id = %s)
        FROM {Task._meta.db_table} t JOIN {Project._meta.db_table} pr ON pr.id = t.project_id
        WHERE t.id = %s AND t.expert_id = %s{" FOR UPDATE OF t" if lock else ""}"""  # noqa: S608


def in_flight_sql() -> str:
    """A CTE body: (item_id, n, mine) for the items of the project's tasks in flight (issued, not
    expired), ``mine`` (1) when one of them is the expert's. Parameters, in order: expert id, project id,
    now (``in_flight_params``).

    Read once per request through ``task_in_flight_idx`` (only issued tasks enter it), then
    joined to the candidates: no per-candidate subquery over the task table.
    """
    task, task_item = Task._meta.db_table, TaskItem._meta.db_table
    # Only table names and status constants are interpolated; values go as parameters.
    return f"""
        SELECT ti.item_id, COUNT(*) AS n, MAX(CASE WHEN t.expert_id = %s THEN 1 ELSE 0 END) AS mine
        FROM {task} t JOIN {task_item} ti ON ti.task_id = t.id
        WHERE t.project_id = %s AND t.status = '{Task.Status.ISSUED}' AND t.expires_at > %s
        GROUP BY ti.item_id"""  # noqa: S608


def in_flight_params(project: Project, expert: AbstractBaseUser) -> list[object]:
    return [expert.pk, project.pk, connection.ops.adapt_datetimefield_value(timezone.now())]


def issuable_sql(include_answered: bool) -> str:
    """SQL conditions on item ``p`` shared by the issuers: its clip is ready and this expert
    (a parameter) holds no task on it, open or (``include_answered``) answered or skipped.

    Scalar subqueries: the expert's task items through the (item) index, a few rows each, then
    each task by primary key, so the planner cannot turn them into joins that read the expert's
    whole history or every clip (it did, from misestimates: 120-550 ms at 100,000 items)."""
    clip, task, task_item = Clip._meta.db_table, Task._meta.db_table, TaskItem._meta.db_table
    seen = [Task.Status.ISSUED] + ([Task.Status.ANSWERED, Task.Status.SKIPPED] if include_answered else [])
    statuses = ", ".join(f"'{status}'" for status in seen)
    return f"""(SELECT c.status FROM {clip} c WHERE c.id = p.clip_id) = '{Clip.Status.READY}'
          AND (SELECT COUNT(*) FROM {task_item} s WHERE s.item_id = p.id AND (
                SELECT st.expert_id = %s AND st.status IN ({statuses}) FROM {task} st WHERE st.id = s.task_id)) = 0"""  # noqa: S608


@cache
def _least_covered_sql(include_answered: bool) -> str:
    # Walks item_issue_order_idx in (judgement_count, id) order and stops after the window.
    return f"""
        WITH flight AS ({in_flight_sql()})
        SELECT p.id, p.judgement_count, CASE WHEN f.item_id IS NULL THEN 0 ELSE 1 END
        FROM {ProjectItem._meta.db_table} p
        LEFT JOIN flight f ON f.item_id = p.id
        WHERE p.project_id = %s AND p.is_active = %s AND p.judgement_count < %s
          AND {issuable_sql(include_answered)}
        ORDER BY p.judgement_count, p.id
        LIMIT {CANDIDATE_WINDOW}"""  # noqa: S608


def least_covered_items(
    project: Project, expert: AbstractBaseUser, rng: np.random.Generator
) -> list[ProjectItem] | None:
    """The next single item: fewest answers first, never one this expert already had (unless the
    project asks for repeats), preferring items nobody is working on right now.

    One query, cost bounded by the window at any project size (no sort of the project): a
    prepared SQL text, so no ORM compilation on the hot path."""
    sql = _least_covered_sql(not project.allow_repeats)
    params = [*in_flight_params(project, expert), project.pk, True, project.target_views_per_item, expert.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        candidates = cursor.fetchall()
    if not candidates:
        return None
    best = min((busy, count) for _, count, busy in candidates)
    tier = [pk for pk, count, busy in candidates if (busy, count) == best]
    chosen = tier[int(rng.integers(len(tier)))]
    # do_issue_task needs the pk and project only: a deferred instance spares a round trip.
    return [ProjectItem.from_db(ProjectItem.objects.db, ["id", "project_id"], [chosen, project.pk])]


# What a task shows of each item, in its order: the item's id, position and frame, and its clip.
TASK_CLIP = columns(
    Clip,
    "c",
    (
        "code", "frame_count", "frame_rate", "rows", "columns", "pixel_spacing_x_mm", "pixel_spacing_y_mm",
        "storage_prefix", "video_name", "poster_name", "frames_manifest_name",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class ShownItem:
    id: int
    position: int
    frame_index: int | None
    clip: Clip


@cache
def _task_items_sql() -> str:
    return f"""
        SELECT ti.item_id, ti.position, p.frame_index, {TASK_CLIP.sql}
        FROM {TaskItem._meta.db_table} ti
        JOIN {ProjectItem._meta.db_table} p ON p.id = ti.item_id
        JOIN {Clip._meta.db_table} c ON c.id = p.clip_id
        WHERE ti.task_id = %s ORDER BY ti.position"""  # noqa: S608


def task_items(task: Task) -> list[ShownItem]:
    """The task's items in the order shown, each with its clip (the fields ``TASK_CLIP`` names,
    the rest deferred): one prepared query."""
    with connection.cursor() as cursor:
        cursor.execute(_task_items_sql(), [Task._meta.pk.get_db_prep_value(task.pk, connection)])
        rows = cursor.fetchall()
    return [ShownItem(row[0], row[1], row[2], TASK_CLIP.load(row[3:])) for row in rows]


def issued_items(task: Task) -> list[IssuedItem]:
    return [
        IssuedItem(id=item.id, frame_count=item.clip.frame_count, width=item.clip.columns, height=item.clip.rows)
        for item in task_items(task)
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


def ready_item_count(project: Project) -> int:
    """Active items on ready clips: what issuing can hand out at all."""
    return ProjectItem.objects.filter(project=project, is_active=True, clip__status=Clip.Status.READY).count()


def ready_item_counts(projects: list[Project]) -> dict[int, int]:
    """``ready_item_count`` of many projects in one query."""
    rows = (
        ProjectItem.objects.filter(project__in=projects, is_active=True, clip__status=Clip.Status.READY)
        .values("project_id")
        .annotate(n=Count("id"))
    )
    return {row["project_id"]: row["n"] for row in rows}


def short_of_items(project: Project, ready: int | None = None) -> str:
    """Why the project cannot issue a task to anyone yet, for experts and admins alike ("" when
    it can): no ready clip, or a ranking project with fewer ready clips than its batch. ``ready``:
    the count when the caller has it (``ready_item_counts``)."""
    ready = ready_item_count(project) if ready is None else ready
    if ready == 0:
        return "No clips are ready in this project yet. Please come back later."
    if project.kind == Project.Kind.RANKING and ready < project.batch_size:
        return (
            f"Only {ready} clip{'s' if ready != 1 else ''} of this project {'is' if ready == 1 else 'are'} ready "
            f"and a ranking task shows {project.batch_size}: no task can be made yet. Please come back later."
        )
    return ""
