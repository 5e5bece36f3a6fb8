"""Judgements in a burst queue at most one rating fold per project; a started or lost fold never
blocks the next one."""

from __future__ import annotations

import time

import numpy as np
import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from ranking import tasks
from tests.conftest import need, redis_reachable
from tests.test_ranking_support import quality_of, ranking_project, work

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """Folds queued (project ids), recorded instead of sent: nothing runs them."""
    calls: list[int] = []
    monkeypatch.setattr(tasks.close_rating_periods, "delay", calls.append)
    return calls


def burst_project(expert, *, items: int = 36):
    # A period per judgement: every judgement closes one, so every judgement asks for a fold.
    project, created = ranking_project(expert, items=items, rating_period_judgements=1, target_views_per_item=100)
    cache.delete(tasks.fold_pending_key(project.pk))
    return project, quality_of(created)


def test_a_burst_of_judgements_queues_one_fold(expert_a, queued):
    project, quality = burst_project(expert_a)
    work(project, expert_a, quality, np.random.default_rng(1), rounds=12)
    assert queued == [project.pk]


def test_a_started_fold_lets_the_next_judgement_queue_another(expert_a, queued, monkeypatch):
    project, quality = burst_project(expert_a)
    rng = np.random.default_rng(2)
    work(project, expert_a, quality, rng, rounds=5)
    assert queued == [project.pk]
    tasks.close_rating_periods(project.pk)  # the queued fold runs: it clears the flag, then reads
    work(project, expert_a, quality, rng, rounds=5)
    assert queued == [project.pk, project.pk]


def test_a_lost_fold_blocks_later_folds_only_until_its_flag_expires(expert_a, queued, monkeypatch):
    monkeypatch.setattr(tasks, "FOLD_PENDING_SECONDS", 1)
    project, quality = burst_project(expert_a)
    rng = np.random.default_rng(3)
    work(project, expert_a, quality, rng, rounds=3)
    assert queued == [project.pk]  # ... and that task is lost: it never runs
    time.sleep(1.5)
    work(project, expert_a, quality, rng, rounds=1)
    assert queued == [project.pk, project.pk]


def test_the_broker_holds_one_fold_after_a_burst(expert_a):
    """The real path: Redis as cache and broker, no worker; count the messages on the queue."""
    need(redis_reachable(), "Redis is not configured or not running")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def waiting() -> int:
        return sum(broker.llen(key) for key in broker.scan_iter("ranking*") if broker.type(key) == b"list")

    for key in broker.scan_iter("ranking*"):
        if broker.type(key) == b"list":
            broker.delete(key)
    project, quality = burst_project(expert_a)
    try:
        work(project, expert_a, quality, np.random.default_rng(4), rounds=15)
        assert waiting() == 1
    finally:
        for key in broker.scan_iter("ranking*"):
            if broker.type(key) == b"list":
                broker.delete(key)
        cache.delete(tasks.fold_pending_key(project.pk))
