"""Shared people and projects. Data is built through the services, as the platform builds it."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model

from projects.models import Project
from projects.schemas import default_schema
from projects.services import do_add_member, do_create_project

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


@pytest.fixture
def admin_user(db):
    return make_user("admin", staff=True)


@pytest.fixture
def expert_a(db):
    return make_user("expert-a")


@pytest.fixture
def expert_b(db):
    return make_user("expert-b")


@pytest.fixture
def outsider(db):
    return make_user("outsider")


@pytest.fixture
def researcher(db):
    return make_user("researcher")


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


@pytest.fixture
def project(db, expert_a, expert_b) -> Project:
    project = make_project()
    do_add_member(project, user=expert_a)
    do_add_member(project, user=expert_b)
    return project


@pytest.fixture
def other_project(db, outsider) -> Project:
    project = make_project(slug="other-project")
    do_add_member(project, user=outsider)
    return project
