"""Issuing ranking batches and accepting orderings over HTTP: good input and every bad one."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone

from annotations.models import Judgement, Task
from projects.models import Project
from ranking.models import ItemRating, RatingState
from tests.test_ranking_support import eager_tasks, quality_of, ranking_project, work  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def next_batch(client: Client, project) -> dict:
    response = client.post(f"/api/projects/{project.slug}/tasks/next", {}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def submit(client: Client, task_id: str, answer: dict):
    return client.post(f"/api/tasks/{task_id}/judgement", {"answer": answer}, content_type="application/json")


def test_an_expert_gets_a_batch_of_distinct_items_of_the_project(expert_a):
    project, items = ranking_project(expert_a)
    task = next_batch(client_for(expert_a), project)["task"]
    ids = [row["id"] for row in task["items"]]
    assert len(ids) == project.batch_size == len(set(ids))
    assert set(ids) <= {item.pk for item in items}
    assert sorted(row["position"] for row in task["items"]) == list(range(6))


def test_an_expert_never_gets_the_same_item_set_twice(expert_a):
    project, _ = ranking_project(expert_a, items=7, batch_size=6, target_views_per_item=1000)
    client = client_for(expert_a)
    keys = []
    for _ in range(7):  # C(7, 6) = 7 different sets exist
        task = next_batch(client, project)["task"]
        ids = [row["id"] for row in task["items"]]
        keys.append("-".join(map(str, sorted(ids))))
        assert submit(client, task["id"], {"ordering": ids, "ties": []}).status_code == 201
    assert len(set(keys)) == 7
    assert next_batch(client, project)["code"] == "no_more_tasks"


def test_views_are_balanced_before_any_item_is_shown_again(expert_a, expert_b):
    project, items = ranking_project(expert_a, expert_b, items=30)
    clients = [client_for(expert_a), client_for(expert_b)]
    for round_ in range(10):  # 10 batches of 6 = every item twice
        client = clients[round_ % 2]
        task = next_batch(client, project)["task"]
        ids = [row["id"] for row in task["items"]]
        assert submit(client, task["id"], {"ordering": ids}).status_code == 201
        counts = [item.judgement_count for item in type(items[0]).objects.filter(project=project)]
        assert max(counts) - min(counts) <= 2
    assert min(counts) >= 1


def test_an_ordering_is_recorded_and_ties_score_as_draws(expert_a, django_capture_on_commit_callbacks):
    project, _ = ranking_project(expert_a, items=6, rating_period_judgements=1)
    client = client_for(expert_a)
    task = next_batch(client, project)["task"]
    ids = [row["id"] for row in task["items"]]
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, task["id"], {"ordering": ids, "ties": [ids[1:3]]})
    assert response.status_code == 201
    # A period of one judgement closes at once (eager tasks here): the earlier item rates higher,
    # the tied pair stays together.
    ratings = {r.item_id: r for r in ItemRating.objects.filter(project=project)}
    assert ratings[ids[0]].rating > ratings[ids[1]].rating > ratings[ids[3]].rating > ratings[ids[5]].rating
    assert ratings[ids[1]].rating == pytest.approx(ratings[ids[2]].rating, abs=15)
    assert RatingState.objects.get(project=project).judgements == 1


def test_an_ordering_that_is_not_a_permutation_of_the_batch_is_refused(expert_a):
    project, items = ranking_project(expert_a)
    client = client_for(expert_a)
    task = next_batch(client, project)["task"]
    ids = [row["id"] for row in task["items"]]
    outside = next(item.pk for item in items if item.pk not in ids)
    for bad in (ids[:-1], [*ids[:-1], outside], [*ids[:-1], ids[0]], [*ids, outside], "not a list"):
        response = submit(client, task["id"], {"ordering": bad, "ties": []})
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_answer"
    assert not Judgement.objects.exists()
    assert Task.objects.get(pk=task["id"]).status == Task.Status.ISSUED


def test_a_task_issued_to_someone_else_cannot_be_answered(expert_a, expert_b):
    project, _ = ranking_project(expert_a, expert_b)
    task = next_batch(client_for(expert_a), project)["task"]
    ids = [row["id"] for row in task["items"]]
    response = submit(client_for(expert_b), task["id"], {"ordering": ids})
    assert response.status_code == 404
    assert not Judgement.objects.exists()


def test_an_expired_task_is_refused(expert_a):
    project, _ = ranking_project(expert_a)
    client = client_for(expert_a)
    task = next_batch(client, project)["task"]
    Task.objects.filter(pk=task["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = submit(client, task["id"], {"ordering": [row["id"] for row in task["items"]]})
    assert response.status_code == 410
    assert not Judgement.objects.exists()


def test_a_second_different_answer_to_an_answered_task_is_refused(expert_a):
    project, _ = ranking_project(expert_a)
    client = client_for(expert_a)
    task = next_batch(client, project)["task"]
    ids = [row["id"] for row in task["items"]]
    assert submit(client, task["id"], {"ordering": ids}).status_code == 201
    response = submit(client, task["id"], {"ordering": ids[::-1]})
    assert response.status_code == 409
    assert Judgement.objects.get().answer["ordering"] == ids


def test_a_project_that_reached_consensus_issues_no_more_batches(expert_a):
    project, _ = ranking_project(expert_a)
    Project.objects.filter(pk=project.pk).update(consensus_reached_at=timezone.now())
    response = client_for(expert_a).post(
        f"/api/projects/{project.slug}/tasks/next", {}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "consensus_reached"
    assert not Task.objects.exists()


def test_a_project_that_is_not_open_issues_nothing_and_takes_no_answers(expert_a):
    project, _ = ranking_project(expert_a)
    client = client_for(expert_a)
    task = next_batch(client, project)["task"]
    Project.objects.filter(pk=project.pk).update(status=Project.Status.COMPLETED)
    response = client.post(f"/api/projects/{project.slug}/tasks/next", {}, content_type="application/json")
    assert response.status_code == 409
    response = submit(client, task["id"], {"ordering": [row["id"] for row in task["items"]]})
    assert response.status_code == 409
    assert response.json()["code"] == "project_not_open"
    assert not Judgement.objects.exists()


def test_consensus_is_declared_when_ssr_and_views_reach_their_targets(
    expert_a, expert_b, django_capture_on_commit_callbacks
):

    project, items = ranking_project(
        expert_a, expert_b, items=12, target_views_per_item=4, consensus_min_ssr=0.5, rating_period_judgements=4
    )
    quality = quality_of(items)
    rng = np.random.default_rng(5)
    for _ in range(20):
        with django_capture_on_commit_callbacks(execute=True):
            work(project, expert_a, quality, rng, rounds=1)
            work(project, expert_b, quality, rng, rounds=1)
        project.refresh_from_db()
        if project.consensus_reached_at:
            break
    state = RatingState.objects.get(project=project)
    assert project.consensus_reached_at is not None, state.ssr
    assert state.ssr >= 0.5
    assert min(item.judgement_count for item in type(items[0]).objects.filter(project=project)) >= 4
    response = client_for(expert_a).post(
        f"/api/projects/{project.slug}/tasks/next", {}, content_type="application/json"
    )
    assert response.status_code == 409
