"""Reads for review: who may review, the review list, one item's answers, feedback and skips.

The review list is ordered by a per-item disagreement figure over the whole project: computed by
one aggregate in the database (PostgreSQL; the embedded SQLite default computes it in Python),
returned as one small row per item and cached per project (``cached_review_order``; computed and
kept by ``services.do_refresh_review_order``, in the worker once a first view made it). Everything
a page shows beyond that order is read for the page's items only, so a page costs the same few
queries at 100 items or 100,000.
"""

from __future__ import annotations

import base64
import json
import posixpath
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from itertools import groupby
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache as django_cache
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import CharField, Max, Value
from django.http import Http404
from django.utils import timezone

from annotations.models import Adjudication, Judgement, Task, TaskItem
from media_ingest.models import Clip, ProjectItem
from projects.models import Project, ProjectMembership
from projects.selectors import get_project_for
from quality.review import figures
from quality.selectors import dashboard_key
from ranking.glicko2 import grown_rd
from ranking.models import ItemRating, RatingState, idle_periods

REVIEW_ROLES = (ProjectMembership.Role.REVIEWER, ProjectMembership.Role.LEAD)
PAGE_SIZE = 50
# The order is recomputed (by the worker) when a judgement arrived since, but at most this often:
# while experts answer, a reviewer paging through the list sees one order for a while, and the
# database runs the aggregate at most once per this many seconds per project.
ORDER_FRESH_SECONDS = 60
ORDER_CACHE_SECONDS = 60 * 60
# The aggregate sorts every answer once: room to sort in memory rather than in temporary files.
ORDER_WORK_MEM = "64MB"
# An item's page reads at most this many of its newest answers (a ranking item's orderings).
MAX_ITEM_ANSWERS = 200
# Distinguishable on a dark echo image and on white (Okabe-Ito, then a few more).
PALETTE = (
    "#e69f00",
    "#56b4e9",
    "#009e73",
    "#f0e442",
    "#d55e00",
    "#cc79a7",
    "#ffffff",
    "#0072b2",
    "#9467bd",
    "#8c564b",
)
DECISION_FILTERS = ("", "undecided", "decided", *Adjudication.Decision.values)


# --- who may review -----------------------------------------------------------------------------
def is_reviewer(user: AbstractBaseUser | AnonymousUser, project: Project) -> bool:
    """Staff, or a member of the project whose role is reviewer or lead expert."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return ProjectMembership.objects.filter(project=project, user=user, role__in=REVIEW_ROLES).exists()


def reviewable_project(user: AbstractBaseUser | AnonymousUser, slug: str) -> Project:
    """The project if ``user`` may review it; 404 for anyone else (as for any project page)."""
    project = get_project_for(user, slug)
    if not is_reviewer(user, project):
        raise Http404("No such project")
    return project


def display_name(first: str, last: str, username: str) -> str:
    full = f"{first} {last}".strip()
    return full or username


# --- the review list ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewOrder:
    """Every item with answers, most disagreeing first (ties: more answers first, then item id)."""

    item_ids: np.ndarray
    scores: np.ndarray
    answers: np.ndarray
    feedback: np.ndarray  # bool: an answer on the item carries feedback
    last_judgement_id: int
    computed_at: datetime


def _last_judgement_id(project: Project) -> int:
    return Judgement.objects.filter(project=project).order_by("-id").values_list("id", flat=True).first() or 0


def review_order_key(project: Project) -> str:
    return f"quality:review-order:{dashboard_key(project)}"


def cached_review_order(project: Project) -> ReviewOrder | None:
    return django_cache.get(review_order_key(project))


def order_is_stale(project: Project, order: ReviewOrder) -> bool:
    """A judgement arrived since the order was computed, and it is older than ORDER_FRESH_SECONDS."""
    old = timezone.now() - order.computed_at > timedelta(seconds=ORDER_FRESH_SECONDS)
    return old and _last_judgement_id(project) != order.last_judgement_id


def compute_review_order(project: Project, *, in_python: bool = False) -> ReviewOrder:
    """``in_python``: the portable path (what SQLite takes), for tests to compare with the SQL."""
    last = _last_judgement_id(project)
    if project.kind == Project.Kind.RANKING:
        rows = _ranking_rows(project)
    elif connection.vendor == "postgresql" and not in_python:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{ORDER_WORK_MEM}'")
            cursor.execute(_score_sql(project.kind), [project.pk])
            rows = cursor.fetchall()
    else:
        rows = _python_rows(project)
    ids = np.array([r[0] for r in rows], np.int64)
    answers = np.array([r[1] for r in rows], np.int64)
    scores = np.array([r[2] for r in rows], np.float64)
    order = np.lexsort((ids, -answers, -scores))
    ids, answers, scores = ids[order], answers[order], scores[order]
    return ReviewOrder(
        item_ids=ids,
        scores=scores,
        answers=answers,
        feedback=np.isin(ids, _feedback_item_ids(project)),
        last_judgement_id=last,
        computed_at=timezone.now(),
    )


def _latest_sql() -> str:
    """Each expert's latest answer on each item (a corrected answer never counts)."""
    judgement, task_item = Judgement._meta.db_table, TaskItem._meta.db_table
    return f"""
        SELECT DISTINCT ON (ti.item_id, j.expert_id) ti.item_id, j.answer
        FROM {judgement} j JOIN {task_item} ti ON ti.task_id = j.task_id
        WHERE j.project_id = %s AND NOT EXISTS (SELECT 1 FROM {judgement} c WHERE c.supersedes_id = j.id)
        ORDER BY ti.item_id, j.expert_id, j.id DESC"""  # noqa: S608


