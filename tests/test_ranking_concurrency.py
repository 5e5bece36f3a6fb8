"""Experts submit in parallel while ratings are folded and recomputed: nothing lost or doubled."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from django.db import connection

from annotations.models import Judgement
from projects.services import do_add_member
from ranking.models import RatingState
from ranking.outcomes import closed_periods, period_labels
from ranking.services import do_close_rating_periods, do_recompute_ratings
from tests.conftest import is_postgres, make_user, need
from tests.test_ranking_support import eager_tasks, effective_snapshot, quality_of, ranking_project, work  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.usefixtures("eager_tasks")]

FIELDS = ["item_id", "rating", "rd", "volatility", "views", "score", "score_se", "rank"]


def snapshot(project) -> list[tuple]:
    """Every item's values as readers see them: the RD read at the project's period count."""
    return effective_snapshot(project, FIELDS)


def test_parallel_submissions_during_recomputes_lose_and_double_nothing():
    need(is_postgres(), "advisory locks and concurrent writers need PostgreSQL")
    experts = [make_user(f"parallel-{i}") for i in range(4)]
    project, items = ranking_project(items=40, rating_period_judgements=3, target_views_per_item=100)
    for expert in experts:
        do_add_member(project, user=expert)
    quality = quality_of(items)
    errors: list[BaseException] = []
    done = threading.Event()

    def expert_thread(index: int) -> None:
        try:
            work(project, experts[index], quality, np.random.default_rng(index), rounds=12)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    def recompute_thread() -> None:
        try:
            while not done.is_set():
                do_recompute_ratings(project)
                do_close_rating_periods(project.pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=expert_thread, args=(i,)) for i in range(len(experts))]
    recomputer = threading.Thread(target=recompute_thread)
    recomputer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    recomputer.join(timeout=120)
    assert not errors, errors

    do_close_rating_periods(project.pk)
    log = list(Judgement.objects.filter(project=project).order_by("id").values_list("created_at", flat=True))
    assert len(log) == 4 * 12
    created = [t.timestamp() for t in log]
    labels = period_labels(created, every_judgements=3, every_seconds=project.rating_period_minutes * 60)
    expected = closed_periods(labels, created, every_judgements=3)
    state = RatingState.objects.get(project=project)
    assert state.judgements == expected
    incremental = snapshot(project)
    assert sum(row[4] for row in incremental) == 6 * expected  # every folded ordering counted once
    do_recompute_ratings(project)
    assert snapshot(project) == incremental
