"""Media answers HTTP Range requests with the right bytes, and carries immutable cache headers."""

import pytest
from django.urls import reverse

from media_ingest.models import Clip
from media_ingest.synthetic import write_synthetic_echo
from tests.ingest_helpers import ingest, read_media

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


@pytest.fixture
def clip(project, tmp_path) -> Clip:
    path = tmp_path / "a.dcm"
    write_synthetic_echo(path, frames=10, rows=120, columns=160)
    [job] = ingest(project, [path])
    return Clip.objects.get(pk=job.clip_id)


def body(response) -> bytes:
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return data


def test_a_byte_range_of_the_video_returns_206_with_those_bytes(client, clip, expert_a):
    client.force_login(expert_a)
    video = read_media(clip.video_name)
    url = reverse("clip_file", args=[clip.code, "video.mp4"])

    response = client.get(url, HTTP_RANGE="bytes=100-1099")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-1099/{len(video)}"
    assert body(response) == video[100:1100]

    suffix = client.get(url, HTTP_RANGE="bytes=-500")
    assert suffix.status_code == 206
    assert body(suffix) == video[-500:]

    open_ended = client.get(url, HTTP_RANGE=f"bytes={len(video) - 10}-")
    assert body(open_ended) == video[-10:]

    beyond = client.get(url, HTTP_RANGE=f"bytes={len(video)}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(video)}"

    whole = client.get(url)
    assert whole.status_code == 200
    assert whole["Accept-Ranges"] == "bytes"
    assert body(whole) == video


def test_media_is_cached_long_and_privately_and_revalidates_by_etag(client, clip, expert_a):
    client.force_login(expert_a)
    url = reverse("clip_file", args=[clip.code, "frames/manifest.json"])
    response = client.get(url)
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert "Cookie" in response["Vary"]
    assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_production_hands_the_file_to_nginx_by_x_accel_redirect(client, clip, expert_a, settings):
    settings.UNITY_MEDIA_SERVING = "x-accel"
    settings.UNITY_X_ACCEL_PREFIX = "/protected-media/"
    client.force_login(expert_a)
    response = client.get(reverse("clip_file", args=[clip.code, "video.mp4"]))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{clip.video_name}"
    assert response.content == b""
