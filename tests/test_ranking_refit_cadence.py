"""The consensus refit follows a cadence of the folded count: incremental folds and a recompute fit
the same prefix of the log, and a fold between refits writes only the rows of the items it rated."""

from __future__ import annotations

import numpy as np
import pytest

from media_ingest.models import ProjectItem
from ranking import services
from ranking.models import ItemRating, RatingState
from ranking.services import consensus_prefix, do_close_rating_periods, do_recompute_ratings
from tests.factories import ready_clip
from tests.test_ranking_recompute import snapshot
from tests.test_ranking_support import eager_tasks, quality_of, ranking_project, work  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def test_the_fit_covers_every_judgement_of_a_small_project_then_the_last_boundary_passed():
    # 1,000 items: every fold refits while judgements + items <= 20,000.
    assert [consensus_prefix(j, 1000) for j in (0, 1, 18_999)] == [0, 1, 18_999]
    # Beyond: boundaries 1,000 apart (at least) and x1.2: 1,000 ... 5,000, 6,000, 7,200, 8,640, ...
    assert [consensus_prefix(j, 1000) for j in (19_001, 20_000)] == [17_918, 17_918]  # ... 12,442, 14,931, 17,918
    assert [consensus_prefix(j, 100_000) for j in (0, 999, 1_000, 5_999, 6_000, 7_199, 7_200, 8_640)] == [
        0,
        0,
        1_000,
        5_000,
        6_000,
        6_000,
        7_200,
        8_640,
    ]
    # 1,000,000 items: one judgement in 100 of the items, 10,000 apart.
    assert [consensus_prefix(j, 1_000_000) for j in (9_999, 10_000, 29_999, 60_000)] == [0, 10_000, 20_000, 60_000]
    assert consensus_prefix(1_000_000, 100_000) <= 1_000_000 < consensus_prefix(1_000_000, 100_000) * 1.2


@pytest.fixture
def small_cadence(monkeypatch):
    """18-item project: every fold refits up to 8 judgements; beyond (and on larger projects),
    boundaries 4 apart at least, growing x1.5: 4, 8, 12, 18, 27."""
    monkeypatch.setattr(services, "REFIT_SMALL", 26)
    monkeypatch.setattr(services, "REFIT_STEP", 4)
    monkeypatch.setattr(services, "REFIT_GROWTH", 1.5)


def rows_by_item(project) -> dict[int, tuple]:
    return {
        r.item_id: (r.rating, r.rd, r.views, r.score, r.rank, r.updated_at)
        for r in ItemRating.objects.filter(project=project)
    }


def test_incremental_folds_between_refits_equal_a_recompute(small_cadence, expert_a, expert_b):
    project, items = ranking_project(expert_a, expert_b, items=18, rating_period_judgements=2)
    quality = quality_of(items)
    rng = np.random.default_rng(7)
    fits = []
    for _ in range(8):
        work(project, expert_a, quality, rng, rounds=2)
        work(project, expert_b, quality, rng, rounds=1)
        do_close_rating_periods(project.pk)
        state = RatingState.objects.get(project=project)
        fits.append((state.judgements, state.consensus_judgements))
    # Every fold up to 8, then the fit stays at the last boundary (12, 18) between refits.
    assert all(covered == consensus_prefix(folded, 18) for folded, covered in fits)
    assert {covered for _, covered in fits} >= {12, 18}
    assert any(covered < folded for folded, covered in fits)
    incremental = snapshot(project)
    do_recompute_ratings(project)
    assert snapshot(project) == incremental


def test_a_fold_between_refits_writes_only_the_items_it_rated(small_cadence, expert_a):
    project, items = ranking_project(expert_a, items=30, rating_period_judgements=3, batch_size=3)
    quality = quality_of(items)
    rng = np.random.default_rng(3)
    work(project, expert_a, quality, rng, rounds=12)  # 12 judgements: the fit covers 12
    do_close_rating_periods(project.pk)
    assert RatingState.objects.get(project=project).consensus_judgements == 12
    before = rows_by_item(project)
    assert len(before) == 30
    work(project, expert_a, quality, rng, rounds=3)  # 15 folded: below the next boundary (18)
    assert do_close_rating_periods(project.pk) == 1
    state = RatingState.objects.get(project=project)
    assert (state.judgements, state.consensus_judgements) == (15, 12)
    after = rows_by_item(project)
    changed = {i for i in after if after[i] != before[i]}
    last = project.judgements.order_by("-id")[:3]
    shown = {int(i) for j in last for i in j.answer["ordering"]}
    assert changed == shown
    assert all(after[i][3:5] == before[i][3:5] for i in after)  # score and rank: not refitted


def test_adding_an_item_refits_at_the_next_fold(small_cadence, expert_a):
    project, items = ranking_project(expert_a, items=20, rating_period_judgements=3, batch_size=3)
    quality = quality_of(items)
    rng = np.random.default_rng(5)
    work(project, expert_a, quality, rng, rounds=12)
    do_close_rating_periods(project.pk)
    ProjectItem.objects.create(project=project, clip=ready_clip(f"{project.slug}-added"))
    assert do_close_rating_periods(project.pk) == 0  # nothing to fold, but the items changed
    assert ItemRating.objects.filter(project=project).count() == 21
    ranks = sorted(ItemRating.objects.filter(project=project).values_list("rank", flat=True))
    assert ranks == list(range(1, 22))
    folded = snapshot(project)
    do_recompute_ratings(project)
    assert snapshot(project) == folded
