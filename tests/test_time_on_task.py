"""Time on task is measured, not claimed: the stored time is at most the time the task was held
(from its issue to the answer) and at most six hours, and the contribution record says so."""

import csv
import io
from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import Task
from annotations.services import MAX_TIME_ON_TASK_MS, do_issue_next_task, do_renew_task, do_submit_judgement
from annotations.views import TIME_ON_TASK_NOTE
from tests.factories import project_items

pytestmark = pytest.mark.django_db

MINUTE_MS = 60_000


@pytest.fixture
def task(project, expert_a):
    project_items(project, 2)
    return do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(0))


def issued_ago(task: Task, delta: timedelta) -> None:
    Task.objects.filter(pk=task.pk).update(issued_at=timezone.now() - delta)


def answer(task: Task, expert, claimed_ms: int) -> int:
    judgement, _ = do_submit_judgement(task.pk, expert=expert, answer={"class": "a4c"}, time_on_task_ms=claimed_ms)
    return judgement.time_on_task_ms


def test_a_claim_longer_than_the_task_was_held_is_cut_to_the_time_held(task, expert_a):
    issued_ago(task, timedelta(minutes=2))
    stored = answer(task, expert_a, MAX_TIME_ON_TASK_MS)
    assert 2 * MINUTE_MS <= stored < 2 * MINUTE_MS + 5_000


def test_a_claim_within_the_time_held_is_kept(task, expert_a):
    issued_ago(task, timedelta(minutes=2))
    assert answer(task, expert_a, 75_000) == 75_000


def test_renewing_extends_the_deadline_but_not_the_time_held(task, expert_a):
    issued_ago(task, timedelta(minutes=3))
    do_renew_task(task.pk, expert=expert_a)
    stored = answer(task, expert_a, 60 * MINUTE_MS)
    assert 3 * MINUTE_MS <= stored < 3 * MINUTE_MS + 5_000


def test_a_task_held_for_ten_hours_still_counts_six_at_most(task, expert_a):
    issued_ago(task, timedelta(hours=10))
    Task.objects.filter(pk=task.pk).update(expires_at=timezone.now() + timedelta(minutes=5))
    assert answer(task, expert_a, 10 * 60 * MINUTE_MS) == MAX_TIME_ON_TASK_MS == 6 * 60 * MINUTE_MS


def test_the_contribution_record_says_how_time_on_task_is_measured(client, task, expert_a):
    issued_ago(task, timedelta(minutes=2))
    answer(task, expert_a, 90_000)
    client.force_login(expert_a)
    home = client.get(reverse("home")).content.decode()
    assert "1.5 minutes on task" in home
    assert TIME_ON_TASK_NOTE in home
    assert "never more than the time from the task being issued to your answer" in TIME_ON_TASK_NOTE
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("contributions_csv")).content.decode())))
    assert [(row["minutes"], row["minutes_measured"]) for row in rows] == [("1.5", TIME_ON_TASK_NOTE)]
