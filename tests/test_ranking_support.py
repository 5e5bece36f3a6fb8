"""Helpers for the ranking tests (no tests here): a ranking project with items, simulated experts."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.errors import ConsensusReached
from annotations.models import Task
from annotations.services import do_issue_next_task, do_submit_judgement
from projects.services import do_add_member
from ranking.models import ItemRating, RatingState
from tests.conftest import make_project
from tests.factories import project_items
from unity.celery import app as celery_app


def ranking_project(*experts, items: int = 12, slug: str = "ranking-project", **fields):
    project = make_project("ranking", slug=slug, **fields)
    for expert in experts:
        do_add_member(project, user=expert)
    created = project_items(project, items)
    return project, created


def quality_of(items) -> dict[int, float]:
    """A latent quality per item, fixed by its id."""
    return {item.pk: float(np.sin(item.pk * 1.7) * 3) for item in items}


def judge(task: Task, expert, quality: dict[int, float], rng: np.random.Generator, *, noise: float = 0.3):
    ids = [row.item_id for row in task.task_items.all()]
    perceived = {i: quality[i] + noise * rng.standard_normal() for i in ids}
    ordering = sorted(ids, key=lambda i: -perceived[i])
    ties = [ordering[:2]] if rng.random() < 0.2 else []
    return do_submit_judgement(task.pk, expert=expert, answer={"ordering": ordering, "ties": ties})


def work(project, expert, quality, rng, rounds: int):
    for _ in range(rounds):
        try:
            task = do_issue_next_task(project, expert=expert, rng=rng)
        except ConsensusReached:
            return
        if task is None:
            return
        judge(task, expert, quality, rng)


@pytest.fixture
def eager_tasks(monkeypatch):
    """Run queued tasks in-process (as the embedded default does), also when REDIS_URL is set."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def effective_snapshot(project, fields: list[str]) -> list[tuple]:
    """``fields`` of every ItemRating row in item order, with ``rd`` read as readers read it
    (``ItemRating.effective_rd`` at the project's period count) and the row's period count."""
    periods = RatingState.objects.filter(project=project).values_list("periods", flat=True).first() or 0
    rows = []
    for rating in ItemRating.objects.filter(project=project).order_by("item_id"):
        values = tuple(rating.effective_rd(periods) if f == "rd" else getattr(rating, f) for f in fields)
        rows.append((*values, rating.rated_period))
    return rows
