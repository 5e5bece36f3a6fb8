"""A rating period closes in a real Celery worker on the ranking queue, and ratings appear."""

from __future__ import annotations

import numpy as np
import pytest

from ranking.models import ItemRating, RatingState
from tests.conftest import need, redis_reachable
from tests.test_ranking_support import quality_of, ranking_project, work
from tests.workers import celery_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_rating_period_closes_in_the_ranking_worker(expert_a):
    need(redis_reachable(), "Redis is not configured or not running")
    project, items = ranking_project(expert_a, items=12, rating_period_judgements=2)
    with celery_worker(queues="ranking"):
        work(project, expert_a, quality_of(items), np.random.default_rng(3), rounds=3)
        assert wait_until(lambda: RatingState.objects.filter(project=project, judgements=2).exists(), timeout=60), (
            "the worker did not fold the period"
        )
    ratings = ItemRating.objects.filter(project=project)
    assert ratings.count() == 12
    assert sum(r.views for r in ratings) == 2 * 6
    assert len({r.rating for r in ratings if r.views}) > 1
