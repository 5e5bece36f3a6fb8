"""Small and empty projects say so: experts read that no clips are ready (not a thank-you), the
admin sees a warning on the project and from ``manage.py check``, and a project's kind cannot
change once answers exist."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from annotations.checks import check_projects_can_issue
from annotations.services import do_issue_next_task, do_submit_judgement
from media_ingest.models import ProjectItem
from projects.models import Project
from tests.factories import project_with_items, ready_clip
from tests.support import make_project

pytestmark = pytest.mark.django_db


def next_task(client, project):
    response = client.post(reverse("api_next_task", args=[project.slug]), {}, content_type="application/json")
    assert response.status_code == 200
    return response.json()


def test_an_empty_project_tells_experts_no_clips_are_ready(client, expert_a):
    project = project_with_items("classification", expert_a, items=0, slug="empty")
    client.force_login(expert_a)
    body = next_task(client, project)
    assert body == {
        "code": "no_items_ready",
        "detail": "No clips are ready in this project yet. Please come back later.",
    }


def test_a_ranking_project_smaller_than_its_batch_says_how_many_clips_it_needs(client, expert_a):
    project = project_with_items("ranking", expert_a, items=3, slug="small-ranking", batch_size=6)
    client.force_login(expert_a)
    body = next_task(client, project)
    assert body["code"] == "no_items_ready"
    assert body["detail"].startswith("Only 3 clips of this project are ready and a ranking task shows 6")
    for n in range(3):  # six now: a batch can be made
        ProjectItem.objects.create(project=project, clip=ready_clip(f"more-{n}"))
    assert "task" in next_task(client, project)


def test_the_admin_sees_the_warning_on_the_project_and_from_check(client, admin_user, expert_a, capsys):
    small = project_with_items("ranking", expert_a, items=2, slug="tiny-ranking", batch_size=4)
    fine = project_with_items("classification", expert_a, items=2, slug="fine")
    client.force_login(admin_user)
    page = client.get(reverse("admin:projects_project_change", args=[small.pk]))
    assert "Experts cannot get tasks yet: Only 2 clips of this project are ready" in page.content.decode()
    page = client.get(reverse("admin:projects_project_change", args=[fine.pk]))
    assert "Experts cannot get tasks yet" not in page.content.decode()
    found = check_projects_can_issue(None)
    assert [(w.id, w.obj) for w in found] == [("unity.W101", small)]
    call_command("check")
    captured = capsys.readouterr()
    assert "unity.W101" in captured.err + captured.out and "tiny-ranking" in captured.err + captured.out


def test_the_kind_cannot_change_once_answers_exist(expert_a):
    import numpy as np

    project = project_with_items("classification", expert_a, items=1, slug="kind-lock")
    project.kind = Project.Kind.RANKING
    project.axis_start_label, project.axis_end_label = "best", "worst"
    project.label_schema = {}
    project.full_clean()  # no answers yet: the kind may still change
    project.refresh_from_db()
    task = do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(0))
    do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    project.kind = Project.Kind.KEYPOINTS
    with pytest.raises(ValidationError) as after:
        project.full_clean()
    assert "already has answers as a classification project: its kind cannot change" in str(after.value)


def test_make_project_is_unaffected_for_new_projects():
    assert make_project("ranking", slug="new-ranking").kind == Project.Kind.RANKING
