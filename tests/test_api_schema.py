"""The OpenAPI schema at /api/schema/ describes the whole API, and the API keeps to it: schemathesis
generates requests for every operation from the schema (valid and invalid), sent through the whole
Django stack as an anonymous caller, an expert (token) and an administrator (token), and checks that
no answer is a server error and every answer has a documented status, content type and shape."""

from __future__ import annotations

import numpy as np
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotations.services import do_issue_next_task, do_submit_judgement
from tests.factories import project_with_items
from tests.support import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 30


@pytest.fixture
def callers(db) -> dict[str, dict[str, str]]:
    """Projects of two kinds with answers; the three kinds of caller, as request headers."""
    expert, admin = make_user("api-expert"), make_user("api-admin", staff=True)
    ranking = project_with_items("ranking", expert, items=8, slug="api-ranking", batch_size=3)
    classification = project_with_items("classification", expert, items=4, slug="api-classification")
    rng = np.random.default_rng(0)
    for project, answer in (
        (ranking, lambda items: {"ordering": [i.pk for i in items], "ties": []}),
        (classification, lambda items: {"class": "a4c"}),
    ):
        task = do_issue_next_task(project, expert=expert, rng=rng)
        do_submit_judgement(task.pk, expert=expert, answer=answer(list(task.items.all())))
    return {
        "anonymous": {},
        "expert": {"Authorization": f"Token {Token.objects.create(user=expert).key}"},
        "admin": {"Authorization": f"Token {Token.objects.create(user=admin).key}"},
    }


@pytest.fixture
def api_schema(callers):
    # The WSGI app runs in this thread on the test's database connection: keep Django from closing
    # it at the end of each request, as its test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_keeps_to_the_schema(api_schema, callers, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 16
    tested = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def keeps_to_it(case):
            for headers in callers.values():
                response = case.call(headers={**(case.headers or {}), **headers})
                case.validate_response(response, checks=CHECKS)

        try:
            keeps_to_it()
        except Unsatisfiable:
            # Nothing in this operation can be made invalid (no body, no constrained parameter).
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        tested += 1
    assert tested >= (16 if mode is GenerationMode.POSITIVE else 8), tested


def test_the_schema_and_its_offline_docs_are_served(client):
    schema_response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema_response.status_code == 200
    document = schema_response.json()
    paths = document["paths"]
    for path in (
        "/api/projects",
        "/api/projects/{slug}/items",
        "/api/projects/{slug}/judgements",
        "/api/projects/{slug}/ratings",
        "/api/releases",
        "/api/downloads",
        "/api/projects/{slug}/tasks/next",
        "/api/tasks/{task_id}/judgement",
    ):
        assert path in paths, path
    assert {"cookieAuth", "tokenAuth"} <= set(document["components"]["securitySchemes"])
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"/static/drf_spectacular_sidecar/" in docs.content
