"""Reacting to annotations: each recorded ranking judgement may close a rating period."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotations.models import Judgement
from projects.models import Project
from ranking.models import RatingState
from ranking.selectors import pending_judgements
from ranking.services import period_is_due
from ranking.tasks import close_rating_periods


def on_judgement_recorded(sender: type[Judgement], judgement: Judgement, **kwargs: Any) -> None:
    """Queue the rating task, after commit, when the unfolded judgements close a period.

    Reads at most N+1 rows through the (project, id) index. Duplicate queueing is harmless: the
    task folds under the project lock from the stored watermark.
    """
    project = judgement.project  # loaded by do_submit_judgement: no query for other kinds
    if project.kind != Project.Kind.RANKING:
        return
    last = RatingState.objects.filter(project=project).values_list("last_judgement_id", flat=True).first() or 0
    pending = pending_judgements(project.pk, last, project.rating_period_judgements + 1)
    if period_is_due(project, pending):
        project_id = project.pk
        transaction.on_commit(lambda: close_rating_periods.delay(project_id), robust=True)
