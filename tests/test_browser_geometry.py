"""Where the expert clicks is what is stored, on every screen experts use, in Chromium and WebKit.

The expected coordinates come from the pixels, never from the app's layout code: a synthetic clip
carries small magenta squares burned in at known image pixels (``media_ingest.synthetic``:
a square centred on pixel (x, y) has its centre at (x + 0.5, y + 0.5) in the continuous image
coordinates the app stores). The test finds the squares in a screenshot of the page, clicks on
their centres, and checks the stored points are within 1 image pixel of the truth (moved by the
click's own offset from the centre where the driver cannot aim between CSS pixels: WebKit's aims
at whole pixels, and on a phone one CSS pixel spans 1.5 image pixels; the offset is converted
with the scale measured between the marks on screen, not taken from the app): at fit, and
again zoomed in (x3.4) and panned by dragging, so each square is clicked in a different place on
screen. Screens: laptops, a desktop, an iPad both ways and a phone (Chromium emulates each
device's viewport, pixel ratio and touch; WebKitGTK sizes its window, no narrower than ~450 px).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from annotations.models import Judgement
from projects.models import Project
from projects.services import do_add_member
from tests.browser_helpers import (
    ENGINES,
    SCREENS,
    SCREENSHOTS,
    BrowserSession,
    Screen,
    browser_on_screen,
    ingest_synthetic,
    sign_in,
    wait_task,
)
from tests.conftest import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS, COLUMNS = 480, 640
# Two rows of three, far apart (no two fit in one zoomed view); the outer ones hug the left and
# right edges, where a stretched overlay errs most.
LANDMARKS = [(4, 44), (322, 52), (635, 40), (30, 470), (300, 475), (610, 468)]
TRUTH = [(x + 0.5, y + 0.5) for x, y in LANDMARKS]
TOLERANCE_PX = 1.0
ZOOM_CLICKS = 3
COLOURS = ["#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#17becf", "#8c564b"]
SCHEMA = {
    "points": [{"key": f"m{k}", "name": f"Mark {k + 1}", "colour": c} for k, c in enumerate(COLOURS)],
    "curves": [],
}


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


@pytest.fixture(params=SCREENS, ids=[s.name for s in SCREENS])
def screen(request):
    return request.param


@pytest.fixture
def sized_browser(request, engine: str, screen: Screen):
    yield from browser_on_screen(request, engine, screen)


@pytest.fixture
def marked_project(demo_expert, tmp_path):
    project = make_project(
        Project.Kind.KEYPOINTS, slug="marks", title="Marks", question="Click each mark.", label_schema=SCHEMA
    )
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 3, rows=ROWS, columns=COLUMNS, frames=4, landmarks=LANDMARKS)
    return project


def find_marks(browser: BrowserSession) -> list[tuple[float, float]]:
    """Centres of the magenta squares on screen, in CSS pixels of the viewport."""
    rgb = browser.viewport_pixels().astype(np.int16)
    ratio = rgb.shape[1] / browser.js("() => window.innerWidth")
    magenta = np.clip(np.minimum(rgb[..., 0], rgb[..., 2]) - rgb[..., 1], 0, None).astype(np.float64)
    mask = (magenta > 90).astype(np.uint8)
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    marks = []
    for k in range(1, count):
        x, y, w, h, area = stats[k]
        if area < 3:
            continue
        # Weighted centre over the square and its blurred rim (JPEG), in device pixels.
        x0, y0, x1, y1 = max(x - 2, 0), max(y - 2, 0), x + w + 2, y + h + 2
        weights = magenta[y0:y1, x0:x1] * (magenta[y0:y1, x0:x1] > 40)
        ys, xs = np.mgrid[y0 : y0 + weights.shape[0], x0 : x0 + weights.shape[1]]
        total = weights.sum()
        cx, cy = (xs * weights).sum() / total, (ys * weights).sum() / total
        # Device pixel i spans [i, i + 1): its centre is i + 0.5.
        marks.append(((cx + 0.5) / ratio, (cy + 0.5) / ratio))
    return marks


def in_reading_order(marks: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Top row left to right, then bottom row: the order of LANDMARKS."""
    assert len(marks) == len(LANDMARKS), f"found {len(marks)} marks on screen, expected {len(LANDMARKS)}"
    by_row = sorted(marks, key=lambda m: m[1])
    return sorted(by_row[:3]) + sorted(by_row[3:])


def visible_rect(browser: BrowserSession) -> list[float]:
    return browser.js(
        "() => { const r = document.querySelector('.kp-viewport').getBoundingClientRect();"
        " return [Math.max(r.left, 0), Math.max(r.top, 0), Math.min(r.right, innerWidth), Math.min(r.bottom, innerHeight)]; }"
    )


def drag_image(browser: BrowserSession, rect: list[float], dx: float, dy: float) -> None:
    """Drag the image by (dx, dy) CSS pixels, in strokes that stay inside the visible view (a
    WebDriver pointer may not leave the viewport)."""
    left, top, right, bottom = rect
    middle = ((left + right) / 2, (top + bottom) / 2)
    reach = (right - left) / 2 - 4, (bottom - top) / 2 - 4
    while abs(dx) > 0.5 or abs(dy) > 0.5:
        step = (max(-reach[0], min(reach[0], dx)), max(-reach[1], min(reach[1], dy)))
        start = (middle[0] - step[0] / 2, middle[1] - step[1] / 2)
        browser.pointer_drag([start, (start[0] + step[0], start[1] + step[1])])
        dx, dy = dx - step[0], dy - step[1]


