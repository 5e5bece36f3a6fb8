import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from tests.conftest import need, redis_reachable

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


def run_healthz_in_process(**env_overrides: str) -> tuple[int, dict]:
    """Run /healthz in a fresh Django process with the given environment."""
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); print(r.status_code); print(r.content.decode())"
    )
    env = {**os.environ, **env_overrides}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    status, body = out.stdout.strip().split("\n", 1)
    return int(status), json.loads(body)


def test_healthz_ok_in_process_mode(client, settings):
    settings.REDIS_URL = None
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True


def test_healthz_503_names_the_database_when_unreachable():
    status, body = run_healthz_in_process(DATABASE_URL="postgres://nobody@127.0.0.1:1/none", REDIS_URL="")
    assert status == 503
    assert body["checks"]["database"] == {"ok": False, "detail": "database unreachable: OperationalError"}


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_healthz_503_names_redis_when_unreachable(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["detail"].startswith("redis unreachable")
    assert body["checks"]["database"]["ok"] is True


def test_healthz_503_when_no_worker_answers(client):
    need(redis_reachable(), "Redis is not configured or not running")
    response = client.get("/healthz")
    # No worker runs in this test; the worker test checks the positive case.
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == {"ok": False, "detail": "no Celery worker answered"}
