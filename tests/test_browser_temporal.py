"""Temporal end to end, in Chromium and WebKit: mark ED and ES on frames over two beats with the
mouse, jump between marks; then answer a task with the keyboard alone."""

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

FRAME = "() => Number(document.querySelector('.cine-canvas').dataset.frame)"


@pytest.fixture
def temporal_project(demo_expert, tmp_path):
    project = make_project(Project.Kind.TEMPORAL, slug="ed-es", title="ED and ES", question="Mark ED and ES.")
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 3)
    return project


def go_to(browser, frame: int) -> None:
    browser.js(
        "(n) => { const r = document.querySelector('.scrub'); r.value = n; r.dispatchEvent(new Event('input')); }",
        frame,
    )
    browser.wait(f"() => ({FRAME})() === {frame}", what=f"frame {frame}")


def test_expert_marks_events_over_beats_with_mouse_then_keyboard(app_settings, live_server, browser, temporal_project):
    sign_in(browser, live_server.url, next_url="/p/ed-es/label/")
    first = wait_task(browser)

    # Mouse: ED on 3, ES on 10, ED on 18, ES on 25, using the on-screen buttons.
    for frame, event in [(3, "ed"), (10, "es"), (18, "ed"), (25, "es")]:
        go_to(browser, frame)
        browser.click(f".event-button[data-event='{event}']")
    browser.wait("() => document.querySelectorAll('.timeline .tick').length === 4")
    # Jump between marks.
    browser.click(".mark-next")
    browser.wait(f"() => ({FRAME})() === 3")
    browser.click(".mark-next")
    browser.wait(f"() => ({FRAME})() === 10")
    browser.click(".mark-prev")
    browser.wait(f"() => ({FRAME})() === 3")
    browser.shot("temporal")
    assert_no_serious_axe_violations(browser, "temporal")
    browser.click("#submit")
    second = wait_task(browser, not_id=first)
    assert Judgement.objects.get(task_id=first).answer == {
        "events": [
            {"key": "ed", "frame": 3, "beat": 1},
            {"key": "es", "frame": 10, "beat": 1},
            {"key": "ed", "frame": 18, "beat": 2},
            {"key": "es", "frame": 25, "beat": 2},
        ]
    }

    # Keyboard: step with arrows, 1 marks ED, 2 marks ES, ] jumps, Delete removes, Ctrl+Enter submits.
    browser.focus(".step-next")
    browser.press("ArrowRight", "ArrowRight", "1")
    browser.press("Shift+ArrowRight", "2")
    browser.press("ArrowRight", "2", "Delete")
    browser.press("]")
    browser.wait(f"() => ({FRAME})() === 2")
    browser.press("Control+Enter")
    wait_task(browser, not_id=second)
    assert Judgement.objects.get(task_id=second).answer == {
        "events": [{"key": "ed", "frame": 2, "beat": 1}, {"key": "es", "frame": 12, "beat": 1}]
    }
