"""Resumable uploads (tus 1.0): a file arrives in chunks, survives a dropped connection with only
the missing bytes sent again, and becomes an ingest job of its batch when complete."""

from __future__ import annotations

import base64
import io
import zipfile

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
    assert last.status_code == 200 and last["Upload-Offset"] == str(len(data))
    [answered] = last.json()["jobs"]
    job = IngestJob.objects.get(pk=int(last["X-Ingest-Job"]))
    assert answered["id"] == job.pk and answered["source_name"] == "file 0001"
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
    assert patch(client, location, 0, b"y" * 150).status_code == 200
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
    assert patch(client, location, 250_000, b"z" * 350_000).status_code == 200
    assert Upload.objects.get().finished_at is not None


def test_a_zip_in_chunks_becomes_one_job_per_file_named_after_its_place(
    client, admin_user, project, tmp_path, django_capture_on_commit_callbacks
):
    """A zip arriving through the resumable path: one job per file inside, named after the
    upload's place in its batch (so the next upload's place is free), the entries' names in the
    last chunk's answer only; asked again later (the answer was lost), the same jobs."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for n in (1, 2):
            path = tmp_path / f"{n}.dcm"
            write_synthetic_echo(path, frames=3, rows=64, columns=80, seed=70 + n)
            zf.writestr(f"QZENTRY/IMG{n}.dcm", path.read_bytes())
        zf.writestr("QZENTRY/notes.txt", b"not an image")
    data = archive.getvalue()
    client.force_login(admin_user)
    first = create(client, project, 10, batch="b-zip")
    location = create(client, project, len(data), batch="b-zip")
    with django_capture_on_commit_callbacks(execute=True):
        last = patch(client, location, 0, data)
    assert last.status_code == 200, last.content
    answer = last.json()
    assert (answer["batch"], answer["position"], answer["complete"]) == ("b-zip", 2, True)
    assert [(j["source_name"], j["entry"]) for j in answer["jobs"]] == [
        ("file 0002 entry 0001", "QZENTRY/IMG1.dcm"),
        ("file 0002 entry 0002", "QZENTRY/IMG2.dcm"),
        ("file 0002 entry 0003", "QZENTRY/notes.txt"),
    ]
    statuses = dict(IngestJob.objects.values_list("source_name", "status"))
    assert statuses == {
        "file 0002 entry 0001": "ready",
        "file 0002 entry 0002": "ready",
        "file 0002 entry 0003": "failed",
    }
    assert not any("QZENTRY" in repr(row) for row in IngestJob.objects.values())
    # The answer asked again: the same jobs (without the entries' names, which were not kept).
    again = client.get(location).json()
    assert [j["id"] for j in again["jobs"]] == [j["id"] for j in answer["jobs"]]
    assert {j["entry"] for j in again["jobs"]} == {""}
    # The same last chunk again is refused: the file is never staged twice.
    assert patch(client, location, len(data), b"x").status_code == 409
    assert IngestJob.objects.count() == 3
    # The other upload of the batch keeps its own place.
    assert client.get(first).json()["jobs"] == [] and client.get(first).json()["complete"] is False
    with django_capture_on_commit_callbacks(execute=True):
        assert patch(client, first, 0, b"0123456789").json()["jobs"][0]["source_name"] == "file 0001"


def test_the_job_api_follows_chosen_jobs(client, admin_user, project, tmp_path, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    locations = [create(client, project, 4, batch="b-ids") for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        ids = [patch(client, where, 0, b"abcd").json()["jobs"][0]["id"] for where in locations]
    response = client.get(f"/api/projects/{project.slug}/ingest-jobs", {"ids": f"{ids[0]},{ids[2]}"})
    assert response.status_code == 200
    assert sorted(job["id"] for job in response.json()["jobs"]) == [ids[0], ids[2]]
    assert client.get(f"/api/projects/{project.slug}/ingest-jobs", {"ids": "1,x"}).status_code == 400


def test_uploads_abandoned_half_way_are_deleted_with_their_bytes(client, admin_user, project, settings):
    """A page closed and never opened again: after UNITY_UPLOAD_EXPIRY_HOURS without a byte the
    upload and its part file go (they also count against the open-upload limit); an upload that
    received bytes lately stays, however old, and so does a finished one."""
    import os
    import time
    from datetime import timedelta

    from django.utils import timezone

    from media_ingest.tasks import expire_uploads

    settings.UNITY_UPLOAD_EXPIRY_HOURS = 72
    client.force_login(admin_user)
    abandoned, lively, done = (create(client, project, 100) for _ in range(3))
    assert patch(client, abandoned, 0, b"a" * 40).status_code == 204
    assert patch(client, lively, 0, b"b" * 40).status_code == 204
    assert patch(client, done, 0, b"c" * 100).status_code == 200
    four_days_ago = timezone.now() - timedelta(days=4)
    Upload.objects.update(created_at=four_days_ago)
    by_location = {where: Upload.objects.get(pk=where.rsplit("/", 1)[1]) for where in (abandoned, lively, done)}
    old = time.time() - 4 * 24 * 3600
    os.utime(tus.part_path(by_location[abandoned]), (old, old))
    assert expire_uploads() == 1
    assert not Upload.objects.filter(pk=by_location[abandoned].pk).exists()
    assert not tus.part_path(by_location[abandoned]).exists()
    assert Upload.objects.filter(pk__in=[by_location[lively].pk, by_location[done].pk]).count() == 2
    assert head_offset(client, lively) == 40
    assert client.head(abandoned, HTTP_TUS_RESUMABLE="1.0.0").status_code == 404


def test_parts_sent_in_parallel_are_joined_into_one_file(
    client, admin_user, project, tmp_path, django_capture_on_commit_callbacks
):
    """tus concatenation, as tus-js-client's parallelUploads sends it: two partial uploads, then a
    final one listing them. The joined bytes ingest as the original file; the final takes the
    batch's place (parts take none); asked again, the same final answers."""
    source = tmp_path / "loop.dcm"
    write_synthetic_echo(source, frames=6, rows=96, columns=128, seed=81)
    data = source.read_bytes()
    half = len(data) // 2
    client.force_login(admin_user)
    parts = []
    for piece in (data[:half], data[half:]):
        response = client.post(
            f"/ingest/uploads/{project.slug}/",
            HTTP_TUS_RESUMABLE="1.0.0",
            HTTP_UPLOAD_LENGTH=str(len(piece)),
            HTTP_UPLOAD_CONCAT="partial",
        )
        assert response.status_code == 201
        parts.append((response["Location"], piece))
    final_header = "final;" + " ".join(f"http://testserver{where}" for where, _ in parts)
    batch = "batch " + base64.b64encode(b"b-par").decode()

    def final():
        return client.post(
            f"/ingest/uploads/{project.slug}/",
            HTTP_TUS_RESUMABLE="1.0.0",
            HTTP_UPLOAD_CONCAT=final_header,
            HTTP_UPLOAD_METADATA=batch,
        )

    assert patch(client, parts[0][0], 0, parts[0][1]).status_code == 204  # a part: no jobs of its own
    assert final().status_code == 400  # the second part is not complete
    assert patch(client, parts[1][0], 0, parts[1][1][:100]).status_code == 204
    assert patch(client, parts[1][0], 100, parts[1][1][100:]).status_code == 204
    assert not IngestJob.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        joined = final()
    assert joined.status_code == 201, joined.content
    [job] = joined.json()["jobs"]
    assert (joined.json()["batch"], job["source_name"]) == ("b-par", "file 0001")
    finished = IngestJob.objects.get(pk=job["id"])
    assert finished.status == IngestJob.Status.READY, finished.error
    again = final()
    assert again.status_code == 201 and again["Location"] == joined["Location"]
    assert [j["id"] for j in again.json()["jobs"]] == [job["id"]]
    assert IngestJob.objects.count() == 1
    assert client.head(joined["Location"], HTTP_TUS_RESUMABLE="1.0.0")["Upload-Offset"] == str(len(data))
    assert (
        client.post(
            f"/ingest/uploads/{project.slug}/",
            HTTP_TUS_RESUMABLE="1.0.0",
            HTTP_UPLOAD_CONCAT="final;/ingest/uploads/u/nope",
        ).status_code
        == 400
    )
