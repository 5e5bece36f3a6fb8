"""A training video link that cannot play is refused with a message when the admin saves it; a
link to a video file over HTTPS is kept. Served by a local HTTPS server with its own certificate."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from functools import partial

import pytest

from projects.admin import ProjectAdminForm
from projects.models import Project
from projects.video import video_url_problem
from tests.support import make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def https_files(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000)
    (site / "page.html").write_text("<html><body>a page about a video</body></html>")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # trust this server's certificate only
    yield f"https://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pages_and_plain_http_are_refused_without_a_request():
    assert "YouTube page, not a video file" in video_url_problem("https://www.youtube.com/watch?v=abc")
    assert "YouTube page" in video_url_problem("https://youtu.be/abc")
    assert "Vimeo page" in video_url_problem("https://vimeo.com/123")
    assert "https://" in video_url_problem("http://example.org/clip.mp4")


def test_the_server_is_asked_what_the_link_is(https_files):
    assert video_url_problem(f"{https_files}/clip.mp4") == ""
    assert "text/html, not a video file" in video_url_problem(f"{https_files}/page.html")
    assert "HTTP 404" in video_url_problem(f"{https_files}/missing.mp4")
    assert "could not be reached" in video_url_problem("https://localhost:9/clip.mp4", timeout=2)


def test_the_admin_form_refuses_a_youtube_link_and_keeps_a_video_file(https_files):
    project = make_project(Project.Kind.CLASSIFICATION, slug="video-project")
    fields = {f: getattr(project, f) for f in ProjectAdminForm.base_fields if hasattr(project, f)}
    fields["label_schema"] = '{"classes": [{"key": "a4c", "name": "A4C", "description": "x"}]}'
    fields["mask_rectangles"] = "[]"
    bad = ProjectAdminForm(data={**fields, "training_video_url": "https://www.youtube.com/watch?v=x"}, instance=project)
    assert not bad.is_valid() and "YouTube page" in str(bad.errors["training_video_url"])
    good = ProjectAdminForm(data={**fields, "training_video_url": f"{https_files}/clip.mp4"}, instance=project)
    good.is_valid()
    assert "training_video_url" not in good.errors, good.errors
