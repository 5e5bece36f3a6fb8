"""Rating convergence on the quality dashboard: a point per consensus refit, written by the fold.

Expected behaviour from outside the code: with consistent experts, Glicko-2's RD only falls as
clips are seen again (Glickman 2012, step 6-7: RD shrinks with every game), and a ranking that
has settled barely moves between refits (Spearman near 1)."""

import itertools

import numpy as np
import pytest
from django.urls import reverse

from ranking.models import ConvergencePoint
from ranking.services import do_close_rating_periods
from tests.support import make_user
from tests.test_ranking_support import quality_of, ranking_project, work

pytestmark = pytest.mark.django_db


def test_convergence_points_settle_and_are_plotted(client):
    experts = [make_user(f"conv-{k}") for k in range(4)]
    project, items = ranking_project(
        *experts, items=30, slug="conv", rating_period_judgements=10, consensus_min_ssr=1.0
    )
    quality = quality_of(items)
    rng = np.random.default_rng(5)
    for _ in range(15):
        for expert in experts:
            work(project, expert, quality, rng, rounds=1)
            do_close_rating_periods(project.pk)  # what the worker does after each answer
    points = list(ConvergencePoint.objects.filter(project=project).order_by("judgements"))
    assert [p.judgements for p in points] == [10 * k for k in range(1, 7)]  # a refit per period
    assert points[0].mean_rd < project.glicko_initial_rd
    assert all(b.mean_rd < a.mean_rd for a, b in itertools.pairwise(points))
    assert points[0].rank_stability is None and points[-1].rank_stability > 0.9
    client.force_login(make_user("conv-admin", staff=True))
    response = client.get(reverse("quality_dashboard", args=[project.slug]))
    body = response.content.decode()
    assert 'id="convergence"' in body
    for series in ("mean RD", "rank stability", "SSR"):
        assert f'data-series="{series}"' in body
