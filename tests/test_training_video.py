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


def marker_video(path, *, codec: str = "mpeg4", frames: int = 12) -> list[tuple[int, int, int]]:
    """A short video whose frame i is one flat colour (the markers the test reads back)."""
    import av
    import numpy as np

    colours = [((i * 40) % 256, 255 - (i * 20) % 256, (i * 90) % 256) for i in range(frames)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i, colour in enumerate(colours):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), colour, np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return colours


@pytest.mark.usefixtures("roots")
def test_an_uploaded_video_is_transcoded_and_served_to_members_only(client, admin_user, expert_a, outsider, tmp_path):
    import av
    import numpy as np
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from projects.services import do_add_member
    from tests.test_admin_projects import form_data

    source = tmp_path / "training.avi"
    colours = marker_video(source)
    client.force_login(admin_user)
    data = form_data("classification", slug="with-video", **{"allow_list-TOTAL_FORMS": "0"})
    response = client.post(reverse("admin:projects_project_add"), data)
    assert response.status_code == 302
    project = Project.objects.get(slug="with-video")
    do_add_member(project, user=expert_a)
    change = reverse("admin:projects_project_change", args=[project.pk])
    upload = SimpleUploadedFile("training.avi", source.read_bytes(), content_type="video/x-msvideo")
    response = client.post(change, {**data, "training_video_file": upload}, follow=True)
    assert "Training video transcoded and saved." in response.content.decode()
    project.refresh_from_db()
    assert project.training_video_name.startswith("training/")

    client.force_login(expert_a)
    page = client.get(reverse("project_detail", args=[project.slug]))
    assert reverse("training_video", args=[project.slug]) in page.content.decode()
    served = client.get(reverse("training_video", args=[project.slug]))
    assert served.status_code == 200 and served["Content-Type"] == "video/mp4"
    served_path = tmp_path / "served.mp4"
    served_path.write_bytes(b"".join(served.streaming_content) if served.streaming else served.content)
    with av.open(str(served_path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(decoded) == len(colours)
    for frame, colour in zip(decoded, colours, strict=True):  # each frame keeps its marker colour
        assert np.abs(frame[60, 80].astype(int) - colour).max() <= 12

    client.force_login(outsider)
    assert client.get(reverse("training_video", args=[project.slug])).status_code == 404


@pytest.mark.usefixtures("roots")
def test_a_file_that_is_not_a_video_is_refused_with_a_message(client, admin_user):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from tests.test_admin_projects import form_data

    client.force_login(admin_user)
    data = form_data("classification", slug="bad-video", **{"allow_list-TOTAL_FORMS": "0"})
    client.post(reverse("admin:projects_project_add"), data)
    project = Project.objects.get(slug="bad-video")
    upload = SimpleUploadedFile("notes.mp4", b"these are notes, not a video")
    response = client.post(
        reverse("admin:projects_project_change", args=[project.pk]),
        {**data, "training_video_file": upload},
        follow=True,
    )
    assert "The training video was not saved: not a video file that can be read" in response.content.decode()
    project.refresh_from_db()
    assert project.training_video_name == ""