# The same figures as quality.review.figures, per kind (item_id, score): see its docstring.
_SPREAD_SQL = {
    Project.Kind.CLASSIFICATION: """
        SELECT item_id, 1.0 - max(n)::float8 / sum(n) AS score FROM (
            SELECT item_id, count(*) AS n FROM latest
            WHERE answer->>'class' IS DISTINCT FROM 'not_sure' GROUP BY item_id, answer->>'class') votes
        GROUP BY item_id""",
    Project.Kind.KEYPOINTS: """
        SELECT item_id, avg(d) AS score FROM (
            SELECT item_id, count(*) OVER w AS k,
                sqrt(power(x - avg(x) OVER w, 2) + power(y - avg(y) OVER w, 2)) AS d
            FROM (
                SELECT l.item_id, e.key AS label,
                    (SELECT avg((p->>0)::float8) FROM jsonb_array_elements(e.value->'points') p) AS x,
                    (SELECT avg((p->>1)::float8) FROM jsonb_array_elements(e.value->'points') p) AS y
                FROM latest l CROSS JOIN LATERAL jsonb_each(l.answer->'labels') e
                WHERE e.value->>'state' = 'placed' AND jsonb_array_length(e.value->'points') > 0) placed
            WINDOW w AS (PARTITION BY item_id, label)) centred
        WHERE k > 1 GROUP BY item_id""",
    Project.Kind.TEMPORAL: """
        SELECT item_id, avg(r)::float8 AS score FROM (
            SELECT l.item_id, max((e->>'frame')::int) - min((e->>'frame')::int) AS r, count(*) AS k
            FROM latest l CROSS JOIN LATERAL jsonb_array_elements(l.answer->'events') e
            GROUP BY l.item_id, e->>'key', (e->>'beat')::int) marks
        WHERE k > 1 GROUP BY item_id""",
}
# An item with no figure: classification answers all "not sure" (1), otherwise nothing to compare (0).
_NO_SPREAD = {Project.Kind.CLASSIFICATION: 1.0, Project.Kind.KEYPOINTS: 0.0, Project.Kind.TEMPORAL: 0.0}


@cache
def _score_sql(kind: str) -> str:
    return f"""
        WITH latest AS ({_latest_sql()}), spread AS ({_SPREAD_SQL[kind]})
        SELECT a.item_id, a.n, COALESCE(s.score, {_NO_SPREAD[kind]})
        FROM (SELECT item_id, count(*) AS n FROM latest GROUP BY item_id) a
        LEFT JOIN spread s ON s.item_id = a.item_id"""  # noqa: S608


