"""Helpers shared by tests and their fixtures (kept apart from conftest so fixture modules such as
tests/browser_helpers can import them without a cycle)."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from projects.models import Project
from projects.schemas import default_schema
from projects.services import do_create_project

REQUIRE_SERVICES = os.environ.get("UNITY_TEST_REQUIRE_SERVICES") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip when a service is missing on a developer's machine; fail in CI, where it must exist."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def redis_reachable() -> bool:
    if not settings.REDIS_URL:
        return False
    parts = urlsplit(settings.REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def make_user(username: str, *, staff: bool = False, email: str | None = None):
    user = get_user_model().objects.create_user(
        username=username, email=email or f"{username}@example.org", is_staff=staff, is_superuser=staff
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def make_project(kind: str = Project.Kind.CLASSIFICATION, *, slug: str | None = None, **extra) -> Project:
    fields = {
        "slug": slug or f"{kind}-project",
        "title": f"A {kind} project",
        "kind": kind,
        "status": Project.Status.OPEN,
        "question": "What do you see?",
        "label_schema": default_schema(kind),
    }
    if kind == Project.Kind.RANKING:
        fields.update(axis_start_label="Most accurate view", axis_end_label="Most foreshortened")
    fields.update(extra)
    return do_create_project(**fields)


def session_for(user, base_url: str, project: Project) -> requests.Session:
    """A signed-in HTTP session of ``user`` against a live server, with its CSRF token set."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    page = session.get(f"{base_url}{project.get_absolute_url()}", timeout=10)
    assert page.status_code == 200
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session
