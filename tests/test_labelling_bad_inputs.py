"""Bad inputs the labelling screen must survive, through the same API calls it makes: a double
submit, a network drop mid-submit (the retry replays), a submit after the task expired, a stale tab
after the project closed, an ended session. Each gets a JSON code the screen shows; nothing is
recorded twice or lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import Judgement, Task
from projects.models import Project
from tests.browser_helpers import ingest_synthetic

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(project, tmp_path):
    return ingest_synthetic(project, tmp_path / "clips", 3)


@pytest.fixture
def signed_in(client, expert_a):
    client.force_login(expert_a)
    return client


def next_task(client, project, exclude=()):
    response = client.post(
        reverse("api_next_task", args=[project.slug]), {"exclude": list(exclude)}, content_type="application/json"
    )
    assert response.status_code == 200
    return response.json()["task"]


def submit(client, task_id, answer, **extra):
    payload = {"answer": answer, "time_on_task_ms": 4321, "client_info": {"viewport": "1280x900"}, **extra}
    return client.post(reverse("api_judgement", args=[task_id]), payload, content_type="application/json")


def test_double_submit_records_once_and_replays(signed_in, project, items):
    task = next_task(signed_in, project)
    first = submit(signed_in, task["id"], {"class": "a4c"})
    again = submit(signed_in, task["id"], {"class": "a4c"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["judgement"]["id"] == first.json()["judgement"]["id"]
    assert Judgement.objects.filter(task_id=task["id"]).count() == 1


def test_retry_after_a_dropped_response_replays_instead_of_recording_twice(signed_in, project, items):
    task = next_task(signed_in, project)
    Task.objects.filter(pk=task["id"]).update(issued_at=timezone.now() - timedelta(minutes=1))  # on screen a while
    # The first attempt reached the server and committed; its answer never reached the browser.
    assert submit(signed_in, task["id"], {"class": "a4c"}).status_code == 201
    # The screen retries the very same payload (kept in memory and in localStorage).
    retry = submit(signed_in, task["id"], {"class": "a4c"})
    assert retry.status_code == 200
    assert Judgement.objects.filter(task_id=task["id"]).count() == 1
    assert Judgement.objects.get(task_id=task["id"]).time_on_task_ms == 4321


def test_a_different_answer_to_an_answered_task_is_refused_and_the_first_kept(signed_in, project, items):
    task = next_task(signed_in, project)
    submit(signed_in, task["id"], {"class": "a4c"})
    response = submit(signed_in, task["id"], {"class": "none_of_the_above"})
    assert response.status_code == 409
    assert response.json()["code"] == "already_answered"
    assert Judgement.objects.get(task_id=task["id"]).answer == {"class": "a4c"}


def test_submit_after_expiry_is_refused_with_a_clear_code(signed_in, project, items):
    task = next_task(signed_in, project)
    Task.objects.filter(pk=task["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = submit(signed_in, task["id"], {"class": "a4c"})
    assert response.status_code == 410
    assert response.json()["code"] == "task_expired"
    assert not Judgement.objects.filter(task_id=task["id"]).exists()
    # The screen's "Next task" gets a fresh task.
    assert next_task(signed_in, project, exclude=[task["id"]])["id"] != task["id"]


def test_stale_tab_after_the_project_closed_is_refused_with_a_clear_code(signed_in, project, items):
    task = next_task(signed_in, project)
    Project.objects.filter(pk=project.pk).update(status=Project.Status.COMPLETED)
    response = submit(signed_in, task["id"], {"class": "a4c"})
    assert response.status_code == 409
    assert response.json()["code"] == "project_not_open"
    assert not Judgement.objects.exists()
    closed = signed_in.post(reverse("api_next_task", args=[project.slug]), {}, content_type="application/json")
    assert closed.status_code == 409 and closed.json()["code"] == "project_not_open"


def test_ended_session_is_refused_with_403_so_the_screen_offers_sign_in_again(client, project, items, expert_a):
    client.force_login(expert_a)
    task = next_task(client, project)
    client.logout()
    response = submit(client, task["id"], {"class": "a4c"})
    assert response.status_code in (401, 403)
    assert not Judgement.objects.exists()
    client.force_login(expert_a)
    assert submit(client, task["id"], {"class": "a4c"}).status_code == 201


def test_a_task_of_another_expert_is_not_found(client, project, items, expert_a, expert_b):
    client.force_login(expert_a)
    task = next_task(client, project)
    client.force_login(expert_b)
    response = submit(client, task["id"], {"class": "a4c"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert not Judgement.objects.exists()