def _python_rows(project: Project) -> list[tuple[int, int, float]]:
    rows = (
        TaskItem.objects.filter(task__judgement__project=project, task__judgement__corrections__isnull=True)
        .order_by("item_id", "task__judgement__id")
        .values_list("item_id", "task__judgement__expert_id", "task__judgement__answer")
    )
    found = []
    for item_id, group in groupby(rows.iterator(chunk_size=5000), key=lambda row: row[0]):
        latest = {expert: answer for _, expert, answer in group}
        found.append((item_id, len(latest), figures.disagreement(project.kind, list(latest.values()))))
    return found


def _ranking_rows(project: Project) -> list[tuple[int, int, float]]:
    """Ranking items by their rating's RD now (an item not yet rated: the initial RD)."""
    periods = RatingState.objects.filter(project=project).values_list("periods", flat=True).first() or 0
    rated = list(
        ItemRating.objects.filter(project=project).values_list("item_id", "rd", "volatility", "rated_period", "views")
    )
    rd: dict[int, float] = {}
    if rated:
        table = np.array([r[1:] for r in rated], np.float64)
        grown = grown_rd(table[:, 0], table[:, 1], idle_periods(periods, table[:, 2], table[:, 3]))
        rd = dict(zip((r[0] for r in rated), grown.tolist(), strict=True))
    seen = ProjectItem.objects.filter(project=project, judgement_count__gt=0).values_list("id", "judgement_count")
    return [(pk, n, rd.get(pk, project.glicko_initial_rd)) for pk, n in seen.iterator(chunk_size=5000)]


def _feedback_item_ids(project: Project) -> np.ndarray:
    ids = (
        TaskItem.objects.filter(task__project=project, task__judgement__feedback__gt="")
        .values_list("item_id", flat=True)
        .distinct()
    )
    return np.array(list(ids), np.int64)


def latest_decisions(project: Project, item_ids: list[int] | None = None) -> dict[int, Adjudication]:
    """Item id -> its latest adjudication (the decision), for ``item_ids`` or every decided item."""
    decided = Adjudication.objects.filter(project=project)
    if item_ids is not None:
        decided = decided.filter(item_id__in=item_ids)
    last = decided.values("item_id").annotate(last=Max("id")).values_list("last", flat=True)
    rows = Adjudication.objects.filter(pk__in=list(last)).select_related("reviewer")
    return {row.item_id: row for row in rows}


def _decided_ids(project: Project, decision: str) -> np.ndarray:
    latest = Adjudication.objects.filter(project=project).values("item_id").annotate(last=Max("id")).values("last")
    rows = Adjudication.objects.filter(pk__in=latest)
    if decision in Adjudication.Decision.values:
        rows = rows.filter(decision=decision)
    return np.array(list(rows.values_list("item_id", flat=True)), np.int64)


@dataclass(frozen=True)
class ReviewRow:
    item_id: int
    clip_code: str
    frame_index: int | None
    answers: int
    score: float
    feedback: bool
    decision: Adjudication | None


@dataclass(frozen=True)
class ReviewPage:
    rows: list[ReviewRow]
    total: int
    page: int
    pages: int
    computed_at: datetime


def review_page(
    project: Project,
    ranked: ReviewOrder,
    *,
    decision: str = "",
    feedback: bool = False,
    order: str = "disagreement",
    page: int = 1,
) -> ReviewPage:
    """One page of ``ranked`` (the project's order), filtered; decisions and items read for the page."""
    keep = np.ones(len(ranked.item_ids), bool)
    if feedback:
        keep &= ranked.feedback
    if decision == "undecided":
        keep &= ~np.isin(ranked.item_ids, _decided_ids(project, ""))
    elif decision:
        keep &= np.isin(ranked.item_ids, _decided_ids(project, "" if decision == "decided" else decision))
    chosen = np.flatnonzero(keep)
    if order == "item":
        chosen = chosen[np.argsort(ranked.item_ids[chosen], kind="stable")]
    total = len(chosen)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    ids = [int(ranked.item_ids[k]) for k in shown]
    items = {pk: (code, frame) for pk, code, frame in _items(ids)}
    decisions = latest_decisions(project, ids)
    rows = [
        ReviewRow(
            item_id=int(ranked.item_ids[k]),
            clip_code=items.get(int(ranked.item_ids[k]), ("", None))[0],
            frame_index=items.get(int(ranked.item_ids[k]), ("", None))[1],
            answers=int(ranked.answers[k]),
            score=float(ranked.scores[k]),
            feedback=bool(ranked.feedback[k]),
            decision=decisions.get(int(ranked.item_ids[k])),
        )
        for k in shown
    ]
    return ReviewPage(rows=rows, total=total, page=page, pages=pages, computed_at=ranked.computed_at)


