"""What a new user tries first works as the README says: management commands on a fresh
checkout with nothing configured, and a sign-in provider with no client configured answers a
page that says so (not a 500)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys

import pytest

from tests.workers import ROOT

pytestmark = pytest.mark.django_db


def test_a_management_command_runs_as_written_with_nothing_configured(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_DEBUG", "SECRET_KEY", "SECRET_KEY_FILE", "DATABASE_URL", "REDIS_URL")
    }
    env["UNITY_VAR_DIR"] = str(tmp_path / "var")
    done = subprocess.run(
        [sys.executable, "manage.py", "make_demo_echoes", str(tmp_path / "out"), "--count", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "out").glob("*.dcm"))


def test_a_configured_environment_keeps_debug_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "DATABASE_URL", "REDIS_URL")}
    env.update(SECRET_KEY="x" * 50, UNITY_VAR_DIR=str(tmp_path / "var"))
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.DEBUG)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout + done.stderr


def test_google_sign_in_without_a_client_answers_a_clear_page(client, settings):
    providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    providers["google"].pop("APPS", None)
    settings.SOCIALACCOUNT_PROVIDERS = providers
    client.raise_request_exception = False
    page = client.get("/accounts/google/login/")
    assert page.status_code == 503
    assert "not set up on this server" in page.content.decode()
    assert "GOOGLE_CLIENT_ID" in page.content.decode()
