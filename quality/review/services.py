"""Recording a reviewer's decision on an item. ``check_*`` validates and authorises; ``do_*`` writes.

``do_refresh_review_order`` keeps the review list's order in the cache (the worker's, once a
first view computed it: ``quality.tasks.refresh_review_order``).

Adjudications are their own append-only rows (``annotations.models.Adjudication``), never
judgements: nothing that reads the judgement log (consensus, ratings, agreement, the experts'
answers in releases) sees them. One insert, no lock: rows are only added, and the latest row of an
item is its decision.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import transaction

from annotations.answers import AnswerError, IssuedItem, validate_answer
from annotations.errors import InvalidAnswer, NotFound
from annotations.models import Adjudication
from media_ingest.models import ProjectItem
from projects.models import Project
from quality.review.selectors import (
    ORDER_CACHE_SECONDS,
    ReviewOrder,
    compute_review_order,
    is_reviewer,
    review_order_key,
)

logger = logging.getLogger(__name__)

MAX_NOTE_CHARS = 4000


def check_can_review(project: Project, user: AbstractBaseUser | AnonymousUser) -> None:
    """Staff and the project's reviewers (and lead experts) may review; others get 404."""
    if not is_reviewer(user, project):
        raise NotFound("No such project.")


def _issued(item: ProjectItem) -> IssuedItem:
    clip = item.clip
    return IssuedItem(id=item.pk, frame_count=clip.frame_count, width=clip.columns, height=clip.rows)


def check_adjudicated_answer(project: Project, item: ProjectItem, answer: object) -> dict[str, Any]:
    """The answer normalised, validated as an expert's answer to the item would be
    (``annotations.answers.validate_answer``); ranking: an ordering of project items holding the
    item under review. Raises ``InvalidAnswer`` with a message the form shows."""
    issued = [_issued(item)]
    if project.kind == Project.Kind.RANKING:
        ordering = answer.get("ordering") if isinstance(answer, dict) else None
        ids = (
            {i for i in ordering if isinstance(i, int) and not isinstance(i, bool)}
            if isinstance(ordering, list)
            else set()
        )
        if item.pk not in ids:
            raise InvalidAnswer("ordering must be a list of item ids holding the item under review")
        others = list(ProjectItem.objects.filter(project=project, pk__in=ids).select_related("clip"))
        if len(others) != len(ids):
            raise InvalidAnswer("ordering must hold items of this project only")
        if len(others) < 2:
            raise InvalidAnswer("an ordering holds two or more items")
        issued = [_issued(other) for other in others]
    try:
        return validate_answer(project.kind, answer, issued, project.label_schema)
    except AnswerError as exc:
        raise InvalidAnswer(str(exc)) from None


def do_adjudicate(
    project: Project,
    *,
    item: ProjectItem,
    reviewer: AbstractBaseUser,
    decision: str,
    answer: object = None,
    note: str = "",
) -> Adjudication:
    """Record ``reviewer``'s decision on ``item``: accept the experts' consensus (no answer), or an
    adjudicated answer in the project kind's format. Nothing is written when a check fails."""
    check_can_review(project, reviewer)
    if item.project_id != project.pk:
        raise NotFound("No such item.")
    if decision not in Adjudication.Decision.values:
        raise InvalidAnswer("decision must be accepted or adjudicated")
    stored = None
    if decision == Adjudication.Decision.ADJUDICATED:
        stored = check_adjudicated_answer(project, item, answer)
    with transaction.atomic():
        adjudication = Adjudication.objects.create(
            project=project,
            item=item,
            reviewer=reviewer,
            decision=decision,
            answer=stored,
            note=(note or "").strip()[:MAX_NOTE_CHARS],
        )
    # Ids only: a note may say anything.
    logger.info("adjudication %s: item %s %s by user %s", adjudication.pk, item.pk, decision, reviewer.pk)
    return adjudication


def do_refresh_review_order(project: Project) -> ReviewOrder:
    """Compute the project's review order (one aggregate over its answers) and keep it in the cache."""
    order = compute_review_order(project)
    cache.set(review_order_key(project), order, ORDER_CACHE_SECONDS)
    return order
