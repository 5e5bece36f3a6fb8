"""Keypoints and curves end to end, in Chromium and WebKit: place named points and a spline curve
with the mouse, move a point, undo, zoom; then answer a task with the keyboard alone (cross moved
by arrow keys, Enter places, B marks a label blurred). Coordinates arrive in image pixels."""

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

SCHEMA = {
    "points": [
        {"key": "hinge_septal", "name": "Septal mitral hinge", "colour": "#e41a1c"},
        {"key": "hinge_lateral", "name": "Lateral mitral hinge", "colour": "#4daf4a"},
    ],
    "curves": [{"key": "lv_endo", "name": "LV endocardium", "colour": "#377eb8", "min_points": 3}],
}
TO_CLIENT = """([x, y]) => { const r = document.querySelector('.kp-overlay').getBoundingClientRect();
  return [r.left + x / 160 * r.width, r.top + y / 120 * r.height]; }"""


@pytest.fixture
def keypoints_project(demo_expert, tmp_path):
    project = make_project(
        Project.Kind.KEYPOINTS,
        slug="lv-border",
        title="LV border",
        question="Trace the LV border.",
        label_schema=SCHEMA,
    )
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 3)
    return project


def tap(browser, x: float, y: float) -> None:
    browser.pointer_drag([tuple(browser.js(TO_CLIENT, [x, y]))])


def near(point: list[float], expected: tuple[float, float]) -> bool:
    return abs(point[0] - expected[0]) <= 1.5 and abs(point[1] - expected[1]) <= 1.5


def test_expert_places_points_and_curves_with_mouse_then_keyboard(
    app_settings, live_server, browser, keypoints_project
):
    sign_in(browser, live_server.url, next_url="/p/lv-border/label/")
    first = wait_task(browser)
    browser.click(".step-next")
    browser.click(".step-next")
    browser.wait("() => document.querySelector('.cine-canvas').dataset.frame === '2'")

    # Mouse: two points (the active label moves on by itself), then a three-point curve.
    for x, y in [(40, 90), (120, 90), (40, 80), (80, 20), (120, 80)]:
        tap(browser, x, y)
    browser.wait("() => document.querySelectorAll('.kp-handle').length === 5")
    assert browser.js("() => document.querySelector('.kp-overlay path').getAttribute('d').split('C').length") == 3
    # Move the septal hinge by dragging its handle, undo it, then move it again.
    start, end = browser.js(TO_CLIENT, [40, 90]), browser.js(TO_CLIENT, [50, 100])
    browser.pointer_drag([tuple(start), tuple(end)])
    browser.click(".kp-undo")
    browser.pointer_drag([tuple(start), tuple(browser.js(TO_CLIENT, [45, 95]))])
    browser.click(".kp-zoom-in")
    assert browser.js("() => document.querySelector('.kp-viewport').dataset.zoom") == "1.5"
    browser.shot("keypoints")
    assert_no_serious_axe_violations(browser, "keypoints")
    browser.click(".kp-zoom-reset")
    browser.click("#submit")
    second = wait_task(browser, not_id=first)

    answer = Judgement.objects.get(task_id=first).answer
    labels = answer["labels"]
    assert answer["frame"] == 2
    assert labels["hinge_septal"]["state"] == "placed" and near(labels["hinge_septal"]["points"][0], (45, 95))
    assert near(labels["hinge_lateral"]["points"][0], (120, 90))
    curve = labels["lv_endo"]["points"]
    assert len(curve) == 3 and all(near(p, e) for p, e in zip(curve, [(40, 80), (80, 20), (120, 80)], strict=True))

    # Keyboard: the image has focus; Enter places at the cross (centre), arrows move it.
    browser.wait("() => document.activeElement.classList.contains('kp-overlay')")
    browser.press("Enter", "Shift+ArrowRight", "Shift+ArrowRight", "ArrowDown", "Enter")
    browser.press("b")
    browser.shot("keypoints-keyboard")
    browser.press("Control+Enter")
    wait_task(browser, not_id=second)
    answer = Judgement.objects.get(task_id=second).answer
    assert answer == {
        "frame": 0,
        "labels": {
            "hinge_septal": {"state": "placed", "points": [[80.0, 60.0]]},
            "hinge_lateral": {"state": "placed", "points": [[100.0, 61.0]]},
            "lv_endo": {"state": "blurred", "points": []},
        },
    }
