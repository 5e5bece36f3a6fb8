"""Shared people and projects. Data is built through the services, as the platform builds it."""

from __future__ import annotations

import pytest

from projects.models import Project
from projects.services import do_add_member
from tests.browser_helpers import (  # noqa: F401 - fixtures for the browser tests, used by name
    app_settings_fixture,
    browser_fixture,
    chromium_fixture,
    demo_expert_fixture,
    webkit_fixture,
)
from tests.ingest_helpers import roots_fixture  # noqa: F401 - the "roots" fixture of ingest tests
from tests.support import (  # noqa: F401 - re-exported: tests import these from here
    REQUIRE_SERVICES,
    is_postgres,
    make_project,
    make_user,
    need,
    redis_reachable,
)


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
