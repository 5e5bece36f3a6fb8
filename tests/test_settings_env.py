"""Invalid configuration stops start-up naming the variable; production checks are clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": "x" * 64 + "production-like-secret-for-the-deploy-check",
    "ALLOWED_HOSTS": "unity.example.org",
    "GOOGLE_CLIENT_ID": "id.apps.googleusercontent.com",
    "GOOGLE_CLIENT_SECRET": "secret",
    "SECURE_SSL_REDIRECT": "1",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GOOGLE_", "DJANGO_", "SECRET_KEY", "SECURE_", "UNITY_SECURE_COOKIES"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://localhost/unity"),
        ("REDIS_URL", "http://localhost:6379"),
        ("DJANGO_DEBUG", "perhaps"),
        ("UNITY_SESSION_SECONDS", "soon"),
        ("UNITY_MEDIA_SERVING", "ftp"),
    ],
)
def test_invalid_value_stops_startup_naming_the_variable(variable, value):
    result = manage("check", **{**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert variable in result.stderr


def test_missing_secret_key_in_production_names_it():
    env = dict(PRODUCTION)
    del env["SECRET_KEY"]
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_missing_google_credentials_in_production_is_a_check_error():
    env = {k: v for k, v in PRODUCTION.items() if not k.startswith("GOOGLE_")}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "unity.E001" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr


def test_secret_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(PRODUCTION["SECRET_KEY"] + "\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", SECRET_KEY_FILE=str(secret_file), **env)
    assert result.returncode == 0, result.stderr
