"""Reacting to annotations: an item whose answers are now complete leaves the serving queue, so
the front of the queue stays issuable and the issuer's walk stays short."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection

from activelearning.models import Prediction
from annotations.models import Judgement, TaskItem
from media_ingest.models import ProjectItem


@cache
def _dequeue_sql() -> str:
    # Plain UPDATE ... WHERE ... IN (subquery): the same on PostgreSQL and SQLite.
    return f"""
        UPDATE {Prediction._meta.db_table} SET rank = NULL
        WHERE version_id = %s AND rank IS NOT NULL AND item_id IN (
            SELECT p.id FROM {ProjectItem._meta.db_table} p
            JOIN {TaskItem._meta.db_table} ti ON ti.item_id = p.id
            WHERE ti.task_id = %s AND p.judgement_count >= %s)"""  # noqa: S608


def on_judgement_recorded(sender: type[Judgement], judgement: Judgement, **kwargs: Any) -> None:
    """After commit: take the judged items out of the serving queue once their answers reach the
    project's target. No query for projects without a queue (the project is already loaded)."""
    project = judgement.project
    if project.queue_version is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _dequeue_sql(),
            [
                project.queue_version,
                TaskItem._meta.get_field("task").get_db_prep_value(judgement.task_id, connection),
                project.target_views_per_item,
            ],
        )
