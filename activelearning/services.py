"""Writes for learning from the web side: asking for a retrain, growing a ranking project's
rated set from the queue. The runs themselves are in ``activelearning.processing``."""

from __future__ import annotations

from django.db import transaction

from activelearning.models import LearningRun, Prediction
from activelearning.selectors import LearningError, settings_for
from activelearning.tasks import retrain
from media_ingest.models import ProjectItem
from projects.models import Project


def do_request_retrain(project: Project, trigger: str) -> LearningRun:
    """Record a run and queue it on the learning queue once this transaction commits."""
    run = LearningRun.objects.create(project=project, trigger=trigger)
    transaction.on_commit(lambda: retrain.delay(run.pk))
    return run


def do_grow_ranking_pool(project: Project, count: int) -> int:
    """Ranking projects: activate the next ``count`` inactive items of the serving queue (chosen
    by diversity and the quality model's uncertainty, so the rated set spans the quality range).
    Returns how many were activated."""
    learning = settings_for(project)
    if project.kind != Project.Kind.RANKING:
        raise LearningError("Only ranking projects grow their rated set from the queue.")
    if learning.serving_id is None:
        raise LearningError("No model version yet: retrain first.")
    chosen = list(
        Prediction.objects.filter(version_id=learning.serving_id, rank__isnull=False, item__is_active=False)
        .order_by("rank")
        .values_list("item_id", flat=True)[:count]
    )
    return ProjectItem.objects.filter(pk__in=chosen).update(is_active=True)