def _items(ids: list[int]) -> list[tuple[int, str, int | None]]:
    return list(ProjectItem.objects.filter(pk__in=ids).values_list("id", "clip__code", "frame_index"))


# --- one item -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpertAnswer:
    judgement_id: int
    expert_id: int
    name: str
    colour: str
    answer: dict[str, Any]
    not_sure: bool
    feedback: str
    time_on_task_ms: int
    created_at: datetime
    corrects: bool  # a correction of an earlier answer
    item_set_key: str

    @property
    def seconds(self) -> float:
        return self.time_on_task_ms / 1000


@dataclass
class ItemReview:
    project: Project
    item: ProjectItem
    answers: list[ExpertAnswer]
    decisions: list[Adjudication]
    experts: list[tuple[str, str]] = field(default_factory=list)  # (name, colour), legend order

    @property
    def current(self) -> Adjudication | None:
        return self.decisions[0] if self.decisions else None


def review_item(project: Project, item_id: int) -> ItemReview:
    """The item, each expert's latest answer on it (ranking: each expert's latest ordering of each
    batch holding it), colours per expert in the order they first answered, and its decisions."""
    item = ProjectItem.objects.select_related("clip").filter(project=project, pk=item_id).first()
    if item is None:
        raise Http404("No such item")
    rows = list(
        Judgement.objects.filter(project=project, task__task_items__item_id=item.pk, corrections__isnull=True)
        .order_by("-id")
        .values_list(
            "id",
            "expert_id",
            "expert__first_name",
            "expert__last_name",
            "expert__username",
            "answer",
            "not_sure",
            "feedback",
            "time_on_task_ms",
            "created_at",
            "supersedes_id",
            "task__item_set_key",
        )[:MAX_ITEM_ANSWERS]
    )
    rows.reverse()
    colours: dict[int, tuple[str, str]] = {}
    latest: dict[tuple[str, int], ExpertAnswer] = {}
    for pk, expert, first, last, username, answer, not_sure, feedback, ms, created, corrects, key in rows:
        if expert not in colours:
            colours[expert] = (display_name(first, last, username), PALETTE[len(colours) % len(PALETTE)])
        name, colour = colours[expert]
        batch = key if project.kind == Project.Kind.RANKING else ""
        latest.pop((batch, expert), None)  # re-inserted: the dict keeps answer order
        latest[(batch, expert)] = ExpertAnswer(
            pk, expert, name, colour, answer, not_sure, feedback, ms, created, corrects is not None, key
        )
    decisions = list(
        Adjudication.objects.filter(project=project, item=item).select_related("reviewer").order_by("-id")[:50]
    )
    return ItemReview(
        project=project,
        item=item,
        answers=sorted(latest.values(), key=lambda a: (list(colours).index(a.expert_id), a.judgement_id)),
        decisions=decisions,
        experts=list(colours.values()),
    )


def frame_data_uri(clip: Clip, frame: int) -> str:
    """The frame's JPEG (from the clip's frame chunks) as a data: URI, or "" when it cannot be read."""
    try:
        with default_storage.open(clip.frames_manifest_name, "rb") as handle:
            manifest = json.load(handle)
        for chunk in manifest["chunks"]:
            first, spans = int(chunk["first_frame"]), chunk["frames"]
            if first <= frame < first + len(spans):
                offset, length = spans[frame - first]
                name = posixpath.join(posixpath.dirname(clip.frames_manifest_name), chunk["name"])
                with default_storage.open(name, "rb") as handle:
                    handle.seek(int(offset))
                    data = handle.read(int(length))
                return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return ""


