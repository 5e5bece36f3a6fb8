"""One annotate loop (next + submit) costs a fixed, small number of SQL queries, for
classification and for ranking: the count is asserted, so a query added to the hot path fails.

On PostgreSQL (the counted path; SQLite takes plainer ORM statements). A transactional test:
the services' atomic blocks are outermost, as in production (no savepoints in the count); the
ranking receiver's after-commit reads are counted too.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import Judgement
from annotations.services import do_issue_next_task, do_submit_judgement
from tests.conftest import is_postgres, need
from tests.factories import project_with_items

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# Classification: lock + membership, open tasks, candidates, task + items insert; task locked
# with membership, issued items, judgement insert, task + counts update. Ranking: the same 8,
# plus the rating receiver's two after-commit reads (ranking/receivers.py: the last folded id
# and the pending judgements). Before issue 9: 14 and 17 (the receiver's 2 included).
MAX_LOOP_QUERIES = {"classification": 8, "ranking": 8 + 2}


def loop_queries(project, expert, answer_for) -> list[str]:
    """The statements of one next + submit (transaction control, BEGIN and COMMIT, not counted)."""
    rng = np.random.default_rng(0)
    with CaptureQueriesContext(connection) as next_queries:
        task = do_issue_next_task(project, expert=expert, rng=rng)
    assert task is not None
    answer = answer_for(task)
    with CaptureQueriesContext(connection) as submit_queries:
        _, created = do_submit_judgement(task.pk, expert=expert, answer=answer)
    assert created
    queries = next_queries.captured_queries + submit_queries.captured_queries
    return [query["sql"] for query in queries if query["sql"] not in ("BEGIN", "COMMIT")]


def classification_answer(task) -> dict[str, object]:
    return {"class": "a4c"}


def ranking_answer(task) -> dict[str, object]:
    return {"ordering": sorted(row.item_id for row in task.task_items.all()), "ties": []}


@pytest.mark.parametrize(
    ("kind", "answer_for"), [("classification", classification_answer), ("ranking", ranking_answer)]
)
def test_a_loop_of_next_and_submit_takes_at_most_eight_queries_of_its_own(kind, answer_for, expert_a):
    need(is_postgres(), "the counted statements are PostgreSQL's")
    project = project_with_items(kind, expert_a, items=30)
    loop_queries(project, expert_a, answer_for)  # warm: the first loop may create derived rows
    queries = loop_queries(project, expert_a, answer_for)
    assert len(queries) <= MAX_LOOP_QUERIES[kind], "\n".join(queries)
    assert Judgement.objects.filter(project=project, expert=expert_a).count() == 2
