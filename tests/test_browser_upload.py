"""The admin's resumable upload page in Chromium and WebKit: files, a zip and a folder dropped or
chosen, sent in chunks (tus) with per-file and overall progress, each file's own name shown beside
what became of it and never sent to the server; a connection cut mid-file and a page closed
mid-file both resume from where the server stopped, re-sending almost nothing.

Between the browser and the live server sits a small TCP proxy (``tests/proxy.py``) that counts
the bytes the browser sends, can slow them down (so a cut lands mid-file) and can cut every
connection."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

from media_ingest.models import Clip, IngestJob, Upload
from media_ingest.synthetic import write_synthetic_echo
from tests.proxy import Proxy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roots")]

NAME_MARK = "QZNAME"  # in every file name the admin chooses: must never leave the browser
PAGE = "/admin/media_ingest/ingestjob/upload/"


@pytest.fixture
def upload_page(settings, live_server, admin_user, project, browser):
    """The upload page open for a signed-in administrator, through the proxy."""
    settings.ALLOWED_HOSTS = ["*"]
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.UNITY_UPLOAD_CHUNK_BYTES = 256 * 1024
    target = urlsplit(live_server.url)
    proxy = Proxy((target.hostname, target.port))
    base = f"http://127.0.0.1:{proxy.port}"
    client = Client()
    client.force_login(admin_user)
    browser.goto(f"{base}/healthz")
    browser.put_cookie(
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": "127.0.0.1", "path": "/"}
    )
    browser.goto(base + PAGE)
    browser.wait_for("#ru-drop")
    browser.js("(slug) => { document.getElementById('ru-project').value = slug; return true; }", project.slug)
    yield browser, proxy, base
    proxy.close()


def drop(browser, files: list[tuple[str, bytes]], *, last_modified: int = 1_700_000_000_000) -> None:
    """Drop files on the page as a drag from the desktop would (a DataTransfer of Files)."""
    payload = [[name, base64.b64encode(data).decode()] for name, data in files]
    browser.js(
        """([files, modified]) => {
            const transfer = new DataTransfer();
            for (const [name, b64] of files) {
                const raw = atob(b64);
                const bytes = new Uint8Array(raw.length);
                for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
                transfer.items.add(new File([bytes], name, {lastModified: modified}));
            }
            const zone = document.getElementById('ru-drop');
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
            return true;
        }""",
        [payload, last_modified],
    )


def rows(browser) -> list[dict[str, str]]:
    return browser.js(
        """() => Array.from(document.querySelectorAll('#ru-rows tr'), (tr) => ({
            name: tr.cells[1].textContent, state: tr.dataset.state, outcome: tr.cells[4].textContent,
            sent: tr.cells[3].querySelector('progress').value, size: tr.cells[3].querySelector('progress').max}))"""
    )


def wait_settled(browser, count: int, timeout: float = 60.0) -> list[dict[str, str]]:
    try:
        _wait_settled(browser, count, timeout)
    except AssertionError as error:
        raise AssertionError(f"{error}; rows: {rows(browser)}; notes: {notes(browser)}") from None
    return rows(browser)


def notes(browser) -> str:
    return browser.js("() => document.getElementById('ru-notes').textContent")


def _wait_settled(browser, count: int, timeout: float) -> None:
    browser.wait(
        """(count) => { const r = document.querySelectorAll('#ru-rows tr');
            return r.length === count && Array.from(r).every((tr) => ['ready', 'failed', 'partly', 'refused', 'empty'].includes(tr.dataset.state)); }""",
        count,
        timeout=timeout,
        what=f"{count} files settled",
    )


def echo(path: Path, *, seed: int, frames: int = 4, rows_: int = 96, columns: int = 128) -> bytes:
    write_synthetic_echo(
        path, frames=frames, rows=rows_, columns=columns, seed=seed, phi={"PatientName": "QZPATIENT^UPLOAD"}
    )
    return path.read_bytes()


def test_files_and_a_zip_arrive_with_their_names_shown_on_the_page_only(upload_page, project, tmp_path):
    browser, proxy, _ = upload_page
    loop = echo(tmp_path / "a.dcm", seed=1)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("IMG0001.dcm", echo(tmp_path / "b.dcm", seed=2))
        zf.writestr("IMG0002.dcm", echo(tmp_path / "c.dcm", seed=3))
        zf.writestr("README.TXT", b"exported by the PACS")
    files = [
        (f"{NAME_MARK} DOE^JANE 1.dcm", loop),
        (f"{NAME_MARK} study.zip", archive.getvalue()),
        (f"{NAME_MARK} broken.dcm", b"\x00not a dicom at all" * 500),
        (".DS_Store", b"\x00\x00\x00\x01Bud1"),
    ]
    drop(browser, files)
    shown = wait_settled(browser, 3)
    by_name = {row["name"]: row for row in shown}
    assert set(by_name) == {name for name, _ in files[:3]}, "each file's own name, the hidden file skipped"
    assert by_name[f"{NAME_MARK} DOE^JANE 1.dcm"]["state"] == "ready"
    zipped = by_name[f"{NAME_MARK} study.zip"]
    assert zipped["state"] == "partly" and "3 files inside: 2 ready, 1 failed" in zipped["outcome"]
    assert "IMG0001.dcm: ready" in zipped["outcome"] and "README.TXT: failed" in zipped["outcome"]
    broken = by_name[f"{NAME_MARK} broken.dcm"]
    assert broken["state"] == "failed" and "failed:" in broken["outcome"]
    assert all(row["sent"] == row["size"] for row in shown)
    assert browser.js("() => { const o = document.getElementById('ru-overall'); return o.value === o.max; }")
    assert "hidden file(s) skipped" in notes(browser)
    browser.shot("upload-page-settled")

    # The three clips exist; names never reached the server, let alone a row.
    assert Clip.objects.count() == 3
    assert IngestJob.objects.filter(project=project).count() == 5
    assert NAME_MARK.encode() not in bytes(proxy.traffic)
    for model in (IngestJob, Upload):
        for row in model.objects.values():
            assert NAME_MARK not in repr(row) and "QZPATIENT" not in repr(row)
    # The job list names each by its place: the zip's files after the zip's position.
    names = sorted(IngestJob.objects.values_list("source_name", flat=True))
    assert {name.split(" entry ")[0] for name in names} == {"file 0001", "file 0002", "file 0003"}
    zip_place = next(name.split(" entry ")[0] for name in names if " entry " in name)
    assert [name for name in names if name.startswith(zip_place)] == [f"{zip_place} entry {n:04d}" for n in (1, 2, 3)]


def test_a_cut_connection_and_a_closed_page_resume_without_sending_again(upload_page, project, tmp_path):
    """Files of several chunks: sent as two parts in parallel and joined (tus concatenation)."""
    browser, proxy, base = upload_page
    first = echo(tmp_path / "big1.dcm", seed=4, frames=40, rows_=240, columns=320)
    second = echo(tmp_path / "big2.dcm", seed=5, frames=40, rows_=240, columns=320)
    size = len(first)
    assert size > 3_000_000
    proxy.rate = size / 4  # about four seconds a file

    # A connection cut while the first file is a third of the way.
    drop(browser, [(f"{NAME_MARK} first.dcm", first)])
    wait_arrived(size // 3, since=set())
    proxy.cut(2.0)
    [done] = wait_settled(browser, 1)
    assert done["state"] == "ready", done["outcome"]
    first_sent = proxy.sent
    assert first_sent < size * 1.05, f"sent {first_sent} bytes for a {size}-byte file"
    assert Upload.objects.filter(partial=True).count() == 2, "two parts in parallel"

    # The page closed while the second file is a third of the way; opened again, the same file
    # chosen again goes on from where the server stopped.
    before = set(Upload.objects.values_list("pk", flat=True))
    proxy.rate = size / 10  # slower: the page must close well before the end, even on a busy machine
    drop(browser, [(f"{NAME_MARK} second.dcm", second)], last_modified=1_700_000_100_000)
    wait_arrived(size // 3, since=before)
    browser.goto(f"{base}/healthz")
    time.sleep(0.5)
    arrived = arrived_since(before)
    assert arrived < size * 0.8 and not Upload.objects.exclude(pk__in=before).filter(partial=False).exists(), (
        "the page closed mid-file"
    )
    parts = set(Upload.objects.exclude(pk__in=before).filter(partial=True).values_list("pk", flat=True))
    proxy.sent = 0
    proxy.rate = 0
    browser.goto(base + PAGE)
    browser.wait_for("#ru-drop")
    browser.js("(slug) => { document.getElementById('ru-project').value = slug; return true; }", project.slug)
    drop(browser, [(f"{NAME_MARK} second.dcm", second)], last_modified=1_700_000_100_000)
    [done] = wait_settled(browser, 1)
    assert done["state"] == "ready", done["outcome"]
    new = Upload.objects.exclude(pk__in=before)
    rows = list(new.values_list("pk", "partial", "offset", "length", "final_id"))
    assert set(new.filter(partial=True).values_list("pk", flat=True)) == parts, f"the same parts resumed: {rows}"
    assert new.filter(partial=False).count() == 1
    again = proxy.sent - (size - arrived)
    assert again < size * 0.05, f"{again} bytes sent again of {size}"
    assert Clip.objects.count() == 2


def arrived_since(before: set) -> int:
    return sum(Upload.objects.exclude(pk__in=before).filter(partial=True).values_list("offset", flat=True))


def wait_arrived(at_least: int, *, since: set, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while arrived_since(since) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"the parts did not reach {at_least} bytes")
        time.sleep(0.05)


def test_a_folder_chosen_keeps_its_paths_on_the_page(upload_page, tmp_path):
    """A study folder chosen with the folder button (a drag of a folder reads the same tree
    through webkitGetAsEntry; automation can only choose one). Chromium: WebDriver cannot hand
    WebKit a folder."""
    browser, proxy, _ = upload_page
    if browser.engine != "chromium":
        pytest.skip("WebDriver cannot choose a folder in WebKit")
    study = tmp_path / f"{NAME_MARK} study" / "series 1"
    study.mkdir(parents=True)
    echo(study / "IM1", seed=7)
    echo(study / "IM2", seed=8)
    for truth in study.glob("*.json"):  # the synthetic loops' truth, not part of a study
        truth.unlink()
    (study / ".DS_Store").write_bytes(b"Bud1")
    (study.parent / "DICOMDIR.txt").write_bytes(b"an index, not an image")
    browser.page.set_input_files("#ru-folder", str(study.parent))
    settled = wait_settled(browser, 3)
    shown = {row["name"]: row["state"] for row in settled}
    places = {row["outcome"].rsplit(", ", 1)[-1] for row in settled}
    assert places == {"file 0001)", "file 0002)", "file 0003)"}, "each file its own place in the batch"
    assert shown == {
        f"{NAME_MARK} study/series 1/IM1": "ready",
        f"{NAME_MARK} study/series 1/IM2": "ready",
        f"{NAME_MARK} study/DICOMDIR.txt": "failed",
    }
    assert NAME_MARK.encode() not in bytes(proxy.traffic)
