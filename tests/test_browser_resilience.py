"""The labelling screen keeps the expert's answer through trouble, in Chromium and WebKit: a stale
tab after the project closed (clear message, answer kept, draft restored after a reload), a
connection that drops after the server recorded the answer (the retry replays: one judgement),
and an ended session (sign in again, Retry sends the same answer)."""

from __future__ import annotations

import pytest

from annotations.models import Judgement
from projects.models import Project
from projects.services import do_add_member
from tests.browser_helpers import (
    ingest_synthetic,
    sign_in,
    wait_task,
)
from tests.conftest import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLASSES = [
    {"key": "a4c", "name": "Apical four-chamber", "description": "All four chambers"},
    {"key": "a2c", "name": "Apical two-chamber", "description": "LV and LA"},
]
# The first judgement request reaches the server, but its response is lost on the way back.
DROP_FIRST_RESPONSE = """() => {
  const real = window.fetch;
  let dropped = false;
  window.fetch = async (url, options) => {
    const response = await real(url, options);
    if (!dropped && String(url).includes('/judgement')) { dropped = true; throw new TypeError('network'); }
    return response;
  };
  return true;
}"""


@pytest.fixture
def views_project(demo_expert, tmp_path):
    project = make_project(Project.Kind.CLASSIFICATION, slug="views", label_schema={"classes": CLASSES})
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 4)
    return project


def notice_kind(browser) -> str:
    return browser.wait("() => { const n = document.getElementById('notice'); return !n.hidden && n.dataset.kind; }")


def test_answer_survives_closed_project_dropped_connection_and_ended_session(
    app_settings, live_server, browser, views_project
):
    sign_in(browser, live_server.url, next_url="/p/views/label/")
    first = wait_task(browser)

    # Stale tab: the project closed while the expert worked.
    browser.click("label[for='class-a2c']")
    Project.objects.filter(pk=views_project.pk).update(status=Project.Status.COMPLETED)
    browser.click("#submit")
    assert notice_kind(browser) == "project-closed"
    assert browser.js("() => document.getElementById('class-a2c').checked")
    browser.shot("project-closed")
    assert not Judgement.objects.exists()

    # Reopened; a reload brings the same task back with the draft restored from localStorage.
    Project.objects.filter(pk=views_project.pk).update(status=Project.Status.OPEN)
    browser.goto(f"{live_server.url}/p/views/label/")
    assert wait_task(browser) == first
    assert browser.js("() => document.getElementById('class-a2c').checked")

    # The connection drops after the server recorded the answer: the automatic retry replays it.
    browser.js(DROP_FIRST_RESPONSE)
    browser.click("#submit")
    second = wait_task(browser, not_id=first)
    assert Judgement.objects.filter(task_id=first).count() == 1

    # The session ends: a clear message with a sign-in link; Retry sends the kept answer.
    session = browser.take_cookie("sessionid")
    browser.click("label[for='class-a4c']")
    browser.click("#submit")
    assert notice_kind(browser) == "signed-out"
    assert browser.js("() => document.querySelector('#notice a[target=_blank]').href").endswith(
        "/accounts/login/?next=/signed-in/"
    )
    browser.shot("signed-out")
    assert not Judgement.objects.filter(task_id=second).exists()
    browser.put_cookie(session)
    browser.click("#notice button")
    wait_task(browser, not_id=second)
    assert Judgement.objects.get(task_id=second).answer == {"class": "a4c"}
    assert Judgement.objects.count() == 2
