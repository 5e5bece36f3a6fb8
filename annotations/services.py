"""Issuing tasks and recording judgements. ``check_*`` validates and authorises; ``do_*`` writes.

Locking (docs/locking.md): ``do_issue_next_task`` holds the expert's issuing lock (a PostgreSQL
advisory lock per expert and project) for its short transaction; ``do_submit_judgement``,
``do_skip_task`` and ``do_renew_task`` hold one row lock (the task).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from annotations.answers import AnswerError, validate_answer
from annotations.errors import (
    AlreadyAnswered,
    Busy,
    ConsensusReached,
    InvalidAnswer,
    NotFound,
    ProjectNotOpen,
    TaskClosed,
    TaskExpired,
)
from annotations.gold import gold_items
from annotations.issuing import issuer_for
from annotations.keys import item_set_key
from annotations.models import Judgement, Task, TaskItem
from annotations.selectors import held_task, issued_items, least_covered_items
from annotations.signals import judgement_recorded
from media_ingest.models import ProjectItem
from projects.models import Project, ProjectMembership
from projects.selectors import is_member

logger = logging.getLogger(__name__)

# An expert may hold a few open tasks: the one on screen and the next ones being preloaded.
MAX_OPEN_TASKS = 3
MAX_TIME_ON_TASK_MS = 6 * 3600 * 1000
MAX_FEEDBACK_CHARS = 4000
CLIENT_INFO_KEYS = ("user_agent", "viewport", "pointer", "platform", "app_version")
# Issuing holds the lock for milliseconds; a wait this long means something is stuck.
ISSUING_LOCK_TIMEOUT = "10s"


def check_can_work(project: Project, expert: AbstractBaseUser, *, member: bool | None = None) -> None:
    """Members (and staff) may work on an open project; others get 404 (it is not theirs).
    ``member``: the membership when the caller already read it (None: read it here)."""
    if not expert.is_authenticated:
        raise NotFound("No such project.")
    if not (expert.is_staff or (is_member(expert, project) if member is None else member)):
        raise NotFound("No such project.")
    if project.status != Project.Status.OPEN:
        raise ProjectNotOpen(f"This project is {project.get_status_display().lower()}: it takes no more answers.")


def do_issue_task(
    project: Project, *, expert: AbstractBaseUser, items: list[ProjectItem], rng: np.random.Generator
) -> Task:
    """Record that ``items`` (shown in a shuffled order) were issued to ``expert`` now.

    PostgreSQL: the task and its items in one statement (a data-modifying CTE), one round trip.
    """
    if not items:
        raise ValueError("a task needs at least one item")
    now = timezone.now()
    task = Task(
        project=project,
        expert=expert,
        item_set_key=item_set_key(item.pk for item in items),
        issued_at=now,
        expires_at=now + timedelta(minutes=project.task_timeout_minutes),
    )
    order = rng.permutation(len(items)) if len(items) > 1 else [0]
    item_ids = [int(items[int(index)].pk) for index in order]
    if connection.vendor != "postgresql":
        task.save(force_insert=True)
        TaskItem.objects.bulk_create(
            [TaskItem(task=task, item_id=item_id, position=position) for position, item_id in enumerate(item_ids)]
        )
        return task
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_TASK_SQL,
            [
                task.pk,
                project.pk,
                expert.pk,
                task.status,
                task.item_set_key,
                task.issued_at,
                task.expires_at,
                task.pk,
                item_ids,
                list(range(len(item_ids))),
            ],
        )
    task._state.adding = False
    task._state.db = connection.alias
    return task


_INSERT_TASK_SQL = f"""
    WITH task AS (
        INSERT INTO {Task._meta.db_table}
            (id, project_id, expert_id, status, item_set_key, skip_reason, issued_at, expires_at, closed_at)
        VALUES (%s, %s, %s, %s, %s, '', %s, %s, NULL))
    INSERT INTO {TaskItem._meta.db_table} (task_id, item_id, position)
    SELECT %s, item_id, position FROM unnest(%s::bigint[], %s::int[]) AS issued (item_id, position)
