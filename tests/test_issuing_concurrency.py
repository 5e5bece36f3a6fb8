"""Parallel "next task" requests (a screen prefetching, several tabs, many experts at once) never
hand one expert more than MAX_OPEN_TASKS open tasks or the same item set twice, and parallel
submissions of every task never count a judgement twice. Real HTTP requests to a live server on
PostgreSQL, each served in its own thread and database connection."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg2
import pytest
import requests
from django.db import connection

from annotations import services
from annotations.errors import Busy
from annotations.models import Judgement, Task, TaskItem
from annotations.services import MAX_OPEN_TASKS, do_issue_next_task, do_recompute_judgement_counts, issuing_lock_key
from media_ingest.models import ProjectItem
from tests.conftest import is_postgres, make_user, need
from tests.factories import project_with_items
from tests.support import session_for
from tests.test_ranking_support import eager_tasks  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.usefixtures("eager_tasks")]

KINDS = ["ranking", "classification"]
ROUNDS = 3  # each thread asks again, excluding what it got, as the screen does when it prefetches


def project_of(kind: str, experts: list):
    # Ranking batches of 3 from 12 items: an expert could hold 4 disjoint batches, so the limit binds.
    return project_with_items(kind, *experts, items=12, slug=f"{kind}-parallel", batch_size=3, target_views_per_item=50)


def burst(base_url: str, project, sessions: list[requests.Session]) -> None:
    """Every session starts asking at the same moment; each asks ROUNDS times."""
    start = threading.Barrier(len(sessions))
    url = f"{base_url}/api/projects/{project.slug}/tasks/next"

    def ask(session: requests.Session) -> None:
        start.wait(timeout=60)
        got: list[str] = []
        for _ in range(ROUNDS):
            response = session.post(url, json={"exclude": got}, timeout=120)
            assert response.status_code == 200, response.text
            if "task" in response.json():
                got.append(response.json()["task"]["id"])

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        list(pool.map(ask, sessions))


def answer_for(task: Task) -> dict:
    if task.project.kind == "ranking":
        ids = list(TaskItem.objects.filter(task=task).order_by("position").values_list("item_id", flat=True))
        return {"ordering": ids, "ties": []}
    return {"class": "a4c"}


def submit_every_open_task_twice(base_url: str, project, session_of: dict[int, requests.Session]) -> list[int]:
    jobs = [
        (session_of[task.expert_id], f"{base_url}/api/tasks/{task.pk}/judgement", answer_for(task))
        for task in Task.objects.filter(project=project, status=Task.Status.ISSUED).select_related("project")
    ] * 2

    def submit(job) -> int:
        session, url, answer = job
        return session.post(url, json={"answer": answer, "time_on_task_ms": 1000}, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(submit, jobs))


def assert_issuing_invariants(project, experts: list) -> None:
    tasks = Task.objects.filter(project=project)
    open_counts = {e.username: tasks.filter(expert=e, status=Task.Status.ISSUED).count() for e in experts}
    repeats = {key: n - 1 for key, n in Counter(tasks.values_list("expert__username", "item_set_key")).items() if n > 1}
    figures = f"open tasks per expert: {open_counts}; item sets issued again: {repeats}"
    # Every expert asks for more than the limit, so each ends holding exactly MAX_OPEN_TASKS.
    assert set(open_counts.values()) == {MAX_OPEN_TASKS} and not repeats, figures


def assert_each_judgement_counted_once(project, statuses: list[int]) -> None:
    answered = Task.objects.filter(project=project, status=Task.Status.ANSWERED)
    assert Counter(statuses) == {201: len(statuses) // 2, 200: len(statuses) // 2}
    assert Judgement.objects.filter(project=project).count() == answered.count() == len(statuses) // 2
    from_log = Counter(TaskItem.objects.filter(task__in=answered).values_list("item_id", flat=True))
    counted = dict(ProjectItem.objects.filter(project=project).values_list("id", "judgement_count"))
    assert counted == {item_id: from_log.get(item_id, 0) for item_id in counted}
    assert do_recompute_judgement_counts(project) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_requests_of_one_expert_respect_the_limit_and_never_repeat_a_set(live_server, kind):
    need(is_postgres(), "parallel issuing needs PostgreSQL")
    expert = make_user("solo")
    project = project_of(kind, [expert])
    sessions = [session_for(expert, live_server.url, project) for _ in range(24)]
    burst(live_server.url, project, sessions)
    assert_issuing_invariants(project, [expert])
    statuses = submit_every_open_task_twice(live_server.url, project, {expert.pk: sessions[0]})
    assert_each_judgement_counted_once(project, statuses)


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_requests_of_eight_experts_respect_the_limit_and_never_repeat_a_set(live_server, kind):
    need(is_postgres(), "parallel issuing needs PostgreSQL")
    experts = [make_user(f"crowd-{i}") for i in range(8)]
    project = project_of(kind, experts)
    sessions = {e.pk: [session_for(e, live_server.url, project) for _ in range(4)] for e in experts}
    burst(live_server.url, project, [s for group in sessions.values() for s in group])
    assert_issuing_invariants(project, experts)
    statuses = submit_every_open_task_twice(live_server.url, project, {pk: group[0] for pk, group in sessions.items()})
    assert_each_judgement_counted_once(project, statuses)


def test_a_request_kept_waiting_for_the_issuing_lock_is_told_to_try_again(monkeypatch):
    need(is_postgres(), "advisory locks need PostgreSQL")
    expert = make_user("patient")
    project = project_of("classification", [expert])
    monkeypatch.setattr(services, "ISSUING_LOCK_TIMEOUT", "200ms")
    db = connection.settings_dict
    holder = psycopg2.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432)
    try:
        with holder.cursor() as cursor:  # another request issuing for this expert, stuck
            cursor.execute("SELECT pg_advisory_lock(%s)", [issuing_lock_key(project, expert)])
        with pytest.raises(Busy):
            do_issue_next_task(project, expert=expert, rng=np.random.default_rng(0))
        assert not Task.objects.exists()
    finally:
        holder.close()
    assert do_issue_next_task(project, expert=expert, rng=np.random.default_rng(0)) is not None
