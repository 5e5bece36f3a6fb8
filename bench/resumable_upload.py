"""A large upload through the browser path (the admin's upload page in headless Chromium:
tus-js-client, chunks of ``--chunk-mib``, default the page's 16) and through a Python tus client,
beside the same bytes in one plain ``curl`` request to the same endpoint of the same gunicorn
server: MB/s each way, the growth of the web workers' peak RSS, and a resume in the browser after
every connection was cut at 40% (through a counting proxy: how many bytes were sent again).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/unity_bench .venv/bin/python bench/resumable_upload.py [--mb 2000]

The bytes are random (the finished file then fails ingest as "not a DICOM file", after being
staged: the staging copy is part of every path's time). gunicorn: 2 sync workers, DEBUG off.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unity_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("UNITY_VAR_DIR", "/tmp/unity_bench_upload_var")  # noqa: S108 - a bench scratch folder
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-upload-" + "k" * 40)
os.environ.setdefault("GOOGLE_CLIENT_ID", "bench")
os.environ.setdefault("GOOGLE_CLIENT_SECRET", "bench")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("UNITY_STATIC_MANIFEST", "0")  # static files from the source tree, no collectstatic
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("UNITY_SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")

CHUNK = 8 * 1024 * 1024
PAGE = "/admin/media_ingest/ingestjob/upload/"
SENT_STATES = ("ingesting", "ready", "failed", "partly", "empty")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` and their children (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks + cpu_seconds(children)
    return total


def chromium_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith("chrom"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def browser_upload(
    chromium, base: str, cookie: str, slug: str, sources: list[Path], *, proxy=None
) -> tuple[float, float]:
    """Choose ``sources`` on the upload page and wait until all of them are sent; seconds from
    the choice, and the CPU seconds Chromium's processes spent. With ``proxy``, every connection
    is cut for two seconds when 40% has been sent."""
    context = chromium.new_context()
    host = base.split("//")[1].split(":", maxsplit=1)[0]
    context.add_cookies([{"name": "sessionid", "value": cookie, "domain": host, "path": "/"}])
    page = context.new_page()
    page.goto(base + PAGE)
    page.select_option("#ru-project", slug)
    size = sum(source.stat().st_size for source in sources)
    browser_cpu = cpu_seconds(chromium_pids())
    started = time.perf_counter()
    page.set_input_files("#ru-files", [str(source) for source in sources])
    cut = proxy is None
    while True:
        states, sent = page.evaluate(
            """() => { const rows = Array.from(document.querySelectorAll('#ru-rows tr'));
                return [rows.map((r) => r.dataset.state), rows.reduce((n, r) => n + r.cells[3].firstChild.value, 0)]; }"""
        )
        if len(states) == len(sources) and all(state in SENT_STATES for state in states):
            break
        if any(state in ("refused", "stalled") for state in states):
            raise RuntimeError(page.evaluate("() => document.getElementById('ru-rows').textContent"))
        if not cut and sent >= 0.4 * size:
            proxy.cut(2.0)
            cut = True
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    browser_cpu = cpu_seconds(chromium_pids()) - browser_cpu
    context.close()
    return seconds, browser_cpu


def gunicorn_workers_peak_mb(master: int) -> float:
    from bench.dicom_receiver import tree_peak_mb

    return tree_peak_mb(master)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=2000, help="size of the file in MB (10**6 bytes)")
    parser.add_argument("--chunk-mib", type=int, default=16, help="chunk size of the resumable paths, MiB")
    args = parser.parse_args()
    chunk = args.chunk_mib * 1024 * 1024
    from bench.ranking_issue_latency import ensure_database

    ensure_database()
    import django

    django.setup()
    import requests
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from media_ingest.models import Upload
    from projects.models import Project
    from tests.support import make_project

    call_command("migrate", verbosity=0)
    project = Project.objects.filter(slug="bench-upload").first() or make_project(slug="bench-upload")
    admin, _ = get_user_model().objects.get_or_create(
        username="bench-upload-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    Upload.objects.filter(project=project).delete()
    client = Client()
    client.force_login(admin)
    cookie = client.cookies["sessionid"].value
    token = "b" * 32

    size = args.mb * 1_000_000
    folder = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    source = folder / "big.bin"
    with source.open("wb") as out:
        block = os.urandom(CHUNK)
        written = 0
        while written < size:
            out.write(block[: min(CHUNK, size - written)])
            written += min(CHUNK, size - written)
    print(f"{size / 1e6:.0f} MB file written")

    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    gport = port.getsockname()[1]
    port.close()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "unity.wsgi:application", "--bind", f"127.0.0.1:{gport}",
         "--workers", "2", "--timeout", "600"],
        cwd=ROOT, env={**os.environ, "UNITY_UPLOAD_CHUNK_BYTES": str(chunk)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{gport}"
    headers = {"Tus-Resumable": "1.0.0", "X-CSRFToken": token}
    session = requests.Session()
    session.trust_env = False
    session.cookies.set("sessionid", cookie)
    session.cookies.set("csrftoken", token)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                session.options(f"{base}/ingest/uploads/{project.slug}/", timeout=60)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        before = gunicorn_workers_peak_mb(server.pid)

        def create() -> str:
            response = session.post(
                f"{base}/ingest/uploads/{project.slug}/", headers={**headers, "Upload-Length": str(size)}, timeout=30
            )
            response.raise_for_status()
            return base + response.headers["Location"]

        def send(location: str, offset: int, data: bytes):
            octets = {**headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
            return session.patch(location, data=data, headers=octets, timeout=600)

        # 1. Baseline: the same bytes in one plain curl request (streamed from the file).
        location = create()
        server_cpu = cpu_seconds([server.pid])
        started = time.perf_counter()
        done = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH", "-T", str(source),
             "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
             "-H", f"X-CSRFToken: {token}", "-b", f"sessionid={cookie}; csrftoken={token}", location],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        plain = time.perf_counter() - started
        plain_cpu = cpu_seconds([server.pid]) - server_cpu
        assert done.stdout.strip() == "200", done.stdout + done.stderr
        after_plain = gunicorn_workers_peak_mb(server.pid)

        # 2. A Python tus client: chunks, one request each.
        location = create()
        server_cpu = cpu_seconds([server.pid])
        started = time.perf_counter()
        with source.open("rb") as handle:
            offset = 0
            while offset < size:
                data = handle.read(chunk)
                response = send(location, offset, data)
                assert response.status_code in {200, 204}, response.text
                offset = int(response.headers["Upload-Offset"])
        chunked = time.perf_counter() - started
        chunked_cpu = cpu_seconds([server.pid]) - server_cpu
        after_chunked = gunicorn_workers_peak_mb(server.pid)

        # 3. The browser path: the admin's upload page in Chromium, straight to gunicorn; then
        # through a counting proxy, every connection cut at 40%.
        from playwright.sync_api import sync_playwright

        from tests.browser_helpers import CHROMIUM, CHROMIUM_ARGS
        from tests.proxy import Proxy

        proxy = Proxy(("127.0.0.1", gport), keep=False)
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                server_cpu = cpu_seconds([server.pid])
                in_browser, in_browser_cpu = browser_upload(chromium, base, cookie, project.slug, [source])
                browser_server_cpu = cpu_seconds([server.pid]) - server_cpu
                after_browser = gunicorn_workers_peak_mb(server.pid)
                resumed, _ = browser_upload(
                    chromium, f"http://127.0.0.1:{proxy.port}", cookie, project.slug, [source], proxy=proxy
                )
                # The page sends two files at once: the same bytes as two files of half the size.
                halves = [folder / "half-a.bin", folder / "half-b.bin"]
                with source.open("rb") as whole, halves[0].open("wb") as first, halves[1].open("wb") as second:
                    left = size // 2
                    while left:
                        left -= first.write(whole.read(min(CHUNK, left)))
                    shutil.copyfileobj(whole, second, CHUNK)
                server_cpu = cpu_seconds([server.pid])
                two_at_once, two_cpu = browser_upload(chromium, base, cookie, project.slug, halves)
                two_server_cpu = cpu_seconds([server.pid]) - server_cpu
                after_two = gunicorn_workers_peak_mb(server.pid)
            finally:
                chromium.close()
                proxy.close()
        # Every byte the browser sent through the proxy (requests' headers included) beyond the file.
        resent = proxy.sent - size
    finally:
        server.terminate()
        server.wait(timeout=30)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()

    mb = size / 1e6
    print(f"chunks of {args.chunk_mib} MiB; gunicorn 2 sync workers")
    print("| path | seconds | MB/s | web workers' peak RSS growth MB | server CPU s | Chromium CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    rows = [
        ("one curl request (baseline)", plain, after_plain - before, f"{plain_cpu:.1f}", "-"),
        ("Python tus client", chunked, after_chunked - before, f"{chunked_cpu:.1f}", "-"),
        ("browser: the upload page in Chromium", in_browser, after_browser - before, f"{browser_server_cpu:.1f}",
         f"{in_browser_cpu:.1f}"),
        ("browser: the same bytes as two files, sent at once", two_at_once, after_two - before,
         f"{two_server_cpu:.1f}", f"{two_cpu:.1f}"),
    ]  # fmt: skip
    for name, seconds, growth, server_cpu_s, browser_cpu_s in rows:
        print(f"| {name} | {seconds:.1f} | {mb / seconds:.1f} | {growth:.0f} | {server_cpu_s} | {browser_cpu_s} |")
    print(f"| browser through a proxy, cut at 40% | {resumed:.1f} | {mb / resumed:.1f} | - | - | - |")
    print(
        f"browser / one curl request: {plain / in_browser:.2f}x the rate (target >= 0.8x); Python client {plain / chunked:.2f}x"
    )
    print(f"browser, the same bytes as two files at once / one curl request: {plain / two_at_once:.2f}x the rate")
    print(f"RSS growth target < 150 MB; this machine has {os.cpu_count()} cores, shared by the browser and the server")
    print(
        f"browser resume after every connection was cut at 40%: {resent / 1e6:.2f} MB sent again "
        f"(headers included), {resent / size:.2%} (target < 5%)"
    )


if __name__ == "__main__":
    main()