def click_mark(browser: BrowserSession, point: tuple[float, float], placed: int) -> tuple[float, float]:
    """Click a mark's centre; return how far the click landed from it (CSS px): WebKit's driver
    aims at whole CSS pixels only."""
    clicked = browser.click_at(*point)
    browser.wait("(n) => document.querySelectorAll('.kp-handle').length === n", placed, what=f"{placed} points")
    return clicked[0] - point[0], clicked[1] - point[1]


def screen_scale(marks: list[tuple[float, float]]) -> tuple[float, float]:
    """CSS pixels per image pixel, measured between the marks on screen (not from the app)."""
    sx = (marks[2][0] - marks[0][0]) / (TRUTH[2][0] - TRUTH[0][0])
    sy = (marks[4][1] - marks[1][1]) / (TRUTH[4][1] - TRUTH[1][1])
    return sx, sy


def stored_errors(task_id: str, offsets: list[tuple[float, float]]) -> list[float]:
    """Distance of each stored point from the image point actually clicked: the mark's true
    centre, moved by the click's offset from the mark (in image pixels)."""
    labels = Judgement.objects.get(task_id=task_id).answer["labels"]
    return [
        math.dist(labels[f"m{k}"]["points"][0], (truth[0] + offset[0], truth[1] + offset[1]))
        for k, (truth, offset) in enumerate(zip(TRUTH, offsets, strict=True))
        if labels[f"m{k}"]["points"]
    ]


def record(engine: str, screen: Screen, phase: str, errors: list[float]) -> None:
    """Keep the measured errors for review beside the screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (SCREENSHOTS.parent / "geometry-errors.tsv").open("a") as out:
        out.write(f"{engine}\t{screen.name}\t{phase}\t{max(errors):.3f}\t{' '.join(f'{e:.2f}' for e in errors)}\n")


def show_image(browser: BrowserSession) -> None:
    browser.js(
        "() => { const r = document.querySelector('.kp-viewport').getBoundingClientRect();"
        " if (r.top < 0 || r.bottom > innerHeight) document.querySelector('.kp-viewport').scrollIntoView(); }"
    )
    browser.wait("() => document.querySelector('.cine-canvas').dataset.frame === '0'")


@pytest.mark.usefixtures("app_settings", "marked_project")
def test_clicks_on_burned_in_marks_store_their_pixels(live_server, sized_browser, screen):
    browser = sized_browser
    engine = browser.engine
    sign_in(browser, live_server.url, next_url="/p/marks/label/")
    first = wait_task(browser)
    show_image(browser)
    browser.shot(f"geometry-{screen.name}")
    marks = in_reading_order(find_marks(browser))
    sx, sy = screen_scale(marks)
    offsets = []
    for k, point in enumerate(marks):
        dx, dy = click_mark(browser, point, k + 1)
        offsets.append((dx / sx, dy / sy))
    browser.click("#submit")
    second = wait_task(browser, not_id=first)
    errors = stored_errors(first, offsets)
    record(engine, screen, "fit", errors)
    assert len(errors) == len(TRUTH)
    assert max(errors) <= TOLERANCE_PX, f"{engine} {screen.name} at fit: errors {[round(e, 2) for e in errors]} px"

    # Zoomed in and panned: for each mark, fit, zoom in about the centre, drag the image
    # so the mark comes to the middle of the view, find it again on screen, click it.
    show_image(browser)
    # Found once, before any point is placed: a placed point's handle covers its mark.
    targets = in_reading_order(find_marks(browser))
    offsets = []
    for k, target in enumerate(targets):
        browser.click(".kp-zoom-reset")
        for _ in range(ZOOM_CLICKS):
            browser.click(".kp-zoom-in")
        left, top, right, bottom = visible_rect(browser)
        middle = ((left + right) / 2, (top + bottom) / 2)
        scale = float(browser.js("() => document.querySelector('.kp-viewport').dataset.zoom"))
        assert scale > 3
        # Where the mark went: zoom is about the view's middle. Drag it back there.
        there = (middle[0] + scale * (target[0] - middle[0]), middle[1] + scale * (target[1] - middle[1]))
        drag_image(browser, (left, top, right, bottom), middle[0] - there[0], middle[1] - there[1])
        seen = [m for m in find_marks(browser) if left + 2 < m[0] < right - 2 and top + 2 < m[1] < bottom - 2]
        assert len(seen) == 1, f"{engine} {screen.name}: after zoom and pan, {len(seen)} marks in view (mark {k})"
        if k == 0:
            browser.shot(f"geometry-{screen.name}-zoomed")
        dx, dy = click_mark(browser, seen[0], k + 1)
        offsets.append((dx / (sx * scale), dy / (sy * scale)))
    browser.click(".kp-zoom-reset")
    browser.click("#submit")
    wait_task(browser, not_id=second)
    errors = stored_errors(second, offsets)
    record(engine, screen, "zoomed", errors)
    assert len(errors) == len(TRUTH)
    assert max(errors) <= TOLERANCE_PX, f"{engine} {screen.name} zoomed: errors {[round(e, 2) for e in errors]} px"
