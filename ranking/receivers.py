"""Reacting to annotations: each recorded ranking judgement may close a rating period."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction

from annotations.models import Judgement
from projects.models import Project
from ranking.models import RatingState
from ranking.selectors import pending_judgements
from ranking.services import period_is_due
from ranking.tasks import fold_is_pending, request_fold


def on_judgement_recorded(sender: type[Judgement], judgement: Judgement, **kwargs: Any) -> None:
    """Request a fold, after commit, when the unfolded judgements close a period.

    At most one fold waits per project (``ranking.tasks.request_fold``): while one is pending,
    this reads nothing from the database (one cache read). Otherwise it reads at most N+1 rows
    through the (project, id) index.
    """
    project = judgement.project  # loaded by do_submit_judgement: no query for other kinds
    if project.kind != Project.Kind.RANKING or fold_is_pending(project.pk):
        return
    last = RatingState.objects.filter(project=project).values_list("last_judgement_id", flat=True).first() or 0
    pending = pending_judgements(project.pk, last, project.rating_period_judgements + 1)
    if period_is_due(project, pending):
        transaction.on_commit(partial(request_fold, project.pk), robust=True)
