"""Bodies that once made the answer API fail (found by fuzzing): each now gets a JSON 4xx with
``{"code", "detail"}`` and a message a client can show, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from annotations.models import Judgement, Task
from tests.factories import project_with_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(client, expert_a):
    """Issue a task of a project of the given kind to expert_a (signed in); returns its payload."""
    client.force_login(expert_a)

    def issue(kind: str) -> dict:
        project = project_with_items(kind, expert_a, items=6, batch_size=3)
        response = client.post(reverse("api_next_task", args=[project.slug]), {}, content_type="application/json")
        return response.json()["task"]

    return issue


def post(client, url: str, body: str | bytes):
    return client.post(url, body, content_type="application/json")


def refused(response, status: int = 400) -> dict:
    """The refusal, checked: JSON, the status, ``code`` and a readable ``detail``; nothing stored."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "detail"}
    assert isinstance(body["code"], str) and body["detail"]
    assert not Judgement.objects.exists()
    assert not Task.objects.exclude(status=Task.Status.ISSUED).exists()
    return body


def judgement_url(task: dict) -> str:
    return reverse("api_judgement", args=[task["id"]])


@pytest.mark.parametrize("choice", [["a4c"], {"a": 1}])
def test_an_unhashable_class_is_refused_plainly(client, issue, choice):
    task = issue("classification")
    body = refused(post(client, judgement_url(task), json.dumps({"answer": {"class": choice}})))
    assert body == {
        "code": "invalid_answer",
        "detail": "class must be one of the project's classes, none_of_the_above or not_sure",
    }


@pytest.mark.parametrize("group", [[[1, 2], [3, 4]], [{"a": 1}, {"b": 2}], ["first", "second"], [True, False]])
def test_ranking_ties_holding_anything_but_item_ids_are_refused(client, issue, group):
    task = issue("ranking")
    ordering = [item["id"] for item in task["items"]]
    answer = {"ordering": ordering, "ties": [group]}
    body = refused(post(client, judgement_url(task), json.dumps({"answer": answer})))
    assert body["code"] == "invalid_answer"
    assert "item ids" in body["detail"]


@pytest.mark.parametrize("coordinate", [10**400, -(10**400), 1e300], ids=["400 digits", "minus 400 digits", "1e300"])
def test_a_coordinate_far_outside_the_image_is_refused(client, issue, coordinate):
    task = issue("keypoints")
    labels = {"apex": {"state": "placed", "points": [[coordinate, 5]]}, "lv": {"state": "off", "points": []}}
    body = refused(post(client, judgement_url(task), json.dumps({"answer": {"frame": 0, "labels": labels}})))
    assert body == {"code": "invalid_answer", "detail": "labels.apex.points[0] lies outside the image (320x240)"}


@pytest.mark.parametrize("depth", [100_000, 950, 65])
def test_a_deeply_nested_body_is_refused_before_anything_reads_it(client, issue, depth):
    task = issue("classification")
    nested = "[" * depth + "]" * depth
    for url in (judgement_url(task), reverse("api_skip", args=[task["id"]])):
        body = refused(post(client, url, '{"answer": "x", "reason": "x", "client_info": ' + nested + "}"))
        assert body["code"] == "parse_error"
        assert "nested" in body["detail"]
    assert refused(post(client, reverse("api_next_task", args=[task["project"]]), nested))["code"] == "parse_error"


def test_a_30_mb_body_is_refused_with_413(client, issue):
    task = issue("classification")
    huge = json.dumps({"answer": {"class": "a4c"}, "feedback": "x" * 30_000_000})
    for url in (judgement_url(task), reverse("api_skip", args=[task["id"]])):
        body = refused(post(client, url, huge), status=413)
        assert body == {"code": "too_large", "detail": "The request body is larger than the 10 MB this API accepts."}


@pytest.mark.parametrize("text", ["\u0000", "a\ud800b"], ids=["NUL", "lone surrogate"])
def test_text_postgresql_cannot_store_is_refused(client, issue, text):
    task = issue("classification")
    payload = {"answer": {"class": "a4c"}, "client_info": {"viewport": text}, "reason": "Poor image", "x": {text: 1}}
    for url in (judgement_url(task), reverse("api_skip", args=[task["id"]])):
        body = refused(post(client, url, json.dumps(payload)))
        assert body["code"] == "parse_error"
        assert "character" in body["detail"]


def test_a_body_that_is_not_json_is_refused_as_json(client, issue):
    task = issue("classification")
    assert refused(post(client, judgement_url(task), b"\xff{not json"))["code"] == "parse_error"
    assert refused(post(client, judgement_url(task), "[1, 2]"))["code"] == "invalid"
