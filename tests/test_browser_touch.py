"""On a tablet (Chromium emulating an iPad-sized touch screen), an expert reorders a ranking
batch with a finger and pinches to zoom a keypoint frame: real touch events (CDP
Input.dispatchTouchEvent), which the page receives as pointer events of type "touch", as on an
iPad or an Android tablet. WebKitGTK's WebDriver has no touch input, so this runs in Chromium."""

from __future__ import annotations

import itertools
import time

import pytest

from annotations.models import Judgement
from projects.models import Project
from projects.services import do_add_member
from tests.browser_helpers import (
    ChromiumSession,
    ingest_synthetic,
    sign_in,
    wait_task,
)
from tests.conftest import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORDER = "() => [...document.querySelectorAll('.rank-item')].map(li => Number(li.dataset.item))"


@pytest.fixture
def tablet(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    yield page
    context.close()


def touch_drag(page, points: list[tuple[float, float]], *, hold: float = 0.0) -> None:
    """One finger down on the first point (held still for ``hold`` seconds), through the others."""
    cdp = page.context.new_cdp_session(page)
    x, y = points[0]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y, "id": 1}]})
    time.sleep(hold)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        for step in range(1, 7):
            fx = x0 + (x1 - x0) * step / 6
            fy = y0 + (y1 - y0) * step / 6
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": fx, "y": fy, "id": 1}]})
    # Rest the finger before lifting it, as a person placing a clip does: lifting it while still
    # moving is a fling, and the first tap after a fling only stops the fling (no click).
    time.sleep(0.2)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": fx, "y": fy, "id": 1}]})
    time.sleep(0.2)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_expert_reorders_a_batch_with_a_finger_on_a_tablet(app_settings, live_server, tablet, demo_expert, tmp_path):
    project = make_project(Project.Kind.RANKING, slug="touch-ranking", title="Touch ranking", batch_size=4)
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 4)
    browser = ChromiumSession(tablet)
    sign_in(browser, live_server.url, next_url="/p/touch-ranking/label/")
    first = wait_task(browser)
    assert tablet.evaluate("() => matchMedia('(pointer: coarse)').matches")
    before = browser.js(ORDER)
    touch_drag(
        tablet,
        [
            browser.center(".rank-item:nth-child(1) canvas"),
            browser.center(".rank-item:nth-child(2) canvas"),
            browser.center(".rank-item:nth-child(3) canvas"),
        ],
    )
    browser.wait("(id) => Number(document.querySelectorAll('.rank-item')[2].dataset.item) === id", before[0])
    after = browser.js(ORDER)
    assert after == [before[1], before[2], before[0], before[3]]
    browser.shot("tablet-ranking-after-touch-drag")
    tablet.tap("#submit")
    # Four clips, one batch: the expert has seen them all, so the screen says so.
    browser.wait("(id) => document.body.dataset.taskId && document.body.dataset.taskId !== id", first)
    judgement = Judgement.objects.get(task_id=first)
    assert judgement.answer["ordering"] == after
    assert judgement.client_info["pointer"] == "coarse"


@pytest.fixture
def phone(chromium_browser):
    context = chromium_browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=3, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(20000)
    yield page
    context.close()


def test_on_a_phone_a_swipe_on_a_clip_scrolls_and_its_handle_or_a_hold_moves_it(
    app_settings, live_server, phone, demo_expert, tmp_path
):
    project = make_project(Project.Kind.RANKING, slug="phone-ranking", title="Phone ranking", batch_size=6)
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 6, rows=240, columns=320)
    browser = ChromiumSession(phone)
    sign_in(browser, live_server.url, next_url="/p/phone-ranking/label/")
    wait_task(browser)
    assert browser.js("() => document.querySelector('.rank-list').classList.contains('scrolls')")
    assert "handle" in browser.js("() => document.querySelector('.drag-hint').textContent")
    before = browser.js(ORDER)

    # A swipe up on a clip scrolls the page and moves nothing.
    x, y = browser.center(".rank-item:nth-child(3) canvas")
    touch_drag(phone, [(x, y), (x, y - 250)])
    browser.wait("() => window.scrollY > 40", what="the page to scroll")
    assert browser.js(ORDER) == before

    # The handle moves a clip at once: the first clip onto the second place.
    browser.js("() => window.scrollTo(0, 0)")
    browser.wait("() => window.scrollY === 0")
    touch_drag(
        phone, [browser.center(".rank-item:nth-child(1) .grab"), browser.center(".rank-item:nth-child(2) canvas")]
    )
    browser.wait("(id) => Number(document.querySelectorAll('.rank-item')[1].dataset.item) === id", before[0])
    moved = browser.js(ORDER)
    assert moved == [before[1], before[0], *before[2:]]

    # Pressed and held still, a clip moves with the finger: the third onto the fourth place.
    x, y = browser.center(".rank-item:nth-child(3) canvas")
    touch_drag(phone, [(x, y), browser.center(".rank-item:nth-child(4) canvas")], hold=0.6)
    browser.wait("(id) => Number(document.querySelectorAll('.rank-item')[3].dataset.item) === id", moved[2])
    assert browser.js(ORDER) == [moved[0], moved[1], moved[3], moved[2], *moved[4:]]
    browser.shot("phone-ranking-after-touch")


def pinch(page, center: tuple[float, float], *, start: float, end: float) -> None:
    """Two fingers on ``center``, ``start`` px apart horizontally, spreading to ``end`` px."""
    cdp = page.context.new_cdp_session(page)
    x, y = center

    def fingers(gap: float) -> list[dict[str, float]]:
        return [{"x": x - gap / 2, "y": y, "id": 1}, {"x": x + gap / 2, "y": y, "id": 2}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(start)})
    for step in range(1, 11):
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": fingers(start + (end - start) * step / 10)}
        )
    time.sleep(0.2)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_expert_pinches_to_zoom_the_frame_without_placing_a_point(
    app_settings, live_server, tablet, demo_expert, tmp_path
):
    schema = {"points": [{"key": "apex", "name": "Apex", "colour": "#984ea3"}]}
    project = make_project(Project.Kind.KEYPOINTS, slug="touch-points", title="Touch points", label_schema=schema)
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 1)
    browser = ChromiumSession(tablet)
    sign_in(browser, live_server.url, next_url="/p/touch-points/label/")
    wait_task(browser)
    assert browser.js("() => document.querySelector('.kp-viewport').dataset.zoom || '1'") == "1"
    pinch(tablet, browser.center(".kp-overlay"), start=60, end=180)
    zoom = float(browser.wait("() => document.querySelector('.kp-viewport').dataset.zoom"))
    assert 2.0 <= zoom <= 3.5  # the fingers spread three times apart
    assert browser.js("() => document.querySelectorAll('.kp-handle').length") == 0
    browser.shot("tablet-keypoints-pinched")