"""  # noqa: S608


def do_issue_next_task(
    project: Project,
    *,
    expert: AbstractBaseUser,
    rng: np.random.Generator,
    exclude_task_ids: list[str] | None = None,
) -> Task | None:
    """The expert's next task: an open one they do not already hold on screen, else a new one.

    Returns None when nothing is left for this expert. Raises ``ProjectNotOpen``/``NotFound``.
    """
    exclude = {str(task_id) for task_id in exclude_task_ids or []}
    with transaction.atomic():
        member, stopped = _lock_issuing(project, expert)
        check_can_work(project, expert, member=member)
        current = _current_tasks(project, expert)
        for task in current:
            if str(task.pk) not in exclude:
                task.project = project  # the payload reads it; no second query, no row lock
                return task
        if len(current) >= MAX_OPEN_TASKS or stopped:
            return None  # stopped: the admin's decision, or a flag under the project's setting
        issuer = issuer_for(project.kind) or least_covered_items
        # Gold items at the project's rate (no query at rate 0), else the kind's issuer.
        items = gold_items(project, expert, rng) or issuer(project, expert, rng)
        if not items:
            return None
        return do_issue_task(project, expert=expert, items=items, rng=rng)


def _current_tasks(project: Project, expert: AbstractBaseUser) -> list[Task]:
    """Call under the issuing lock: the expert's open tasks here, rows locked (a task being
    answered or skipped at this instant is not handed back); overdue ones are marked expired
    now, in the same read (no separate UPDATE per request unless one is overdue)."""
    issued = list(
        Task.objects.filter(project=project, expert=expert, status=Task.Status.ISSUED)
        .order_by("issued_at")
        .select_for_update()
    )
    now = timezone.now()
    overdue = [task.pk for task in issued if task.expires_at <= now]
    if overdue:
        Task.objects.filter(pk__in=overdue).update(status=Task.Status.EXPIRED, closed_at=now)
    return [task for task in issued if task.expires_at > now]


def issuing_lock_key(project: Project, expert: AbstractBaseUser) -> int:
    """The 64-bit advisory lock key of issuing for this expert in this project (docs/locking.md)."""
    return ((project.pk & 0x7FFFFFFF) << 32) | (expert.pk & 0xFFFFFFFF)


def _lock_issuing(project: Project, expert: AbstractBaseUser) -> tuple[bool | None, bool]:
    """Call inside atomic(), first: serialise issuing for this expert in this project until
    commit, so parallel "next" requests each see the tasks the others issued (the open-task
    limit holds, no item set goes twice to one expert). Raises ``Busy`` after a long wait.
    Returns whether the expert is a member of the project (PostgreSQL: read in the same round
    trip; SQLite: None, not read) and whether new tasks are stopped for them
    (``ProjectMembership.issuing_stopped``: excluded by the admin, or flagged while the project
    stops issuing to flagged experts).

    PostgreSQL: ``pg_advisory_xact_lock`` on one 64-bit key, project id in the high half and
    user id in the low half (ids past 2**31 fold onto others: more waiting, never less
    safety). The one-key space does not overlap the two-key locks ranking takes. The lock is
    its own statement, before any read of tasks: a later statement's snapshot then sees what
    the previous holder committed. SQLite: nothing to do, IMMEDIATE transactions already
    serialise every writer.
    """
    if connection.vendor != "postgresql":
        membership = ProjectMembership.objects.filter(project=project, user_id=expert.pk).first()
        if membership is not None:
            membership.project = project
        return None, membership is not None and membership.issuing_stopped
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                _LOCK_ISSUING_SQL,
                [issuing_lock_key(project, expert), project.stop_issuing_flagged, expert.pk, project.pk],
            )
            _, member, stopped = cursor.fetchone()
            return bool(member), bool(stopped)
    except OperationalError:
        logger.warning("issuing lock for project %s, expert %s not granted in time", project.pk, expert.pk)
        raise Busy("Too many requests at once: please try again in a moment.") from None


# Statements in one round trip (psycopg2 sends them as one simple query; the result is the
# last one's): the lock timeout, no JIT for this transaction (the issuing queries' per-candidate
# subqueries look costly to the planner, and compiling them took ~190 ms for a 1 ms query),
# then the lock, the membership and whether issuing is stopped for it (ProjectMembership.issuing_stopped).
_LOCK_ISSUING_SQL = f"""
    SET LOCAL lock_timeout = '{ISSUING_LOCK_TIMEOUT}';
    SET LOCAL jit = off;
    SELECT pg_advisory_xact_lock(%s), m.id IS NOT NULL,
        COALESCE(m.standing = 'excluded' OR (m.standing = 'auto' AND m.flagged AND %s), false)
    FROM (SELECT 1) AS one
    LEFT JOIN {ProjectMembership._meta.db_table} AS m ON m.user_id = %s AND m.project_id = %s
