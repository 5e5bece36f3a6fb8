"""The ranking issuer reads a bounded pool and nothing per item: one query per batch."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.models import TaskItem
from annotations.services import do_issue_task
from ranking.selectors import next_batch
from tests.test_ranking_support import ranking_project

pytestmark = pytest.mark.django_db


def test_choosing_a_batch_takes_one_query_and_the_items_can_be_issued(expert_a, django_assert_num_queries):
    project, items = ranking_project(expert_a, items=40)
    rng = np.random.default_rng(3)
    with django_assert_num_queries(1):  # the pool and the expert's judged sets
        batch = next_batch(project, expert_a, rng)
    assert batch is not None and len(batch) == project.batch_size == len({item.pk for item in batch})
    assert {item.pk for item in batch} <= {item.pk for item in items}
    assert all(item.project_id == project.pk for item in batch)
    task = do_issue_task(project, expert=expert_a, items=batch, rng=rng)
    issued = set(TaskItem.objects.filter(task=task).values_list("item_id", flat=True))
    assert issued == {item.pk for item in batch}
