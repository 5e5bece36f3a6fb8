"""Parallel HTTP submissions of one task (double click, retries, two tabs) record exactly once."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from annotations.models import Judgement
from annotations.services import do_issue_next_task
from media_ingest.models import ProjectItem
from tests.conftest import is_postgres, need
from tests.factories import project_items
from tests.support import session_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_identical_submissions_record_one_judgement(live_server, project, expert_a):
    need(is_postgres(), "row locks need PostgreSQL")
    project_items(project, 1)
    task = do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(0))
    session = session_for(expert_a, live_server.url, project)
    url = f"{live_server.url}/api/tasks/{task.pk}/judgement"

    def submit(_):
        return session.post(url, json={"answer": {"class": "a4c"}, "time_on_task_ms": 1000}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(submit, range(16)))
    assert statuses.count(201) == 1
    assert set(statuses) == {200, 201}
    assert Judgement.objects.count() == 1
    assert ProjectItem.objects.get(project=project).judgement_count == 1


def test_parallel_conflicting_submissions_keep_the_first(live_server, project, expert_a):
    need(is_postgres(), "row locks need PostgreSQL")
    project_items(project, 1)
    task = do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(1))
    session = session_for(expert_a, live_server.url, project)
    url = f"{live_server.url}/api/tasks/{task.pk}/judgement"
    answers = ["a4c", "none_of_the_above", "not_sure"] * 4

    def submit(choice):
        response = session.post(url, json={"answer": {"class": choice}}, timeout=30)
        return choice, response.status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(submit, answers))
    winners = [choice for choice, status in results if status == 201]
    assert len(winners) == 1
    assert all(status in (200, 201, 409) for _, status in results)
    assert Judgement.objects.get().answer == {"class": winners[0]}
