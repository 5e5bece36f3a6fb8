"""An expert removed from a project loses its tasks too: every task endpoint answers 404, as for a
task that is not theirs, reveals no clip, and changes nothing."""

import pytest
from django.urls import reverse

from annotations.models import Judgement, Task
from tests.factories import project_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def removed(client, project, expert_a):
    """A task issued to expert_a, who was then removed from the project."""
    project_items(project, 2)
    client.force_login(expert_a)
    response = client.post(reverse("api_next_task", args=[project.slug]), {}, content_type="application/json")
    task = Task.objects.get(pk=response.json()["task"]["id"])
    project.memberships.filter(user=expert_a).delete()
    return task


def test_a_removed_member_cannot_read_the_task(client, removed):
    response = client.get(reverse("api_task", args=[removed.pk]))
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such task."}


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("api_renew", {}),
        ("api_skip", {"reason": "Poor image quality"}),
        ("api_judgement", {"answer": {"class": "a4c"}}),
    ],
)
def test_a_removed_member_cannot_renew_skip_or_answer_the_task(client, removed, name, body):
    response = client.post(reverse(name, args=[removed.pk]), body, content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such task."}
    task = Task.objects.get(pk=removed.pk)
    assert (task.status, task.expires_at) == (Task.Status.ISSUED, removed.expires_at)
    assert not Judgement.objects.exists()


def test_a_member_still_holds_the_task(client, removed, project, expert_a):
    project.memberships.create(user=expert_a)
    assert client.get(reverse("api_task", args=[removed.pk])).status_code == 200
    assert client.post(reverse("api_renew", args=[removed.pk]), {}, content_type="application/json").status_code == 200
