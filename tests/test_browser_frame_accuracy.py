"""Frame accuracy: on a synthetic clip whose frames carry their own index burned into the pixels,
stepping to frame N shows exactly frame N, in Chromium and WebKit. The test decodes the marker
from the canvas pixels; the player never converts a video time to a frame number."""

from __future__ import annotations

import pytest

from media_ingest.synthetic import frame_marker_squares
from projects.models import Project
from projects.services import do_add_member
from tests.browser_helpers import (
    ingest_synthetic,
    sign_in,
    wait_task,
)
from tests.conftest import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRAMES = 40  # more than one 32-frame chunk: stepping crosses a chunk boundary

READ_MARKER = """(squares) => {
  const canvas = document.querySelector('.cine-canvas');
  const context = canvas.getContext('2d');
  let value = 0;
  for (const [x, y, w, h] of squares) {
    const data = context.getImageData(x + 3, y + 3, w - 6, h - 6).data;
    let sum = 0;
    for (let k = 0; k < data.length; k += 4) sum += (data[k] + data[k + 1] + data[k + 2]) / 3;
    value = (value << 1) | (sum / (data.length / 4) > 128 ? 1 : 0);
  }
  return value;
}"""


@pytest.fixture
def marked_clip_project(demo_expert, tmp_path):
    project = make_project(Project.Kind.TEMPORAL, slug="timing", title="ED and ES")
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 1, rows=144, columns=192, frames=FRAMES, frame_marker=True)
    return project


def shown_frame(browser, expected: int) -> int:
    browser.wait(
        "(n) => document.querySelector('.cine-canvas').dataset.frame === String(n)", expected, what=f"frame {expected}"
    )
    readout = browser.js("() => document.querySelector('.frame-readout').textContent")
    assert readout == f"Frame {expected} / {FRAMES - 1}"
    return browser.js(READ_MARKER, [list(square) for square in frame_marker_squares()])


def test_stepping_to_frame_n_shows_exactly_frame_n(app_settings, live_server, browser, marked_clip_project):
    sign_in(browser, live_server.url, next_url="/p/timing/label/")
    wait_task(browser)
    assert shown_frame(browser, 0) == 0

    browser.focus(".step-next")
    for n in range(1, 6):
        browser.press("ArrowRight")
        assert shown_frame(browser, n) == n
    browser.press("Shift+ArrowRight", "Shift+ArrowRight", "Shift+ArrowRight")
    assert shown_frame(browser, 35) == 35  # second chunk
    browser.press("ArrowLeft")
    assert shown_frame(browser, 34) == 34
    browser.click(".step-prev")
    assert shown_frame(browser, 33) == 33
    browser.click(".step-next")
    browser.click(".step-next")
    assert shown_frame(browser, 35) == 35
    browser.press("Shift+ArrowRight")
    assert shown_frame(browser, 5) == 5  # loops past the last frame
    browser.press("ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowLeft")
    assert shown_frame(browser, FRAMES - 1) == FRAMES - 1
    browser.shot("frame-accuracy")

    # Space plays (frames advance on their own) and pauses again; the frame shown is still exact.
    browser.focus(".cine-canvas")
    browser.js("() => document.activeElement.blur()")
    browser.press("Space")
    browser.wait("() => document.querySelector('.play').getAttribute('aria-pressed') === 'true'")
    start = int(browser.js("() => document.querySelector('.cine-canvas').dataset.frame"))
    browser.wait("(s) => document.querySelector('.cine-canvas').dataset.frame !== String(s)", start, what="playback")
    browser.press("Space")
    browser.wait("() => document.querySelector('.play').getAttribute('aria-pressed') === 'false'")
    frame = int(browser.js("() => document.querySelector('.cine-canvas').dataset.frame"))
    assert shown_frame(browser, frame) == frame
