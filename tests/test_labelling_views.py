"""The expert's pages: home (progress, leaderboard), the contribution CSV, the labelling screen,
and the installable-app files."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import Task
from annotations.services import do_issue_next_task, do_submit_judgement
from projects.models import Project
from tests.browser_helpers import ingest_synthetic

pytestmark = pytest.mark.django_db


def answer_tasks(project: Project, expert, count: int, *, time_ms: int = 1000) -> None:
    for _ in range(count):
        task = do_issue_next_task(project, expert=expert, rng=np.random.default_rng(0))
        assert task is not None
        # Held as long as claimed: the stored time is bounded by the time since issue.
        Task.objects.filter(pk=task.pk).update(issued_at=timezone.now() - timedelta(milliseconds=time_ms))
        do_submit_judgement(task.pk, expert=expert, answer={"class": "a4c"}, time_on_task_ms=time_ms)


@pytest.fixture
def items(project, tmp_path):
    return ingest_synthetic(project, tmp_path / "clips", 4)


def test_contribution_csv_lists_judgements_and_time_per_month(client, project, items, expert_a, expert_b):
    answer_tasks(project, expert_a, 3, time_ms=90_000)
    answer_tasks(project, expert_b, 1)
    client.force_login(expert_a)
    response = client.get(reverse("contributions_csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 1
    assert rows[0]["project"] == project.slug
    assert rows[0]["judgements"] == "3"
    assert rows[0]["minutes"] == "4.5"
    assert rows[0]["email"] == expert_a.email
    home = client.get(reverse("home")).content.decode()
    assert "4.5 minutes on task" in home


def test_contribution_csv_needs_sign_in(client):
    response = client.get(reverse("contributions_csv"))
    assert response.status_code == 302


def test_leaderboard_shows_project_size_and_zero_hides_it(client, project, items, expert_a, expert_b):
    answer_tasks(project, expert_a, 2)
    answer_tasks(project, expert_b, 1)
    client.force_login(expert_a)
    project.leaderboard_size = 1
    project.save()
    progress = client.get(reverse("home")).context["progress"][0]
    assert [(e["rank"], e["judgements"], e["me"]) for e in progress.leaderboard] == [(1, 2, True)]
    assert progress.my_judgements == 2
    assert progress.answers_done == 3 and progress.answers_needed == 4 * project.target_views_per_item

    project.leaderboard_size = 0
    project.save()
    response = client.get(reverse("home"))
    assert response.context["progress"][0].leaderboard == []
    assert "Leaderboard" not in response.content.decode()


def test_outsider_gets_404_for_the_labelling_screen_and_its_api(client, project, items, outsider):
    client.force_login(outsider)
    assert client.get(reverse("label", args=[project.slug])).status_code == 404
    assert client.get(reverse("project_detail", args=[project.slug])).status_code == 404
    response = client.post(reverse("api_next_task", args=[project.slug]), {}, content_type="application/json")
    assert response.status_code == 404


def test_member_sees_the_labelling_screen_with_its_configuration(client, project, expert_a):
    client.force_login(expert_a)
    response = client.get(reverse("label", args=[project.slug]))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="label-config"' in content
    assert reverse("api_next_task", args=[project.slug]) in content
    detail = client.get(reverse("project_detail", args=[project.slug])).content.decode()
    assert reverse("label", args=[project.slug]) in detail


def test_project_page_shows_no_start_when_the_project_is_closed(client, project, expert_a):
    project.status = Project.Status.COMPLETED
    project.save()
    client.force_login(expert_a)
    content = client.get(reverse("project_detail", args=[project.slug])).content.decode()
    assert 'id="start"' not in content
    assert "takes no more answers" in content


def test_service_worker_caches_static_assets_only(client):
    response = client.get(reverse("service_worker"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    assert '"/static/unity/label.js"' in body
    assert "url.pathname.startsWith(STATIC_PREFIX)" in body
    assert "/media/" not in body.split("\n", 2)[2] and "/api/" not in body.split("\n", 2)[2]


def test_web_manifest_names_the_app_and_its_icons(client):
    response = client.get(reverse("web_manifest"))
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert sizes == {"192x192", "512x512"}
    for icon in manifest["icons"]:
        served = client.get(icon["src"])
        assert served.status_code == 200
        assert b"".join(served.streaming_content).startswith(b"\x89PNG")
        served.close()


def test_home_costs_the_same_queries_for_one_project_or_five(client, django_assert_max_num_queries, expert_a):
    from projects.services import do_add_member
    from tests.conftest import make_project

    client.force_login(expert_a)
    do_add_member(make_project(slug="first"), user=expert_a)
    with django_assert_max_num_queries(12) as one:
        assert client.get(reverse("home")).status_code == 200
    for index in range(4):
        do_add_member(make_project(slug=f"more-{index}"), user=expert_a)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(reverse("home")).status_code == 200
