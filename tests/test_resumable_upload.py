"""Resumable uploads (tus 1.0): a file arrives in chunks, survives a dropped connection with only
the missing bytes sent again, and becomes an ingest job of its batch when complete."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from media_ingest import uploads as tus
from media_ingest.models import IngestJob, Upload
from media_ingest.synthetic import write_synthetic_echo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]
OCTETS = "application/offset+octet-stream"


def create(client, project, length: int, batch: str = "") -> str:
    headers = {"HTTP_TUS_RESUMABLE": "1.0.0", "HTTP_UPLOAD_LENGTH": str(length)}
    if batch:
        headers["HTTP_UPLOAD_METADATA"] = "batch " + base64.b64encode(batch.encode()).decode()
    response = client.post(f"/ingest/uploads/{project.slug}/", **headers)
    assert response.status_code == 201, response.content
    return response["Location"]


def patch(client, location: str, offset: int, data: bytes, **extra):
    return client.generic(
        "PATCH",
        location,
        data=data,
        content_type=OCTETS,
        HTTP_UPLOAD_OFFSET=str(offset),
        HTTP_TUS_RESUMABLE="1.0.0",
        **extra,
    )


def head_offset(client, location: str) -> int:
    response = client.head(location, HTTP_TUS_RESUMABLE="1.0.0")
    assert response.status_code == 200
    return int(response["Upload-Offset"])


def test_a_file_in_chunks_with_a_dropped_connection_becomes_a_job(
    client, admin_user, project, tmp_path, django_capture_on_commit_callbacks
):
    source = tmp_path / "loop.dcm"
    write_synthetic_echo(source, frames=6, rows=96, columns=128, seed=61, phi={"PatientName": "QZTUS^PHI"})
    data = source.read_bytes()
    client.force_login(admin_user)
    options = client.options(f"/ingest/uploads/{project.slug}/")
    assert options["Tus-Version"] == "1.0.0" and "creation" in options["Tus-Extension"]
    location = create(client, project, len(data), batch="study-7")
    third = len(data) // 3
    assert patch(client, location, 0, data[:third]).status_code == 204
    assert head_offset(client, location) == third
    # A wrong offset is refused with the right one.
    wrong = patch(client, location, 0, data[:10])
    assert wrong.status_code == 409 and wrong["Upload-Offset"] == str(third)
    half = (len(data) - third) // 2
    assert patch(client, location, third, data[third : third + half]).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        last = patch(client, location, third + half, data[third + half :])
    assert last.status_code == 204 and last["Upload-Offset"] == str(len(data))
    job = IngestJob.objects.get(pk=int(last["X-Ingest-Job"]))
    job.refresh_from_db()
    assert job.status == IngestJob.Status.READY, job.error
    assert (job.batch, job.source_name) == ("study-7", "file 0001")
    assert not tus.part_path(Upload.objects.get()).exists()
    assert patch(client, location, len(data), b"x").status_code == 409  # complete
    assert not IngestJob.objects.filter(error__contains="QZTUS").exists()


def test_refusals(client, admin_user, expert_a, project, monkeypatch):
    client.force_login(expert_a)
    assert client.post(f"/ingest/uploads/{project.slug}/", HTTP_UPLOAD_LENGTH="10").status_code == 404
    client.force_login(admin_user)
    assert client.post(f"/ingest/uploads/{project.slug}/").status_code == 400
    too_big = client.post(f"/ingest/uploads/{project.slug}/", HTTP_UPLOAD_LENGTH=str(10**13))
    assert too_big.status_code == 413
    location = create(client, project, 100)
    response = client.generic("PATCH", location, data=b"abc", content_type="text/plain", HTTP_UPLOAD_OFFSET="0")
    assert response.status_code == 415
    # More bytes than announced are cut at the length.
    assert patch(client, location, 0, b"y" * 150).status_code == 204
    assert Upload.objects.get().offset == 100
    monkeypatch.setattr(tus, "MAX_OPEN_UPLOADS", 1)
    create(client, project, 50)
    assert client.post(f"/ingest/uploads/{project.slug}/", HTTP_UPLOAD_LENGTH="10").status_code == 429
    # Termination deletes the bytes and the row.
    other = Upload.objects.filter(offset=0).get()
    assert client.delete(f"/ingest/uploads/u/{other.pk}").status_code == 204
    assert not Upload.objects.filter(pk=other.pk).exists()


def test_a_session_without_its_csrf_token_cannot_send_bytes(admin_user, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(f"/ingest/uploads/{project.slug}/", HTTP_UPLOAD_LENGTH="10").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_mid_chunk_keeps_what_arrived(live_server, admin_user, project):
    """A real server and a real socket: the client announces 600,000 bytes, sends 250,000 and
    hangs up. The offset keeps what arrived; only the rest is sent again."""
    import socket
    import time
    from urllib.parse import urlsplit

    client = Client()
    client.force_login(admin_user)
    session = client.cookies["sessionid"].value
    location = create(client, project, 600_000)
    token = "a" * 32
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: {host}:{port}\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: {OCTETS}\r\nUpload-Offset: 0\r\nContent-Length: 600000\r\n"
        f"Cookie: sessionid={session}; csrftoken={token}\r\nX-CSRFToken: {token}\r\n\r\n"
    )
    with socket.create_connection((host, port)) as raw:
        raw.sendall(head.encode() + b"z" * 250_000)
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    while Upload.objects.get().offset < 250_000 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Upload.objects.get().offset == 250_000
    assert head_offset(client, location) == 250_000
    assert patch(client, location, 250_000, b"z" * 350_000).status_code == 204
    assert Upload.objects.get().finished_at is not None
