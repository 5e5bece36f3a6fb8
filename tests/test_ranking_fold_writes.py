"""A fold writes in proportion to what changed: idle items' RD growth is derived when read, not
written; the rows go to the database in one set-based statement (PostgreSQL), not per row."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ranking.glicko2 import SCALE
from ranking.models import ItemRating, RatingState
from ranking.services import do_close_rating_periods
from tests.conftest import is_postgres, need
from tests.test_ranking_support import quality_of, ranking_project, work

pytestmark = [pytest.mark.django_db]


def test_an_idle_item_keeps_its_stored_rd_and_reads_its_growth(expert_a):
    project, items = ranking_project(expert_a, items=24, rating_period_judgements=1)
    quality, rng = quality_of(items), np.random.default_rng(7)
    work(project, expert_a, quality, rng, rounds=1)
    do_close_rating_periods(project.pk)
    first = {r.item_id: r for r in ItemRating.objects.filter(project=project, views=1)}
    work(project, expert_a, quality, rng, rounds=3)
    do_close_rating_periods(project.pk)
    periods = RatingState.objects.get(project=project).periods
    assert periods == 4
    idle = [r for r in ItemRating.objects.filter(project=project, item_id__in=first) if r.views == 1]
    assert idle, "the scheduler showed every first-batch item again"
    for row in idle:
        assert (row.rd, row.rated_period) == (first[row.item_id].rd, 1)  # not rewritten
        phi, sigma = row.rd / SCALE, row.volatility
        assert row.effective_rd(periods) == pytest.approx(np.sqrt(phi**2 + 3 * sigma**2) * SCALE, rel=1e-12)
        assert row.effective_rd(periods) > row.rd


def test_a_fold_writes_every_row_in_one_statement(expert_a):
    need(is_postgres(), "the set-based write is PostgreSQL's path (SQLite uses batched upserts)")
    project, items = ranking_project(expert_a, items=2100, rating_period_judgements=1)
    quality, rng = quality_of(items), np.random.default_rng(8)
    work(project, expert_a, quality, rng, rounds=2)
    for _ in range(2):  # the first fold creates the rows, the second updates them
        with CaptureQueriesContext(connection) as queries:
            do_close_rating_periods(project.pk)
        writes = [
            q["sql"]
            for q in queries.captured_queries
            if ItemRating._meta.db_table in q["sql"] and q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))
        ]
        assert len(writes) == 1, writes
        work(project, expert_a, quality, rng, rounds=1)
    assert ItemRating.objects.filter(project=project).count() == 2100
