"""The labelling API answers every refusal with a clear 4xx and records nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import Judgement, Task
from projects.models import Project
from tests.factories import project_items

pytestmark = pytest.mark.django_db


def next_task(client, project, **body):
    return client.post(reverse("api_next_task", args=[project.slug]), body, content_type="application/json")


def submit(client, task_id, answer, **extra):
    return client.post(
        reverse("api_judgement", args=[task_id]), {"answer": answer, **extra}, content_type="application/json"
    )


@pytest.fixture
def issued(client, project, expert_a):
    project_items(project, 3)
    client.force_login(expert_a)
    response = next_task(client, project)
    assert response.status_code == 200
    return response.json()["task"]


def test_next_task_describes_items_and_their_media(issued, project):
    assert issued["kind"] == "classification"
    clip = issued["items"][0]["clip"]
    assert clip["manifest_url"] == reverse("clip_file", args=[clip["code"], "frames/manifest.json"])
    assert clip["frame_count"] == 40


def test_submit_then_replay_then_conflict(client, issued):
    first = submit(client, issued["id"], {"class": "a4c"}, time_on_task_ms=1500)
    assert first.status_code == 201
    assert submit(client, issued["id"], {"class": "a4c"}).status_code == 200
    conflict = submit(client, issued["id"], {"class": "not_sure"})
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "already_answered"
    assert Judgement.objects.count() == 1


def test_invalid_answer_is_400_with_a_reason(client, issued):
    response = submit(client, issued["id"], {"class": "psax"})
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_answer",
        "detail": "class must be one of the project's classes, none_of_the_above or not_sure",
    }
    assert not Judgement.objects.exists()


def test_someone_elses_task_is_404(client, issued, expert_b):
    client.force_login(expert_b)
    assert submit(client, issued["id"], {"class": "a4c"}).status_code == 404
    assert client.get(reverse("api_task", args=[issued["id"]])).status_code == 404
    assert not Judgement.objects.exists()


def test_expired_task_is_410(client, issued):
    Task.objects.filter(pk=issued["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = submit(client, issued["id"], {"class": "a4c"})
    assert response.status_code == 410
    assert response.json()["code"] == "task_expired"


def test_stale_tab_after_the_project_closed_is_409(client, issued, project):
    Project.objects.filter(pk=project.pk).update(status=Project.Status.COMPLETED)
    response = submit(client, issued["id"], {"class": "a4c"})
    assert response.status_code == 409
    assert response.json()["code"] == "project_not_open"
    assert not Judgement.objects.exists()


def test_outsider_cannot_ask_for_tasks(client, project, outsider):
    project_items(project, 1)
    client.force_login(outsider)
    assert next_task(client, project).status_code == 404


def test_anonymous_requests_are_refused(client, issued):
    client.logout()
    assert submit(client, issued["id"], {"class": "a4c"}).status_code in (401, 403)


def test_skip_needs_a_reason_and_closes_the_task(client, issued):
    url = reverse("api_skip", args=[issued["id"]])
    assert client.post(url, {}, content_type="application/json").status_code == 400
    assert client.post(url, {"reason": "Poor image quality"}, content_type="application/json").status_code == 200
    assert submit(client, issued["id"], {"class": "a4c"}).status_code == 409


def test_nothing_left_is_said_plainly(client, project, expert_a):
    project_items(project, 1)
    client.force_login(expert_a)
    task = next_task(client, project).json()["task"]
    assert submit(client, task["id"], {"class": "a4c"}).status_code == 201
    response = next_task(client, project)
    assert response.status_code == 200
    assert response.json()["code"] == "no_more_tasks"


def test_renewing_keeps_a_task_on_screen_from_expiring(client, issued, project):
    Task.objects.filter(pk=issued["id"]).update(expires_at=timezone.now() + timedelta(seconds=30))
    response = client.post(reverse("api_renew", args=[issued["id"]]), {}, content_type="application/json")
    assert response.status_code == 200
    remaining = Task.objects.get(pk=issued["id"]).expires_at - timezone.now()
    assert remaining > timedelta(minutes=project.task_timeout_minutes - 1)
    assert submit(client, issued["id"], {"class": "a4c"}).status_code == 201
    assert (
        client.post(reverse("api_renew", args=[issued["id"]]), {}, content_type="application/json").status_code == 409
    )


def test_an_expired_task_cannot_be_renewed_and_others_cannot_renew(client, issued, expert_b):
    url = reverse("api_renew", args=[issued["id"]])
    Task.objects.filter(pk=issued["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(url, {}, content_type="application/json").status_code == 410
    client.force_login(expert_b)
    assert client.post(url, {}, content_type="application/json").status_code == 404
