"""A malformed id or an unknown path under /api/ is answered as JSON, like every API refusal;
pages elsewhere keep Django's HTML 404."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    ["/api/tasks/not-a-uuid", "/api/tasks/123/judgement", "/api/tasks/%00/renew", "/api/no-such-endpoint"],
)
def test_a_malformed_api_path_answers_json_404(client, expert_a, path):
    client.force_login(expert_a)
    response = client.post(path, data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_a_missing_page_outside_the_api_stays_html(client, expert_a):
    client.force_login(expert_a)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
