"""Least-covered items first, never the same item twice to one expert, expiry returns items."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from annotations.errors import NotFound, ProjectNotOpen
from annotations.models import Task
from annotations.services import do_expire_overdue_tasks, do_issue_next_task, do_submit_judgement
from projects.models import Project
from tests.factories import project_items

pytestmark = pytest.mark.django_db


def answer_class(task, expert):
    return do_submit_judgement(task.pk, expert=expert, answer={"class": "a4c"})


def test_expert_never_gets_the_same_item_twice(project, expert_a):
    project_items(project, 3)
    rng = np.random.default_rng(0)
    seen = []
    for _ in range(3):
        task = do_issue_next_task(project, expert=expert_a, rng=rng)
        seen.append(task.task_items.get().item_id)
        answer_class(task, expert_a)
    assert len(set(seen)) == 3
    assert do_issue_next_task(project, expert=expert_a, rng=rng) is None


def test_least_covered_items_come_first_and_target_is_honoured(project, expert_a, expert_b):
    Project.objects.filter(pk=project.pk).update(target_views_per_item=1)
    project.refresh_from_db()
    items = project_items(project, 2)
    rng = np.random.default_rng(1)
    first = do_issue_next_task(project, expert=expert_a, rng=rng)
    answer_class(first, expert_a)
    second = do_issue_next_task(project, expert=expert_b, rng=rng)
    assert second.task_items.get().item_id != first.task_items.get().item_id
    answer_class(second, expert_b)
    assert {i.judgement_count for i in type(items[0]).objects.filter(project=project)} == {1}
    assert do_issue_next_task(project, expert=expert_b, rng=rng) is None


def test_items_in_flight_go_to_someone_else_first(project, expert_a, expert_b):
    project_items(project, 2)
    rng = np.random.default_rng(2)
    a = do_issue_next_task(project, expert=expert_a, rng=rng)
    b = do_issue_next_task(project, expert=expert_b, rng=rng)
    assert a.task_items.get().item_id != b.task_items.get().item_id


def test_an_open_task_is_resumed_and_excluding_it_issues_the_next(project, expert_a):
    project_items(project, 3)
    rng = np.random.default_rng(3)
    first = do_issue_next_task(project, expert=expert_a, rng=rng)
    assert do_issue_next_task(project, expert=expert_a, rng=rng) == first
    prefetched = do_issue_next_task(project, expert=expert_a, rng=rng, exclude_task_ids=[str(first.pk)])
    assert prefetched != first


def test_expired_tasks_release_their_items(project, expert_a, expert_b):
    Project.objects.filter(pk=project.pk).update(target_views_per_item=1)
    project.refresh_from_db()
    project_items(project, 1)
    rng = np.random.default_rng(4)
    task = do_issue_next_task(project, expert=expert_a, rng=rng)
    Task.objects.filter(pk=task.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    again = do_issue_next_task(project, expert=expert_b, rng=rng)
    assert again is not None
    # The periodic job (annotations.tasks.expire_overdue_tasks) closes it for the record.
    assert do_expire_overdue_tasks() == 1
    task.refresh_from_db()
    assert task.status == Task.Status.EXPIRED


def test_outsider_and_closed_project_are_refused(project, outsider, expert_a):
    project_items(project, 1)
    with pytest.raises(NotFound):
        do_issue_next_task(project, expert=outsider, rng=np.random.default_rng())
    Project.objects.filter(pk=project.pk).update(status=Project.Status.COMPLETED)
    project.refresh_from_db()
    with pytest.raises(ProjectNotOpen):
        do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng())


def test_repeats_are_issued_when_the_project_asks_for_them(project, expert_a):
    Project.objects.filter(pk=project.pk).update(allow_repeats=True, target_views_per_item=5)
    project.refresh_from_db()
    project_items(project, 1)
    rng = np.random.default_rng(5)
    for _ in range(2):
        answer_class(do_issue_next_task(project, expert=expert_a, rng=rng), expert_a)
    assert Task.objects.filter(expert=expert_a, status=Task.Status.ANSWERED).count() == 2