"""  # noqa: S608


def _locked_task(task_id: object, expert: AbstractBaseUser) -> Task:
    """Call inside atomic(): the task, its row locked, if the expert holds it (``held_task``);
    else ``NotFound``, also for an expert removed from the project since it was issued."""
    task = held_task(task_id, expert, for_update=True)
    if task is None:
        raise NotFound("No such task.")
    return task


def _held_ms(task: Task) -> int:
    """How long the expert has held the task: from its issue to now."""
    return max(0, int((timezone.now() - task.issued_at).total_seconds() * 1000))


def _client_info(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    return {key: str(raw[key])[:300] for key in CLIENT_INFO_KEYS if key in raw}


def do_submit_judgement(
    task_id: object,
    *,
    expert: AbstractBaseUser,
    answer: object,
    not_sure: bool = False,
    feedback: str = "",
    time_on_task_ms: int = 0,
    client_info: object = None,
) -> tuple[Judgement, bool]:
    """Record the expert's answer to the task. Idempotent: replaying the same answer returns the
    recorded judgement with ``created=False``; a different answer to an answered task is refused.
    Nothing is written when any check fails.

    ``time_on_task_ms`` is the client's claim; what is stored is measured against the task: at
    most the time since it was issued (renewals extend the deadline, not this) and at most
    ``MAX_TIME_ON_TASK_MS``.
    """
    with transaction.atomic():
        task = _locked_task(task_id, expert)
        project = task.project
        try:
            items = issued_items(task)
            normalised = validate_answer(project.kind, answer, items, project.label_schema)
        except AnswerError as exc:
            raise InvalidAnswer(str(exc)) from None
        if task.status == Task.Status.ANSWERED:
            existing = task.judgement
            if existing.answer == normalised and existing.not_sure == bool(not_sure):
                return existing, False
            raise AlreadyAnswered("This task was already answered; your earlier answer is kept.")
        if task.status == Task.Status.SKIPPED:
            raise TaskClosed("This task was skipped.")
        if task.status == Task.Status.EXPIRED or task.expires_at <= timezone.now():
            raise TaskExpired("This task expired before the answer arrived; please take the next one.")
        if project.status != Project.Status.OPEN:
            raise ProjectNotOpen("This project no longer takes answers.")
        if project.consensus_reached_at is not None:
            raise ConsensusReached(
                "The experts have reached consensus on this project: thank you, no more answers needed."
            )
        if not isinstance(time_on_task_ms, int) or isinstance(time_on_task_ms, bool) or time_on_task_ms < 0:
            raise InvalidAnswer("time_on_task_ms must be a non-negative whole number")
        judgement = Judgement.objects.create(
            task=task,
            project=project,
            expert=expert,
            answer=normalised,
            not_sure=bool(not_sure),
            feedback=(feedback or "")[:MAX_FEEDBACK_CHARS],
            time_on_task_ms=min(time_on_task_ms, _held_ms(task), MAX_TIME_ON_TASK_MS),
            client_info=_client_info(client_info),
        )
        _close_answered(task, [item.id for item in items])
        # robust: the judgement is committed whatever a listener does (a broker outage must not
        # turn a recorded answer into an error for the expert); periodic jobs catch up.
        transaction.on_commit(lambda: judgement_recorded.send(sender=Judgement, judgement=judgement), robust=True)
    return judgement, True


def _close_answered(task: Task, item_ids: list[int]) -> None:
    """Call in the judgement's transaction: the task answered, its items counted once more.
    PostgreSQL: both updates in one statement (one round trip)."""
    task.status = Task.Status.ANSWERED
    task.closed_at = timezone.now()
    if connection.vendor != "postgresql":
        task.save(update_fields=["status", "closed_at"])
        ProjectItem.objects.filter(pk__in=item_ids).update(judgement_count=F("judgement_count") + 1)
        return
    with connection.cursor() as cursor:
        cursor.execute(_CLOSE_ANSWERED_SQL, [task.status, task.closed_at, task.pk, item_ids])


# The items' rows are locked in id order before they are counted: two ranking batches sharing
# items, answered at once, would otherwise lock them in whatever order each plan visits them and
# could deadlock (seen once in tests/test_issuing_concurrency.py).
_CLOSE_ANSWERED_SQL = f"""
    WITH answered AS (UPDATE {Task._meta.db_table} SET status = %s, closed_at = %s WHERE id = %s),
    locked AS (SELECT id FROM {ProjectItem._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE)
    UPDATE {ProjectItem._meta.db_table} SET judgement_count = judgement_count + 1 WHERE id IN (SELECT id FROM locked)
"""  # noqa: S608


def do_skip_task(task_id: object, *, expert: AbstractBaseUser, reason: str) -> Task:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidAnswer("Say why you skip (for example: poor image quality, wrong view).")
    with transaction.atomic():
        task = _locked_task(task_id, expert)
        if task.status == Task.Status.SKIPPED:
            return task
        if task.status != Task.Status.ISSUED:
            raise TaskClosed(f"This task is already {task.get_status_display().lower()}.")
        task.status = Task.Status.SKIPPED
        task.skip_reason = reason[:200]
        task.closed_at = timezone.now()
        task.save(update_fields=["status", "skip_reason", "closed_at"])
    return task


def do_renew_task(task_id: object, *, expert: AbstractBaseUser) -> Task:
    """Push the deadline of a task the expert has on screen to now + the project's timeout.

    The labelling screen renews when it shows a task and while the expert works on it, so a long
    tracing never expires under the expert's hands; a prefetched task's clock starts when it is
    shown. An expired task stays expired (its items may already be with someone else)."""
    with transaction.atomic():
        task = _locked_task(task_id, expert)
        if task.status != Task.Status.ISSUED:
            raise TaskClosed(f"This task is already {task.get_status_display().lower()}.")
        now = timezone.now()
        if task.expires_at <= now:
            raise TaskExpired("This task expired before the answer arrived; please take the next one.")
        task.expires_at = now + timedelta(minutes=task.project.task_timeout_minutes)
        task.save(update_fields=["expires_at"])
    return task


def do_expire_overdue_tasks(*, project: Project | None = None, expert: AbstractBaseUser | None = None) -> int:
    """Mark issued tasks past their deadline as expired, so their items are issued again."""
    overdue = Task.objects.filter(status=Task.Status.ISSUED, expires_at__lte=timezone.now())
    if project is not None:
        overdue = overdue.filter(project=project)
    if expert is not None:
        overdue = overdue.filter(expert=expert)
    return overdue.update(status=Task.Status.EXPIRED, closed_at=timezone.now())


def do_recompute_judgement_counts(project: Project) -> int:
    """Rebuild ProjectItem.judgement_count from the judgement log. Returns items changed."""
    changed = 0
    with transaction.atomic():
        counts: dict[int, int] = {}
        for item_id in TaskItem.objects.filter(task__project=project, task__status=Task.Status.ANSWERED).values_list(
            "item_id", flat=True
        ):
            counts[item_id] = counts.get(item_id, 0) + 1
        for item in ProjectItem.objects.filter(project=project).select_for_update():
            expected = counts.get(item.pk, 0)
            if item.judgement_count != expected:
                item.judgement_count = expected
                item.save(update_fields=["judgement_count"])
                changed += 1
    return changed
