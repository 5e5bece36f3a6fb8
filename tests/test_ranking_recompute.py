"""Ratings are derived data: a full recompute from the log equals what incremental periods reached."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from annotations.models import Judgement
from projects.models import Project
from ranking.models import ItemRating, RatingState
from ranking.services import do_close_rating_periods, do_recompute_ratings
from tests.test_ranking_support import eager_tasks, effective_snapshot, quality_of, ranking_project, work  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

FIELDS = ["item_id", "rating", "rd", "volatility", "views", "score", "score_se", "rank", "rank_low", "rank_high"]


def snapshot(project) -> list[tuple]:
    """Every item's values as readers see them: the RD read at the project's period count."""
    return effective_snapshot(project, FIELDS)


def test_incremental_periods_and_a_full_recompute_reach_the_same_state(
    expert_a, expert_b, django_capture_on_commit_callbacks
):
    project, items = ranking_project(expert_a, expert_b, items=18, rating_period_judgements=4)
    quality = quality_of(items)
    rng = np.random.default_rng(11)
    with django_capture_on_commit_callbacks(execute=True):  # the receiver folds periods as they close
        for _ in range(7):
            work(project, expert_a, quality, rng, rounds=2)
            work(project, expert_b, quality, rng, rounds=1)
    state = RatingState.objects.get(project=project)
    assert state.judgements == 20 and state.periods == 5  # 21 judgements: the last period is open
    incremental = snapshot(project)
    assert sum(row[4] for row in incremental) == 20 * 6
    do_recompute_ratings(project)
    assert snapshot(project) == incremental
    assert RatingState.objects.get(project=project).judgements == 20


def test_the_time_rule_cuts_periods_by_judgement_timestamps(expert_a, django_capture_on_commit_callbacks):
    project, items = ranking_project(expert_a, items=12, rating_period_judgements=100, rating_period_minutes=5)
    quality = quality_of(items)
    rng = np.random.default_rng(2)
    work(project, expert_a, quality, rng, rounds=3)
    assert do_close_rating_periods(project.pk) == 0  # one open period, nothing to fold
    # Move the log back in time, as if the first three came 10 minutes before the fourth.
    Judgement.objects.filter(project=project).update(created_at=timezone.now() - timedelta(minutes=10))
    work(project, expert_a, quality, rng, rounds=1)
    assert do_close_rating_periods(project.pk) == 1
    assert RatingState.objects.get(project=project).judgements == 3
    folded = snapshot(project)
    do_recompute_ratings(project)
    assert snapshot(project) == folded


def test_folding_twice_counts_nothing_twice(expert_a):
    project, items = ranking_project(expert_a, items=12, rating_period_judgements=2)
    work(project, expert_a, quality_of(items), np.random.default_rng(4), rounds=4)
    assert do_close_rating_periods(project.pk) == 2
    first = snapshot(project)
    assert do_close_rating_periods(project.pk) == 0
    assert snapshot(project) == first
    assert sum(row[4] for row in first) == 4 * 6


def test_recompute_ratings_command_rebuilds_from_the_log(expert_a, capsys):
    project, items = ranking_project(expert_a, items=12, rating_period_judgements=2)
    work(project, expert_a, quality_of(items), np.random.default_rng(4), rounds=6)
    call_command("recompute_ratings", project.slug)
    assert "3 rating periods, 6 judgements rated" in capsys.readouterr().out
    ranks = sorted(r.rank for r in ItemRating.objects.filter(project=project))
    assert ranks == list(range(1, 13))
    state = RatingState.objects.get(project=project)
    assert 0 <= state.ssr <= 1
    draws = sum(len(j.answer["ties"]) for j in Judgement.objects.filter(project=project))  # groups of two
    assert [e["pairs"] for e in state.experts] == [6 * 15 - draws]


def test_consensus_order_follows_the_experts(expert_a, expert_b, django_capture_on_commit_callbacks):
    project, items = ranking_project(expert_a, expert_b, items=12, rating_period_judgements=5)
    Project.objects.filter(pk=project.pk).update(target_views_per_item=100)
    project.refresh_from_db()
    quality = quality_of(items)
    rng = np.random.default_rng(8)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(15):
            work(project, expert_a, quality, rng, rounds=1)
            work(project, expert_b, quality, rng, rounds=1)
    rows = ItemRating.objects.filter(project=project)
    by_quality = sorted(rows, key=lambda r: -quality[r.item_id])
    ranks = [r.rank for r in by_quality]
    assert np.corrcoef(ranks, range(1, 13))[0, 1] > 0.9  # rank 1 = nearest the axis start = best
    glicko = [r.rating for r in by_quality]
    assert np.corrcoef(glicko, [quality[r.item_id] for r in by_quality])[0, 1] > 0.9
    assert all(r.rank_low <= r.rank <= r.rank_high for r in rows)
