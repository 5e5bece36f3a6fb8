"""Admins set up a complete project of each kind in Django admin; bad input saves nothing."""

import json

import pytest
from django.urls import reverse

from projects.models import Project
from projects.schemas import default_schema

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:projects_project_add")


def form_data(project_kind: str, **overrides) -> dict[str, str]:
    data = {
        "title": f"New {project_kind} project",
        "slug": f"new-{project_kind}",
        "kind": project_kind,
        "status": "open",
        "echo_view": "A4C",
        "question": "What is this?",
        "guidelines": "# Guidelines",
        "training_video_url": "",
        "axis_start_label": "Most accurate view" if project_kind == "ranking" else "",
        "axis_end_label": "Most foreshortened" if project_kind == "ranking" else "",
        "label_schema": json.dumps(default_schema(project_kind)),
        "batch_size": "6",
        "target_views_per_item": "10",
        "leaderboard_size": "10",
        "task_timeout_minutes": "30",
        "mask_rectangles": "[]",
        "glicko_tau": "0.5",
        "glicko_initial_rating": "1500",
        "glicko_initial_rd": "350",
        "glicko_initial_volatility": "0.06",
        "rating_period_judgements": "50",
        "rating_period_minutes": "10",
        "consensus_min_ssr": "0.8",
        "flag_below": "0.5",
        "flag_min_answers": "20",
        "weigh_experts": "on",
        "gold_rate": "0",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "allow_list-TOTAL_FORMS": "1",
        "allow_list-INITIAL_FORMS": "0",
        "allow_list-0-email": "Invited.Expert@Hospital.example",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("kind", Project.Kind.values)
def test_admin_creates_a_project_of_each_kind(client, admin_user, kind):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data(kind))
    assert response.status_code == 302, response.content.decode()[:3000]
    project = Project.objects.get(slug=f"new-{kind}")
    assert project.kind == kind
    assert list(project.allow_list.values_list("email", flat=True)) == ["invited.expert@hospital.example"]


def test_admin_rejects_invalid_schema_naming_the_field(client, admin_user):
    client.force_login(admin_user)
    schema = {
        "classes": [{"key": "a4c", "name": "A4C", "description": "four chambers"}, {"key": "plax", "name": "PLAX"}]
    }
    response = client.post(ADD_URL, form_data("classification", label_schema=json.dumps(schema)))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "label_schema.classes[1].description: this field is required" in " ".join(errors["label_schema"])
    assert not Project.objects.exists()


def test_admin_rejects_json_that_does_not_parse(client, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data("keypoints", label_schema="{points: [}"))
    assert response.status_code == 200
    assert "label_schema" in response.context["adminform"].form.errors
    assert not Project.objects.exists()


def test_admin_rejects_unknown_kind(client, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data("ranking", kind="segmentation"))
    assert response.status_code == 200
    assert "kind" in response.context["adminform"].form.errors
    assert not Project.objects.exists()


@pytest.mark.parametrize("size", ["1", "9", "0"])
def test_admin_rejects_batch_size_out_of_range(client, admin_user, size):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data("ranking", batch_size=size))
    assert response.status_code == 200
    assert "batch_size" in response.context["adminform"].form.errors
    assert not Project.objects.exists()


def test_ranking_project_needs_both_axis_ends(client, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data("ranking", axis_end_label=""))
    assert response.status_code == 200
    assert "axis_end_label" in response.context["adminform"].form.errors


def test_admin_lists_filters_and_searches_projects(client, admin_user):
    client.force_login(admin_user)
    for kind in ("ranking", "temporal"):
        assert client.post(ADD_URL, form_data(kind)).status_code == 302
    listing = client.get(reverse("admin:projects_project_changelist"), {"kind__exact": "temporal"})
    assert listing.status_code == 200
    assert list(listing.context["cl"].queryset.values_list("slug", flat=True)) == ["new-temporal"]
    found = client.get(reverse("admin:projects_project_changelist"), {"q": "new-ranking"})
    assert list(found.context["cl"].queryset.values_list("slug", flat=True)) == ["new-ranking"]


def test_allow_listing_in_admin_adds_users_who_already_signed_in(
    client, admin_user, django_capture_on_commit_callbacks, monkeypatch
):
    from tests.conftest import make_user
    from unity.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)  # the worker path is tested elsewhere

    existing = make_user("early-bird", email="invited.expert@hospital.example")
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(ADD_URL, form_data("temporal")).status_code == 302
    project = Project.objects.get(slug="new-temporal")
    assert project.memberships.filter(user=existing).exists()
