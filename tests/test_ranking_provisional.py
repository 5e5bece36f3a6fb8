"""Provisional ratings: the open period applied to the stored ratings in memory equals what a fold
stores when that period closes; the ranking admin shows them beside the stored values."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse

from annotations.models import Judgement
from ranking.models import ItemRating, RatingState
from ranking.selectors import provisional_ratings
from ranking.services import do_close_rating_periods
from tests.test_ranking_support import quality_of, ranking_project, work

pytestmark = [pytest.mark.django_db]


def open_period_project(expert_a, expert_b):
    """Two periods folded, then two judgements in an open third period."""
    project, items = ranking_project(expert_a, expert_b, items=18, rating_period_judgements=3)
    quality, rng = quality_of(items), np.random.default_rng(5)
    work(project, expert_a, quality, rng, rounds=4)
    work(project, expert_b, quality, rng, rounds=3)
    assert do_close_rating_periods(project.pk) == 2
    work(project, expert_b, quality, rng, rounds=1)  # 8 judgements: the third period holds 2
    return project


def test_provisional_ratings_are_what_a_fold_stores_when_the_period_closes(expert_a, expert_b):
    project = open_period_project(expert_a, expert_b)
    provisional = provisional_ratings(project)
    assert provisional.judgements == 2 and provisional.periods == 3
    before = {r.item_id: r for r in ItemRating.objects.filter(project=project)}
    shown = provisional.of()
    assert len(shown) >= 6
    assert any(shown[i][3] == before[i].views + 1 for i in shown)  # the open period counts already
    assert any(shown[i][0] != before[i].rating for i in shown)
    assert ItemRating.objects.get(pk=before[next(iter(shown))].pk).views == before[next(iter(shown))].views

    # The period's time runs out: the fold closes it and stores exactly the provisional values.
    state = RatingState.objects.get(project=project)
    Judgement.objects.filter(project=project, id__gt=state.last_judgement_id).update(
        created_at=Judgement.objects.get(pk=state.last_judgement_id).created_at - timedelta(hours=1)
    )
    assert do_close_rating_periods(project.pk) == 1
    periods = RatingState.objects.get(project=project).periods
    assert periods == provisional.periods
    for rating in ItemRating.objects.filter(project=project):
        stored = (rating.rating, rating.effective_rd(periods), rating.volatility, rating.views)
        if rating.item_id in shown:
            assert stored == shown[rating.item_id]
        else:  # not shown in the open period: the stored state, its RD read at the new count
            old = before[rating.item_id]
            assert stored == (old.rating, old.effective_rd(provisional.periods), old.volatility, old.views)


def test_with_nothing_unfolded_provisional_ratings_are_the_stored_ones(expert_a):
    project, items = ranking_project(expert_a, items=12, rating_period_judgements=2)
    work(project, expert_a, quality_of(items), np.random.default_rng(6), rounds=4)
    assert do_close_rating_periods(project.pk) == 2
    provisional = provisional_ratings(project)
    assert provisional.judgements == 0 and provisional.periods == 2 and not provisional.of()


def test_the_ranking_admin_shows_provisional_ratings_beside_the_stored(client, admin_user, expert_a, expert_b):
    project = open_period_project(expert_a, expert_b)
    shown = provisional_ratings(project).of()
    client.force_login(admin_user)
    page = client.get(reverse("admin:ranking_itemrating_changelist"), {"project__id__exact": project.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert "RD now" in html and "Provisional rating" in html
    rating, rd, _, views = shown[next(iter(shown))]
    assert f"{rating:.1f} ± {rd:.1f} ({views})" in html
