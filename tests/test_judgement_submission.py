"""Submissions are idempotent, checked against the issued task, and never recorded twice."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from annotations.errors import (
    AlreadyAnswered,
    ConsensusReached,
    InvalidAnswer,
    NotFound,
    ProjectNotOpen,
    TaskClosed,
    TaskExpired,
)
from annotations.models import Judgement, Task
from annotations.services import do_issue_next_task, do_skip_task, do_submit_judgement
from annotations.signals import judgement_recorded
from projects.models import Project
from tests.factories import project_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(project, expert_a):
    project_items(project, 2)
    return do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(0))


def test_a_replayed_submission_returns_the_recorded_judgement(task, expert_a):
    Task.objects.filter(pk=task.pk).update(issued_at=timezone.now() - timedelta(minutes=1))  # held long enough
    first, created = do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"}, time_on_task_ms=4200)
    again, created_again = do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"}, time_on_task_ms=9999)
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert Judgement.objects.count() == 1
    assert first.time_on_task_ms == 4200
    assert task.task_items.get().item.__class__.objects.get(pk=task.task_items.get().item_id).judgement_count == 1


def test_a_different_answer_to_an_answered_task_is_refused(task, expert_a):
    do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    with pytest.raises(AlreadyAnswered):
        do_submit_judgement(task.pk, expert=expert_a, answer={"class": "not_sure"})
    assert Judgement.objects.get().answer == {"class": "a4c"}


def test_a_task_issued_to_someone_else_is_not_found(task, expert_b):
    with pytest.raises(NotFound):
        do_submit_judgement(task.pk, expert=expert_b, answer={"class": "a4c"})
    assert not Judgement.objects.exists()


def test_an_expired_task_records_nothing(task, expert_a):
    Task.objects.filter(pk=task.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(TaskExpired):
        do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    assert not Judgement.objects.exists()


def test_a_closed_project_records_nothing(task, expert_a, project):
    Project.objects.filter(pk=project.pk).update(status=Project.Status.COMPLETED)
    with pytest.raises(ProjectNotOpen):
        do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    assert not Judgement.objects.exists()


def test_an_invalid_answer_records_nothing(task, expert_a):
    with pytest.raises(InvalidAnswer):
        do_submit_judgement(task.pk, expert=expert_a, answer={"class": "unknown"})
    task.refresh_from_db()
    assert task.status == Task.Status.ISSUED
    assert not Judgement.objects.exists()


def test_a_skipped_task_takes_no_answer_and_needs_a_reason(task, expert_a):
    with pytest.raises(InvalidAnswer):
        do_skip_task(task.pk, expert=expert_a, reason="  ")
    do_skip_task(task.pk, expert=expert_a, reason="poor image quality")
    with pytest.raises(TaskClosed):
        do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})


def test_judgements_are_append_only(task, expert_a):
    judgement, _ = do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    judgement.feedback = "changed"
    with pytest.raises(ValueError, match="append-only"):
        judgement.save()
    with pytest.raises(ValueError, match="append-only"):
        judgement.delete()


def test_listeners_hear_of_a_judgement_only_after_commit(task, expert_a, django_capture_on_commit_callbacks):
    heard = []

    def listener(sender, judgement, **kwargs):
        heard.append(judgement.pk)

    judgement_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            judgement, _ = do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
            assert heard == []
        assert heard == [judgement.pk]
    finally:
        judgement_recorded.disconnect(listener)


def test_an_outstanding_task_is_refused_once_consensus_is_reached(task, expert_a, project):
    Project.objects.filter(pk=project.pk).update(consensus_reached_at=timezone.now())
    with pytest.raises(ConsensusReached):
        do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    assert not Judgement.objects.exists()


def test_an_expert_removed_from_the_project_cannot_answer(task, expert_a, project):
    project.memberships.filter(user=expert_a).delete()
    with pytest.raises(NotFound):
        do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    assert not Judgement.objects.exists()


def test_item_counts_are_rebuilt_from_the_judgement_log(task, expert_a, project):
    from django.core.management import call_command

    from media_ingest.models import ProjectItem

    do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    answered = task.task_items.get().item_id
    ProjectItem.objects.filter(project=project).update(judgement_count=7)  # drifted, somehow
    call_command("recompute_judgement_counts", project.slug)
    counts = dict(ProjectItem.objects.filter(project=project).values_list("id", "judgement_count"))
    assert counts.pop(answered) == 1
    assert set(counts.values()) == {0}
