import pytest
from django.urls import reverse

from projects.models import Project

pytestmark = pytest.mark.django_db


def test_member_sees_project_and_it_is_listed(client, expert_a, project):
    client.force_login(expert_a)
    assert client.get(reverse("project_detail", args=[project.slug])).status_code == 200
    assert project.title in client.get(reverse("home")).content.decode()


def test_outsider_gets_404_and_never_sees_it_listed(client, outsider, project, other_project):
    client.force_login(outsider)
    assert client.get(reverse("project_detail", args=[project.slug])).status_code == 404
    home = client.get(reverse("home")).content.decode()
    assert project.title not in home or project.title == other_project.title
    assert list(client.get(reverse("home")).context["projects"]) == [other_project]


def test_member_cannot_see_a_draft(client, expert_a, project):
    Project.objects.filter(pk=project.pk).update(status=Project.Status.DRAFT)
    client.force_login(expert_a)
    assert client.get(reverse("project_detail", args=[project.slug])).status_code == 404


def test_anonymous_visitor_is_sent_to_sign_in(client, project):
    response = client.get(reverse("project_detail", args=[project.slug]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_guidelines_markdown_is_sanitised(client, expert_a, project):
    Project.objects.filter(pk=project.pk).update(guidelines="**bold** <script>alert(1)</script>")
    client.force_login(expert_a)
    page = client.get(reverse("project_detail", args=[project.slug])).content.decode()
    assert "<strong>bold</strong>" in page
    assert "<script>alert(1)</script>" not in page
