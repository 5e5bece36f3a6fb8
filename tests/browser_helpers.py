"""Real browsers for the labelling app's end-to-end tests: Chromium (Blink) through Playwright and
WebKit (Safari's engine) through WebKitGTK's WebDriver under Xvfb, behind one small interface so
each test is written once and run in both engines.

Import the fixtures into a test module (``from tests.browser_helpers import FIXTURES``-style: see
the browser test modules); each is named for its use, e.g. ``browser_fixture`` provides ``browser``.
One browser per engine per module; a fresh context (Chromium) or cleared cookies (WebKit) per test.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import override_settings

from tests.support import make_user, need

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = (1280, 900)
SESSION_TIMEOUT_S = 30
DEMO_EXPERT = "demo-tester"
ENGINES = ["chromium", "webkit"]


@dataclass(frozen=True)
class Screen:
    """A device an expert labels on: CSS viewport, device pixel ratio, touch."""

    name: str
    width: int
    height: int
    scale: float = 1.0
    touch: bool = False


SCREENS = (
    Screen("laptop-1440x900", 1440, 900),
    Screen("laptop-1280x800", 1280, 800),
    Screen("desktop-1920x1080", 1920, 1080),
    Screen("ipad-portrait", 820, 1180, 2.0, True),
    Screen("ipad-landscape", 1180, 820, 2.0, True),
    Screen("phone-390x844", 390, 844, 3.0, True),
)


class BrowserSession:
    """What a test needs from a browser, the same for both engines."""

    engine = ""

    def goto(self, url: str) -> None:
        raise NotImplementedError

    def js(self, function: str, arg: Any = None) -> Any:
        """Run ``function`` (JS source of a function of one argument, maybe async) and return its result."""
        raise NotImplementedError

    def run_script(self, source: str) -> None:
        """Run a whole script (a library) in the page, past the page's Content-Security-Policy
        (no eval: the app's policy forbids it, rightly)."""
        raise NotImplementedError

    def click(self, css: str) -> None:
        raise NotImplementedError

    def press(self, *keys: str) -> None:
        """Press keys on the focused element: names like "ArrowRight", "Enter", "Control+Enter", "a"."""
        raise NotImplementedError

    def type_text(self, text: str) -> None:
        raise NotImplementedError

    def pointer_drag(self, points: list[tuple[float, float]]) -> None:
        """Press the mouse at the first viewport point, move through the others, release at the last."""
        raise NotImplementedError

    def screenshot(self, name: str) -> Path:
        raise NotImplementedError

    def resize(self, width: int, height: int) -> None:
        """Resize the viewport (the window) to ``width`` x ``height`` CSS pixels, and wait until the
        page has laid itself out and painted at that size (a window resize is asynchronous). On a
        loaded machine WebKitGTK's window manager may settle on a stale size: ask again, twice."""
        for attempt in range(3):
            self._resize(width, height)
            try:
                self.wait(
                    "([w, h]) => innerWidth === w && innerHeight === h",
                    [width, height],
                    timeout=8.0,
                    what=f"a {width}x{height} window",
                )
                break
            except AssertionError:
                if attempt == 2:
                    raise
        self.settle()

    def settle(self) -> None:
        """Wait until the page has painted what the last step changed (two animation frames)."""
        self.js("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))")

    def _resize(self, width: int, height: int) -> None:
        raise NotImplementedError

    def viewport_pixels(self) -> np.ndarray:
        """What is on screen now, as RGB device pixels (CSS pixels times ``devicePixelRatio``)."""
        raise NotImplementedError

    def click_at(self, x: float, y: float) -> tuple[float, float]:
        """A mouse click at a viewport point in CSS pixels; returns the point actually clicked."""
        raise NotImplementedError

    def take_cookie(self, name: str) -> dict[str, Any]:
        """Remove a cookie (e.g. the HttpOnly session) and return it, to put back with ``put_cookie``."""
        raise NotImplementedError

    def put_cookie(self, cookie: dict[str, Any]) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return self.js("() => location.href")

    def wait(self, function: str, arg: Any = None, *, timeout: float = 15.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(function, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.engine}: timed out waiting for {what or function}")
            time.sleep(0.05)

    def wait_for(self, css: str, *, timeout: float = 15.0) -> None:
        self.wait(
            "(css) => { const e = document.querySelector(css); return !!e && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length); }",
            css,
            timeout=timeout,
            what=f"visible {css}",
        )

    def center(self, css: str) -> tuple[float, float]:
        box = self.js(
            "(css) => { const r = document.querySelector(css).getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }",
            css,
        )
        return float(box[0]), float(box[1])

    def focus(self, css: str) -> None:
        self.js("(css) => document.querySelector(css).focus()", css)

    def active(self) -> str:
        return self.js(
            "() => { const a = document.activeElement; return a ? (a.id || a.className || a.tagName) : ''; }"
        )

    def shot(self, name: str) -> Path:
        return self.screenshot(f"{self.engine}-{name}")

    def axe(self) -> list[dict[str, Any]]:
        """Run axe-core in the page; return the serious and critical violations."""
        need(AXE_JS.exists(), "axe-core is not installed (npm ci; make test runs it when npm exists)")
        if not self.js("() => typeof window.axe !== 'undefined'"):
            self.run_script(AXE_JS.read_text())
        result = self.js(
            """async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                  .map(v => ({id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
            }"""
        )
        return list(result)


class ChromiumSession(BrowserSession):
    engine = "chromium"

    def __init__(self, page: Any) -> None:
        self.page = page

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def js(self, function: str, arg: Any = None) -> Any:
        return self.page.evaluate(function, arg)

    def run_script(self, source: str) -> None:
        self.page.evaluate(f"() => {{ {source}\n }}")

    def click(self, css: str) -> None:
        self.page.click(css)

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(" " if key == "Space" else key)

    def type_text(self, text: str) -> None:
        self.page.keyboard.type(text)

    def pointer_drag(self, points: list[tuple[float, float]]) -> None:
        mouse = self.page.mouse
        mouse.move(*points[0])
        mouse.down()
        for x, y in points[1:]:
            mouse.move(x, y, steps=4)
        mouse.up()

    def screenshot(self, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def _resize(self, width: int, height: int) -> None:
        self.page.set_viewport_size({"width": width, "height": height})

    def viewport_pixels(self) -> np.ndarray:
        from PIL import Image

        return np.asarray(Image.open(io.BytesIO(self.page.screenshot(full_page=False))).convert("RGB"))

    def click_at(self, x: float, y: float) -> tuple[float, float]:
        self.page.mouse.click(x, y)
        return x, y

    def take_cookie(self, name: str) -> dict[str, Any]:
        context = self.page.context
        cookie = next(c for c in context.cookies() if c["name"] == name)
        context.clear_cookies(name=name)
        return cookie

    def put_cookie(self, cookie: dict[str, Any]) -> None:
        self.page.context.add_cookies([cookie])


class WebKitSession(BrowserSession):
    engine = "webkit"

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def goto(self, url: str) -> None:
        self.driver.get(url)

    def js(self, function: str, arg: Any = None) -> Any:
        return self.driver.execute_script(f"return (({function}))(arguments[0]);", arg)

    def run_script(self, source: str) -> None:
        self.driver.execute_script(source)

    def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, css).click()

    def _key(self, name: str) -> str:
        from selenium.webdriver.common.keys import Keys

        special = {
            "ArrowRight": Keys.ARROW_RIGHT,
            "ArrowLeft": Keys.ARROW_LEFT,
            "ArrowUp": Keys.ARROW_UP,
            "ArrowDown": Keys.ARROW_DOWN,
            "Enter": Keys.ENTER,
            "Escape": Keys.ESCAPE,
            "Space": Keys.SPACE,
            "Tab": Keys.TAB,
            "Delete": Keys.DELETE,
            "Backspace": Keys.BACKSPACE,
            "Control": Keys.CONTROL,
            "Shift": Keys.SHIFT,
        }
        return special.get(name, name)

    def press(self, *keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        for key in keys:
            chain = ActionChains(self.driver)
            *modifiers, last = key.split("+") if len(key) > 1 else [key]
            for modifier in modifiers:
                chain.key_down(self._key(modifier))
            chain.send_keys(self._key(last))
            for modifier in reversed(modifiers):
                chain.key_up(self._key(modifier))
            chain.perform()

    def type_text(self, text: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(text).perform()

    def pointer_drag(self, points: list[tuple[float, float]]) -> None:
        from selenium.webdriver.common.actions.action_builder import ActionBuilder
        from selenium.webdriver.common.actions.mouse_button import MouseButton

        builder = ActionBuilder(self.driver)
        mouse = builder.pointer_action
        mouse.move_to_location(int(points[0][0]), int(points[0][1]))
        mouse.pointer_down(MouseButton.LEFT)
        previous = points[0]
        for x, y in points[1:]:
            for step in range(1, 5):
                t = step / 4
                mouse.move_to_location(
                    int(previous[0] + (x - previous[0]) * t), int(previous[1] + (y - previous[1]) * t)
                )
                mouse.pause(0.03)
            previous = (x, y)
        mouse.pointer_up(MouseButton.LEFT)
        builder.perform()

    def screenshot(self, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path

    def _resize(self, width: int, height: int) -> None:
        _size_webkit_window(self.driver, width, height)

    def viewport_pixels(self) -> np.ndarray:
        from PIL import Image

        return np.asarray(Image.open(io.BytesIO(self.driver.get_screenshot_as_png())).convert("RGB"))

    def click_at(self, x: float, y: float) -> tuple[float, float]:
        from selenium.webdriver.common.actions.action_builder import ActionBuilder
        from selenium.webdriver.common.actions.mouse_button import MouseButton

        # WebKitGTK truncates pointer positions to whole CSS pixels: aim at the nearest one.
        point = round(x), round(y)
        builder = ActionBuilder(self.driver)
        builder.pointer_action.move_to_location(*point)
        builder.pointer_action.pointer_down(MouseButton.LEFT)
        builder.pointer_action.pointer_up(MouseButton.LEFT)
        builder.perform()
        return float(point[0]), float(point[1])

    def take_cookie(self, name: str) -> dict[str, Any]:
        cookie = self.driver.get_cookie(name)
        self.driver.delete_cookie(name)
        return cookie

    def put_cookie(self, cookie: dict[str, Any]) -> None:
        self.driver.add_cookie({k: v for k, v in cookie.items() if k in ("name", "value", "path", "httpOnly")})


# --- engines --------------------------------------------------------------------------------
@pytest.fixture(scope="module", name="chromium_browser")
def chromium_fixture() -> Iterator[Any]:
    need(Path(CHROMIUM).exists(), "Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements-dev installs it
        need(False, "playwright is not installed")
    # Playwright's sync API keeps an event loop in this thread; Django's ORM calls made by the
    # test itself (fixtures, assertions) are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _start_xvfb() -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "2048x1400x24", "-nolisten", "tcp"],
        pass_fds=[write_fd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        number = b""
        deadline = time.monotonic() + 10
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(read_fd, 16)
            if not chunk:
                break
            number += chunk
    finally:
        os.close(read_fd)
    if not number.strip():
        process.kill()
        raise RuntimeError("Xvfb did not report a display")
    return process, ":" + number.decode().strip()


@pytest.fixture(scope="module", name="webkit_driver")
def webkit_fixture() -> Iterator[Any]:
    need(Path(WEBKIT_DRIVER).exists(), "WebKitWebDriver is not installed (apt-get install webkit2gtk-driver)")
    need(shutil.which("Xvfb") is not None, "Xvfb is not installed (apt-get install xvfb)")
    from selenium import webdriver

    xvfb, display = _start_xvfb()
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    result: dict[str, Any] = {}

    def create() -> None:
        try:
            options = webdriver.WebKitGTKOptions()
            options.add_argument("--automation")
            # Selenium's WebKitGTK driver still passes remote_server_addr the deprecated way.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*remote_server_addr.*", category=DeprecationWarning)
                result["driver"] = webdriver.WebKitGTK(options=options)
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    # With no usable display the session hangs rather than failing: bound its creation.
    thread = threading.Thread(target=create, daemon=True)
    thread.start()
    thread.join(SESSION_TIMEOUT_S)
    try:
        if "driver" not in result:
            pytest.fail(f"WebKit session did not start: {result.get('error', 'timeout')}")
        driver = result["driver"]
        driver.set_window_size(*VIEWPORT)
        driver.set_script_timeout(30)
        yield driver
        driver.quit()
    finally:
        xvfb.terminate()
        xvfb.wait(5)
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous


@pytest.fixture(params=ENGINES, name="browser")
def browser_fixture(request: pytest.FixtureRequest) -> Iterator[BrowserSession]:
    """A clean browser session in one engine (the test runs once per engine)."""
    yield from browser_on_screen(request, request.param, Screen("default", *VIEWPORT))


def browser_on_screen(request: pytest.FixtureRequest, engine: str, screen: Screen) -> Iterator[BrowserSession]:
    """A clean session in ``engine`` sized as ``screen``. Chromium emulates the device (viewport,
    pixel ratio, touch); WebKitGTK sizes its window so the page's viewport is the screen's (its
    window cannot be narrower than about 450 CSS px, nor change the pixel ratio)."""
    if engine == "chromium":
        context = request.getfixturevalue("chromium_browser").new_context(
            viewport={"width": screen.width, "height": screen.height},
            device_scale_factor=screen.scale,
            is_mobile=screen.touch,
            has_touch=screen.touch,
        )
        page = context.new_page()
        page.set_default_timeout(20000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield ChromiumSession(page)
        context.close()
        _wait_server_quiet()
        assert not errors, f"JavaScript errors: {errors}"
    else:
        driver = request.getfixturevalue("webkit_driver")
        driver.delete_all_cookies()
        _size_webkit_window(driver, screen.width, screen.height)
        yield WebKitSession(driver)
        try:
            driver.get("about:blank")
        except Exception:  # noqa: BLE001, S110 - best effort between tests
            pass
        _size_webkit_window(driver, *VIEWPORT)
        _wait_server_quiet()


def _size_webkit_window(driver: Any, width: int, height: int) -> None:
    """Size the window so the page's viewport is ``width`` x ``height``, and wait until it is (the
    resize is asynchronous; a window cannot be narrower than ~450 px: then wait until it settles)."""
    driver.set_window_size(width, height)
    chrome = driver.execute_script("return [outerWidth - innerWidth, outerHeight - innerHeight]")
    if chrome[0] or chrome[1]:
        driver.set_window_size(width + chrome[0], height + chrome[1])
    seen: list[list[int]] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        size = driver.execute_script("return [innerWidth, innerHeight]")
        if size == [width, height] or seen[-4:] == [size] * 4:
            return
        seen.append(size)
        time.sleep(0.05)


def _wait_server_quiet(timeout: float = 10.0, quiet_for: float = 0.5) -> None:
    """Let the live server finish the requests the page left in flight (preloads), so flushing the
    database after the test does not deadlock with them: wait until no other connection to the
    test database has been busy for ``quiet_for`` seconds."""
    from django.db import connection

    if connection.vendor != "postgresql":
        time.sleep(quiet_for)
        return
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            if cursor.fetchone()[0]:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_for:
                return
            time.sleep(0.02)


@pytest.fixture(name="app_settings")
def app_settings_fixture() -> Iterator[None]:
    """The demo login only exists with DEBUG on; the live server speaks plain HTTP."""
    with override_settings(DEBUG=True, UNITY_DEMO_LOGIN=True, SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False):
        yield


@pytest.fixture(name="demo_expert")
def demo_expert_fixture(transactional_db):
    return make_user(DEMO_EXPERT)


def sign_in(browser: BrowserSession, base_url: str, *, next_url: str = "/") -> None:
    """Sign in through the demo login page, as an expert would in development."""
    browser.goto(f"{base_url}/demo-login/?next={next_url}")
    browser.wait_for(f"input[value='{DEMO_EXPERT}']")
    browser.click(f"input[value='{DEMO_EXPERT}']")
    browser.click("button[type=submit]")
    browser.wait("(path) => location.pathname === path && document.readyState === 'complete'", next_url)


def wait_task(browser: BrowserSession, *, not_id: str | None = None, timeout: float = 20.0) -> str:
    """Wait until a task is on screen and drawn; return its id."""
    return browser.wait(
        """(previous) => { const id = document.body.dataset.taskId;
             const task = document.getElementById('task');
             return id && id !== previous && task && task.getAttribute('aria-busy') === 'false' ? id : null; }""",
        not_id,
        timeout=timeout,
        what="the next task",
    )


def assert_no_serious_axe_violations(browser: BrowserSession, screen: str) -> None:
    violations = browser.axe()
    assert not violations, f"{browser.engine} {screen}: axe found {violations}"


# --- data: projects with real ingested synthetic clips ---------------------------------------
def ingest_synthetic(
    project,
    folder: Path,
    count: int,
    *,
    rows: int = 120,
    columns: int = 160,
    frames: int = 30,
    frame_marker: bool = False,
    landmarks: list[tuple[int, int]] | None = None,
    seed: int = 0,
) -> list:
    """Write ``count`` synthetic echo loops and ingest them through the real services; return the
    project's items."""
    from media_ingest.models import IngestJob, ProjectItem
    from media_ingest.services import do_create_ingest_jobs, do_process_ingest_job
    from media_ingest.synthetic import write_synthetic_echo

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        path = folder / f"clip-{project.slug}-{k}.dcm"
        write_synthetic_echo(
            path,
            view="a4c",
            frames=frames,
            rows=rows,
            columns=columns,
            seed=seed + k,
            frame_marker=frame_marker,
            landmarks=landmarks,
        )
        paths.append(path)
    # Run the jobs here rather than through a queue: the same service a worker runs.
    jobs = do_create_ingest_jobs(project, paths=paths, queue=False)
    for job in jobs:
        do_process_ingest_job(job.pk)
    failed = list(
        IngestJob.objects.filter(pk__in=[j.pk for j in jobs], status="failed").values_list("error", flat=True)
    )
    assert not failed, f"ingest failed: {failed}"
    return list(ProjectItem.objects.filter(project=project).order_by("pk"))
