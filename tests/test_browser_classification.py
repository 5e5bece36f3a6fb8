"""Classification end to end, in Chromium and WebKit: sign in with the demo login, home, project
page, answer one task with the mouse and one with the keyboard, and see the next task each time."""

from __future__ import annotations

import pytest

from annotations.models import Judgement
from projects.models import Project
from projects.services import do_add_member
from tests.browser_helpers import (
    assert_no_serious_axe_violations,
    ingest_synthetic,
    sign_in,
    wait_task,
)
from tests.conftest import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLASSES = [
    {"key": "plax", "name": "Parasternal long axis", "description": "LV, LA, aortic root"},
    {"key": "a4c", "name": "Apical four-chamber", "description": "All four chambers"},
    {"key": "a2c", "name": "Apical two-chamber", "description": "LV and LA, no RV"},
    {"key": "a3c", "name": "Apical three-chamber", "description": "LVOT and aortic valve"},
    {"key": "subcostal", "name": "Subcostal four-chamber", "description": "From below the ribs"},
]


@pytest.fixture
def classification_project(demo_expert, tmp_path):
    project = make_project(
        Project.Kind.CLASSIFICATION,
        slug="views",
        title="TTE view detection",
        question="Which view is this clip?",
        guidelines="Pick the view. Use **Not sure** rather than guessing.",
        label_schema={"classes": CLASSES},
    )
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 3)
    return project


def test_expert_classifies_with_mouse_then_keyboard(
    app_settings, live_server, browser, classification_project, demo_expert
):
    base = live_server.url
    sign_in(browser, base, next_url="/")
    browser.wait_for(".project-card[data-project='views']")
    browser.shot("home")
    assert_no_serious_axe_violations(browser, "home")

    browser.click(".project-card[data-project='views'] .project-title a")
    browser.wait_for("#start")
    assert "Use" in browser.js("() => document.querySelector('.guidelines').textContent")
    browser.shot("project-page")
    assert_no_serious_axe_violations(browser, "project page")

    browser.click("#start")
    first = wait_task(browser)
    browser.wait("() => document.querySelectorAll('.class-option').length === 7")
    browser.shot("classification")
    assert_no_serious_axe_violations(browser, "classification")

    # Mouse: click a class, then Submit.
    browser.click("label[for='class-a2c']")
    browser.click("#submit")
    second = wait_task(browser, not_id=first)
    assert Judgement.objects.get(task_id=first).answer == {"class": "a2c"}

    # Keyboard: filter, Enter picks the first match, Enter again submits.
    browser.focus("#class-filter")
    browser.type_text("three")
    assert (
        browser.js(
            "() => [...document.querySelectorAll('.class-list:not(.fixed) .class-option')].filter(o => !o.hidden).length"
        )
        == 1
    )
    browser.press("Enter")
    browser.wait("() => document.querySelector('#class-a3c').checked")
    browser.press("Enter")
    third = wait_task(browser, not_id=second)
    browser.shot("classification-next")

    judgement = Judgement.objects.get(task_id=second)
    assert judgement.answer == {"class": "a3c"}
    assert judgement.time_on_task_ms > 0
    assert judgement.client_info["viewport"]
    assert third not in (first, second)
    assert Judgement.objects.filter(expert=demo_expert).count() == 2
