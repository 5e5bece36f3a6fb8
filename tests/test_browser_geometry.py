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
from django.contrib.auth import get_user_model

from annotations.models import Judgement
from projects.models import Project
from projects.services import do_add_member
from tests.browser_helpers import (
    DEMO_EXPERT,
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
TOLERANCE_PX = 1.0
ZOOM_CLICKS = 3
COLOURS = ["#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#17becf", "#8c564b"]
SCHEMA = {
    "points": [{"key": f"m{k}", "name": f"Mark {k + 1}", "colour": c} for k, c in enumerate(COLOURS)],
    "curves": [],
}
# Clip shapes beside the common 640x480: portrait, two scanner formats, the 112x112 model input.
SHAPES = [(640, 480), (708, 1016), (600, 800), (112, 112)]


def landmarks_for(rows: int, columns: int) -> list[tuple[int, int]]:
    """Two rows of three marks, far apart (no two fit in one zoomed view); the outer ones hug the
    left and right edges, where a stretched overlay errs most. Below the banner, which masking
    removes (media_ingest.synthetic: 32 rows, or rows // 8 on small frames)."""
    top = (32 if rows >= 200 else max(8, rows // 8)) + 4
    return [
        (4, top + 2),
        (columns // 2 + 2, top + 8),
        (columns - 5, top),
        (columns // 20 + 4, rows - 10),
        (columns // 2 - columns // 10, rows - 5),
        (columns - columns // 20 - 5, rows - 12),
    ]


def truth_for(landmarks: list[tuple[int, int]]) -> list[tuple[float, float]]:
    return [(x + 0.5, y + 0.5) for x, y in landmarks]


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


@pytest.fixture(params=SCREENS, ids=[s.name for s in SCREENS])
def screen(request):
    return request.param


@pytest.fixture
def sized_browser(request, engine: str, screen: Screen):
    yield from browser_on_screen(request, engine, screen)


def marked_project(folder, *, rows: int = ROWS, columns: int = COLUMNS, clips: int = 3) -> Project:
    project = make_project(
        Project.Kind.KEYPOINTS, slug="marks", title="Marks", question="Click each mark.", label_schema=SCHEMA
    )
    do_add_member(project, user=get_user_model().objects.get(username=DEMO_EXPERT))
    ingest_synthetic(
        project, folder, clips, rows=rows, columns=columns, frames=4, landmarks=landmarks_for(rows, columns)
    )
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
    """Top row left to right, then bottom row: the order of ``landmarks_for``."""
    assert len(marks) == len(SCHEMA["points"]), f"found {len(marks)} marks on screen, expected 6"
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


def screen_scale(marks: list[tuple[float, float]], truth: list[tuple[float, float]]) -> tuple[float, float]:
    """CSS pixels per image pixel, measured between the marks on screen (not from the app)."""
    sx = (marks[2][0] - marks[0][0]) / (truth[2][0] - truth[0][0])
    sy = (marks[4][1] - marks[1][1]) / (truth[4][1] - truth[1][1])
    return sx, sy


def stored_errors(task_id: str, truth: list[tuple[float, float]], offsets: list[tuple[float, float]]) -> list[float]:
    """Distance of each stored point from the image point actually clicked: the mark's true
    centre, moved by the click's offset from the mark (in image pixels)."""
    labels = Judgement.objects.get(task_id=task_id).answer["labels"]
    return [
        math.dist(labels[f"m{k}"]["points"][0], (t[0] + offset[0], t[1] + offset[1]))
        for k, (t, offset) in enumerate(zip(truth, offsets, strict=True))
        if labels[f"m{k}"]["points"]
    ]


def record(browser: BrowserSession, case: str, errors: list[float]) -> None:
    """Keep the measured errors for review beside the screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (SCREENSHOTS.parent / "geometry-errors.tsv").open("a") as out:
        out.write(f"{browser.engine}\t{case}\t{max(errors):.3f}\t{' '.join(f'{e:.2f}' for e in errors)}\n")


def show_image(browser: BrowserSession) -> None:
    browser.js(
        "() => { const r = document.querySelector('.kp-viewport').getBoundingClientRect();"
        " if (r.top < 0 || r.bottom > innerHeight) document.querySelector('.kp-viewport').scrollIntoView(); }"
    )
    browser.wait("() => document.querySelector('.cine-canvas').dataset.frame === '0'")


def submit_and_check(browser: BrowserSession, task: str, truth, offsets, case: str) -> str:
    """Submit; check every stored point against the truth; return the next task's id."""
    browser.click("#submit")
    following = wait_task(browser, not_id=task)
    errors = stored_errors(task, truth, offsets)
    record(browser, case, errors)
    assert len(errors) == len(truth)
    assert max(errors) <= TOLERANCE_PX, f"{browser.engine} {case}: errors {[round(e, 2) for e in errors]} px"
    return following


def click_marks_at_fit(browser: BrowserSession, truth, *, resize_to: tuple[int, int] | None = None) -> list:
    """Click every mark at fit; with ``resize_to``, resize the window after the top row (the
    bottom row's marks are then found again on the new layout). Returns the click offsets in
    image pixels."""
    show_image(browser)
    marks = in_reading_order(find_marks(browser))
    sx, sy = screen_scale(marks, truth)
    offsets = []
    for k in range(len(truth)):
        if resize_to and k == 3:
            browser.resize(*resize_to)
            show_image(browser)
            # The top row's placed points may hide their marks: the bottom row is the lowest three.
            found = find_marks(browser)
            assert len(found) >= 3, f"after the resize, {len(found)} marks left on screen"
            bottom = sorted(sorted(found, key=lambda m: m[1])[-3:])
            marks[3:] = bottom
            sx = sy = (bottom[2][0] - bottom[0][0]) / (truth[5][0] - truth[3][0])
        dx, dy = click_mark(browser, marks[k], k + 1)
        offsets.append((dx / sx, dy / sy))
    return offsets


def click_marks_zoomed(browser: BrowserSession, truth) -> list:
    """For each mark: fit, zoom in about the centre, drag the image so the mark comes to the middle
    of the view, find it there on screen, click it. Returns the click offsets in image pixels."""
    show_image(browser)
    # Found once, before any point is placed: a placed point's handle covers its mark.
    targets = in_reading_order(find_marks(browser))
    sx, sy = screen_scale(targets, truth)
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
        drag_image(browser, [left, top, right, bottom], middle[0] - there[0], middle[1] - there[1])
        seen = [m for m in find_marks(browser) if left + 2 < m[0] < right - 2 and top + 2 < m[1] < bottom - 2]
        assert len(seen) == 1, f"{browser.engine}: after zoom and pan, {len(seen)} marks in view (mark {k})"
        if k == 0:
            browser.shot(f"geometry-zoomed-{browser.js('() => innerWidth')}")
        dx, dy = click_mark(browser, seen[0], k + 1)
        offsets.append((dx / (sx * scale), dy / (sy * scale)))
    browser.click(".kp-zoom-reset")
    return offsets


@pytest.mark.usefixtures("app_settings", "demo_expert")
def test_clicks_on_burned_in_marks_store_their_pixels(live_server, sized_browser, screen, tmp_path):
    browser = sized_browser
    marked_project(tmp_path / "clips")
    truth = truth_for(landmarks_for(ROWS, COLUMNS))
    sign_in(browser, live_server.url, next_url="/p/marks/label/")
    first = wait_task(browser)
    browser.shot(f"geometry-{screen.name}")
    offsets = click_marks_at_fit(browser, truth)
    second = submit_and_check(browser, first, truth, offsets, f"{screen.name} fit")
    offsets = click_marks_zoomed(browser, truth)
    submit_and_check(browser, second, truth, offsets, f"{screen.name} zoomed")


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{c}x{r}" for r, c in SHAPES])
@pytest.mark.usefixtures("app_settings", "demo_expert")
def test_marks_stay_exact_on_any_clip_shape_and_through_a_resize(live_server, browser, shape, tmp_path):
    rows, columns = shape
    marked_project(tmp_path / "clips", rows=rows, columns=columns, clips=2)
    truth = truth_for(landmarks_for(rows, columns))
    sign_in(browser, live_server.url, next_url="/p/marks/label/")
    first = wait_task(browser)
    browser.shot(f"geometry-clip-{columns}x{rows}")
    # From the default laptop window to an iPad in portrait, mid-task.
    offsets = click_marks_at_fit(browser, truth, resize_to=(820, 1100))
    second = submit_and_check(browser, first, truth, offsets, f"clip {columns}x{rows} resized")
    offsets = click_marks_zoomed(browser, truth)
    browser.click("#submit")
    browser.wait("() => !document.getElementById('done').hidden", what="the end of the project")
    errors = stored_errors(second, truth, offsets)
    record(browser, f"clip {columns}x{rows} zoomed", errors)
    assert max(errors) <= TOLERANCE_PX, f"{browser.engine} {columns}x{rows} zoomed: {[round(e, 2) for e in errors]} px"


@pytest.mark.usefixtures("app_settings", "demo_expert")
def test_letterboxed_frame_maps_exactly_and_a_click_on_the_bars_places_nothing(live_server, browser, tmp_path):
    marked_project(tmp_path / "clips", clips=2)
    truth = truth_for(landmarks_for(ROWS, COLUMNS))
    sign_in(browser, live_server.url, next_url="/p/marks/label/")
    first = wait_task(browser)
    # A box of another shape than the frame (as where CSS aspect-ratio is missing): black bars
    # left and right of the image.
    browser.js(
        "() => { const v = document.querySelector('.kp-viewport');"
        " Object.assign(v.style, {aspectRatio: 'auto', width: '100%', height: '320px'}); }"
    )
    left, top, _, bottom = visible_rect(browser)
    browser.click_at(left + 6, (top + bottom) / 2)
    browser.wait("() => !document.querySelector('.kp-outside').hidden", what="the outside-the-image message")
    assert "outside the image" in browser.js("() => document.querySelector('.kp-outside').textContent")
    assert browser.js("() => document.querySelectorAll('.kp-handle').length") == 0
    browser.shot("geometry-letterboxed")
    offsets = click_marks_at_fit(browser, truth)
    submit_and_check(browser, first, truth, offsets, "letterboxed fit")