@dataclass(frozen=True)
class ShownClip:
    item_id: int
    code: str
    has_poster: bool


def clips_of(item_ids: list[int]) -> dict[int, ShownClip]:
    rows = ProjectItem.objects.filter(pk__in=item_ids).values_list("id", "clip__code", "clip__poster_name")
    return {pk: ShownClip(pk, code, bool(poster)) for pk, code, poster in rows}


@dataclass(frozen=True)
class CurrentRating:
    rating: float
    rd: float
    views: int
    rank: int | None
    rank_low: int | None
    rank_high: int | None


def current_rating(item: ProjectItem) -> CurrentRating | None:
    row = ItemRating.objects.filter(item=item).first()
    if row is None:
        return None
    periods = RatingState.objects.filter(project_id=item.project_id).values_list("periods", flat=True).first() or 0
    return CurrentRating(row.rating, row.effective_rd(periods), row.views, row.rank, row.rank_low, row.rank_high)


# --- feedback and skips -------------------------------------------------------------------------
FEEDBACK_KINDS = ("", "feedback", "skip")


@dataclass(frozen=True)
class NoteRow:
    kind: str  # "feedback" or "skip"
    at: datetime
    expert: str
    text: str
    task_id: object
    item_ids: list[int]


@dataclass(frozen=True)
class NotePage:
    rows: list[NoteRow]
    total: int
    page: int
    pages: int


def feedback_page(
    project: Project, *, expert_id: int | None = None, kind: str = "", text: str = "", page: int = 1
) -> NotePage:
    """Judgements with feedback and skipped tasks, newest first: one UNION query for the page, one
    count per source, then the page's items and experts."""
    notes = Judgement.objects.filter(project=project, feedback__gt="")
    skips = Task.objects.filter(project=project, status=Task.Status.SKIPPED)
    if expert_id is not None:
        notes, skips = notes.filter(expert_id=expert_id), skips.filter(expert_id=expert_id)
    if text:
        notes, skips = notes.filter(feedback__icontains=text), skips.filter(skip_reason__icontains=text)
    parts = []
    if kind in ("", "feedback"):
        parts.append(
            notes.values_list(
                Value("feedback", output_field=CharField()), "created_at", "expert_id", "feedback", "task_id"
            )
        )
    if kind in ("", "skip"):
        parts.append(
            skips.values_list(Value("skip", output_field=CharField()), "closed_at", "expert_id", "skip_reason", "id")
        )
    total = (notes.count() if kind in ("", "feedback") else 0) + (skips.count() if kind in ("", "skip") else 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    if not parts:
        return NotePage([], 0, 1, 1)
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    # A union is ordered by the first part's column names.
    newest = ("-created_at", "-task_id") if kind in ("", "feedback") else ("-closed_at", "-id")
    found = list(query.order_by(*newest)[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    task_ids = [row[4] for row in found]
    items: dict[object, list[int]] = defaultdict(list)
    for task_id, item_id in (
        TaskItem.objects.filter(task_id__in=task_ids).order_by("position").values_list("task_id", "item_id")
    ):
        items[task_id].append(item_id)
    people = {
        pk: display_name(first, last, username)
        for pk, first, last, username in get_user_model()
        .objects.filter(pk__in={row[2] for row in found})
        .values_list("id", "first_name", "last_name", "username")
    }
    rows = [
        NoteRow(kind, at, people.get(expert, str(expert)), text, task_id, sorted(items[task_id]))
        for kind, at, expert, text, task_id in found
    ]
    return NotePage(rows, total, page, pages)


def project_experts(project: Project) -> list[tuple[int, str]]:
    """(user id, name) of the project's members, for the expert filter."""
    rows = ProjectMembership.objects.filter(project=project).values_list(
        "user_id", "user__first_name", "user__last_name", "user__username"
    )
    return sorted(((pk, display_name(f, la, u)) for pk, f, la, u in rows), key=lambda r: r[1].lower())
