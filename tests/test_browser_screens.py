"""Every labelling mode on every screen experts use, in Chromium and WebKit: a screenshot of each
lands in test-artifacts/screenshots/screens/ for review, and the layout is checked from the page
itself: nothing wider than the screen; a ranking batch of six fills the screen in full rows (3x2 or
2x3) on laptops and tablets, and scrolls in two columns on a phone; the temporal marks table stays
inside its column with ED/ES named on the timeline; the frame slider's track is drawn (read from
the screenshot's pixels); keyboard hints show only where a keyboard is.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

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

TRACK_RGB = (0x9F, 0xB3, 0xC8)
KINDS = [Project.Kind.RANKING, Project.Kind.CLASSIFICATION, Project.Kind.KEYPOINTS, Project.Kind.TEMPORAL]


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
def projects(demo_expert, tmp_path):
    for kind in KINDS:
        project = make_project(kind, slug=f"screen-{kind}", title=f"Screens: {kind}", batch_size=6)
        do_add_member(project, user=demo_expert)
        ingest_synthetic(project, tmp_path / kind, 6 if kind == Project.Kind.RANKING else 1, rows=240, columns=320)


def shot(browser: BrowserSession, screen: Screen, kind: str) -> np.ndarray:
    """The screen as the expert sees it (the viewport: a full-page capture re-lays out a page
    under Chromium's device emulation), saved for review."""
    browser.settle()
    pixels = browser.viewport_pixels()
    path = SCREENSHOTS / "screens" / f"{browser.engine}-{screen.name}-{kind}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def no_wider_than_the_screen(browser: BrowserSession) -> None:
    widths = browser.js("() => [document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1] + 1, f"page is {widths[0]} px wide on a {widths[1]} px screen"


def slider_track_is_drawn(browser: BrowserSession, pixels: np.ndarray) -> None:
    box = browser.js(
        "() => { const r = document.querySelector('.cine-controls .scrub').getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom, devicePixelRatio]; }"
    )
    ratio = pixels.shape[1] / browser.js("() => innerWidth")
    x0, y0, x1, y1 = (round(v * ratio) for v in box[:4])
    region = pixels[max(y0, 0) : y1, max(x0, 0) : x1].astype(int)
    track = (np.abs(region - np.array(TRACK_RGB)).sum(axis=2) < 40).sum()
    assert track >= (x1 - x0) // 3, f"the frame slider's track is not drawn ({track} track pixels)"


def check_ranking(browser: BrowserSession, screen: Screen) -> None:
    tiles = browser.js(
        "() => [...document.querySelectorAll('.rank-item')].map(li => { const r = li.getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; })"
    )
    tops = sorted({round(t[1]) for t in tiles})
    columns = len(tiles) // len(tops)
    assert columns * len(tops) == len(tiles), f"an orphan row: tiles at {tops}"
    if screen.width < 600:
        assert columns == 2, f"phone: {columns} columns"
        assert browser.js("() => document.querySelector('.rank-list').classList.contains('scrolls')")
        return
    assert (columns, len(tops)) in {(3, 2), (2, 3)}, f"{columns} columns x {len(tops)} rows"
    height = browser.js("() => innerHeight")
    bottom = max(t[3] for t in tiles)
    assert bottom <= height, f"the batch runs off the screen ({bottom} > {height})"
    # No empty half-screen: the grid spans most of the width or most of the height it may use.
    width = browser.js("() => document.querySelector('.rank-list').clientWidth")
    span_x = max(t[2] for t in tiles) - min(t[0] for t in tiles)
    span_y = bottom - min(t[1] for t in tiles)
    assert span_x >= 0.85 * width or span_y >= 0.6 * height, f"grid {span_x:.0f}x{span_y:.0f} of {width}x{height}"
    assert "Drag" in browser.js("() => document.querySelector('.drag-hint').textContent")
    assert "≈" not in browser.js("() => document.querySelector('.rank-list').innerText")


def check_temporal(browser: BrowserSession) -> None:
    browser.focus(".step-next")
    browser.press("1")
    for _ in range(3):
        browser.click(".step-next")
    browser.press("2")
    browser.wait("() => document.querySelectorAll('.timeline .tick').length === 2")
    labels = browser.js("() => [...document.querySelectorAll('.timeline .tick-label')].map(s => s.textContent)")
    assert labels == ["ED", "ES"]
    inside = browser.js(
        "() => { const t = document.querySelector('table.marks').getBoundingClientRect();"
        " const c = document.querySelector('.temporal-side').getBoundingClientRect();"
        " return [t.right, c.right, innerWidth]; }"
    )
    assert inside[0] <= inside[1] + 1 and inside[0] <= inside[2], f"marks table overflows: {inside}"


def keyboard_hints_shown(browser: BrowserSession) -> bool:
    return browser.js("() => getComputedStyle(document.querySelector('#submit kbd')).display !== 'none'")


@pytest.mark.usefixtures("app_settings", "projects")
def test_every_mode_fits_every_screen(live_server, sized_browser, screen):
    browser = sized_browser
    sign_in(browser, live_server.url)
    for kind in KINDS:
        browser.goto(f"{live_server.url}/p/screen-{kind}/label/")
        wait_task(browser)
        browser.js("() => window.scrollTo(0, 0)")
        pixels = shot(browser, screen, kind)
        no_wider_than_the_screen(browser)
        slider_track_is_drawn(browser, pixels)
        touch_emulated = screen.touch and browser.engine == "chromium"
        assert keyboard_hints_shown(browser) is not touch_emulated
        if kind == Project.Kind.RANKING:
            check_ranking(browser, screen)
        elif kind == Project.Kind.TEMPORAL:
            check_temporal(browser)
            shot(browser, screen, f"{kind}-marked")
            no_wider_than_the_screen(browser)
