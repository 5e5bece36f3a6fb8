"""A large upload through the resumable (tus) endpoint in chunks (``--chunk-mib``, default 8), beside the same bytes in one
plain ``curl`` request to the same endpoint of the same gunicorn server: MB/s both ways, the
growth of the web workers' peak RSS, and a resume after a connection killed mid-chunk (how many
bytes were sent again).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/unity_bench .venv/bin/python bench/resumable_upload.py [--mb 2000]

The bytes are random (the finished file then fails ingest as "not a DICOM file", after being
staged: the staging copy is part of every path's time). gunicorn: 2 sync workers, DEBUG off.
"""

from __future__ import annotations

import argparse
import os
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
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("UNITY_SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")

CHUNK = 8 * 1024 * 1024


def gunicorn_workers_peak_mb(master: int) -> float:
    from bench.dicom_receiver import tree_peak_mb

    return tree_peak_mb(master)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=2000, help="size of the file in MB (10**6 bytes)")
    parser.add_argument("--chunk-mib", type=int, default=8, help="chunk size of the resumable path, MiB")
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
    admin, _ = get_user_model().objects.get_or_create(username="bench-upload-admin", defaults={"is_staff": True})
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
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
                session.options(f"{base}/ingest/uploads/{project.slug}/", timeout=5)
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

        # 1. The resumable path: 8 MiB chunks, one request each.
        location = create()
        started = time.perf_counter()
        with source.open("rb") as handle:
            offset = 0
            while offset < size:
                data = handle.read(chunk)
                response = send(location, offset, data)
                assert response.status_code == 204, response.text
                offset = int(response.headers["Upload-Offset"])
        chunked = time.perf_counter() - started
        after_chunked = gunicorn_workers_peak_mb(server.pid)

        # 2. Baseline: the same bytes in one plain curl request (streamed from the file).
        location = create()
        started = time.perf_counter()
        done = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH", "-T", str(source),
             "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
             "-H", f"X-CSRFToken: {token}", "-b", f"sessionid={cookie}; csrftoken={token}", location],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        plain = time.perf_counter() - started
        assert done.stdout.strip() == "204", done.stdout + done.stderr
        after_plain = gunicorn_workers_peak_mb(server.pid)

        # 3. Resume: at 40% a chunk is cut halfway (the socket closed), then HEAD and go on.
        location = create()
        path = location.removeprefix(base)
        sent = 0
        with source.open("rb") as handle:
            offset = 0
            cut = False
            while offset < size:
                handle.seek(offset)
                data = handle.read(chunk)
                if not cut and offset >= 0.4 * size:
                    cut = True
                    head = (
                        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{gport}\r\nTus-Resumable: 1.0.0\r\n"
                        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
                        f"Content-Length: {len(data)}\r\nCookie: sessionid={cookie}; csrftoken={token}\r\n"
                        f"X-CSRFToken: {token}\r\n\r\n"
                    )
                    with socket.create_connection(("127.0.0.1", gport)) as raw:
                        raw.sendall(head.encode() + data[: len(data) // 2])
                        sent += len(data) // 2
                    time.sleep(0.5)
                    offset = int(session.head(location, headers=headers, timeout=30).headers["Upload-Offset"])
                    continue
                response = send(location, offset, data)
                sent += len(data)
                assert response.status_code == 204, response.text
                offset = int(response.headers["Upload-Offset"])
        resent = sent - size
    finally:
        server.terminate()
        server.wait(timeout=30)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()

    mb = size / 1e6
    print("| path | seconds | MB/s | web workers' peak RSS growth MB |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| tus, {args.chunk_mib} MiB chunks | {chunked:.1f} | {mb / chunked:.1f} | {after_chunked - before:.0f} |")
    print(f"| one curl request (baseline) | {plain:.1f} | {mb / plain:.1f} | {after_plain - before:.0f} |")
    print(f"chunked / one request: {plain / chunked:.2f}x the rate (target >= 0.8x); RSS growth target < 150 MB")
    print(
        f"resume after a connection cut mid-chunk at 40%: {resent / 1e6:.1f} MB sent again, {resent / size:.2%} (target < 5%)"
    )


if __name__ == "__main__":
    main()
