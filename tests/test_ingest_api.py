"""Admins upload DICOM files and zips through the API, poll the jobs and list a project's jobs;
everyone else is refused before anything is staged, and no response carries PHI."""

import dataclasses
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from media_ingest import conf
from media_ingest.models import IngestJob
from media_ingest.synthetic import write_synthetic_echo
from tests.ingest_helpers import all_files
from tests.test_ingest_phi_never_stored import PHI, phi_strings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


def upload(path, name=None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="application/dicom")


def post_files(client, project, *files):
    return client.post(reverse("api_ingest", args=[project.slug]), {"files": list(files)})


def test_good_and_bad_files_become_one_ready_and_one_failed_job_with_a_reason(
    client, admin_user, project, tmp_path, django_capture_on_commit_callbacks
):
    good = tmp_path / "good.dcm"
    write_synthetic_echo(good, frames=6, rows=120, columns=160, seed=3)
    bad = tmp_path / "notes.dcm"
    bad.write_text("not a DICOM file at all")
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_files(client, project, upload(good), upload(bad))

    assert response.status_code == 202, response.content
    body = response.json()
    assert [(j["source_name"], j["status"]) for j in body["jobs"]] == [("file 0001", "queued"), ("file 0002", "queued")]
    assert set(body["jobs"][0]) >= {"id", "source_name", "status", "error"}
    polled = [client.get(reverse("api_ingest_job", args=[j["id"]])).json()["job"] for j in body["jobs"]]
    assert polled[0]["status"] == "ready", polled[0]["error"]
    assert len(polled[0]["clip"]) == 64
    assert polled[1]["status"] == "failed"
    assert "not a DICOM file" in polled[1]["error"]
    assert IngestJob.objects.get(pk=polled[0]["id"]).created_by == admin_user


def test_a_zip_upload_becomes_one_job_per_entry(
    client, admin_user, project, tmp_path, django_capture_on_commit_callbacks
):
    one, two = tmp_path / "one.dcm", tmp_path / "two.dcm"
    write_synthetic_echo(one, frames=3, rows=96, columns=128, seed=4)
    write_synthetic_echo(two, frames=3, rows=96, columns=128, seed=5)
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(one, "series/one.dcm")
        zf.write(two, "series/two.dcm")
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_files(client, project, upload(archive))
    assert response.status_code == 202
    names = sorted(j["source_name"] for j in response.json()["jobs"])
    assert names == ["file 0001", "file 0002"]
    assert set(IngestJob.objects.values_list("status", flat=True)) == {"ready"}


def test_non_staff_are_refused_and_nothing_is_staged(client, expert_a, outsider, project, tmp_path, roots):  # noqa: PLR0917 - fixtures
    good = tmp_path / "good.dcm"
    write_synthetic_echo(good, frames=3, rows=96, columns=128, seed=6)

    client.force_login(expert_a)  # sees the project, may not feed it
    response = post_files(client, project, upload(good))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    client.force_login(outsider)  # does not see it at all
    response = post_files(client, project, upload(good))
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such project or job."}
    client.logout()
    assert post_files(client, project, upload(good)).status_code == 403

    assert not IngestJob.objects.exists()
    assert not all_files(roots.private, roots.media)


def test_non_staff_cannot_poll_or_list_jobs(client, admin_user, expert_a, outsider, project, tmp_path):  # noqa: PLR0917 - fixtures
    path = tmp_path / "bad.dcm"
    path.write_text("x")
    client.force_login(admin_user)
    job_id = post_files(client, project, upload(path)).json()["jobs"][0]["id"]
    client.force_login(expert_a)
    assert client.get(reverse("api_ingest_job", args=[job_id])).status_code == 404
    assert client.get(reverse("api_ingest_jobs", args=[project.slug])).status_code == 403
    client.force_login(outsider)
    assert client.get(reverse("api_ingest_jobs", args=[project.slug])).status_code == 404


def test_bad_requests_are_refused_with_a_code(client, admin_user, project, tmp_path, monkeypatch):
    client.force_login(admin_user)
    response = client.post(reverse("api_ingest", args=[project.slug]), {})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    big = tmp_path / "big.dcm"
    big.write_bytes(b"\0" * 2048)
    monkeypatch.setattr(conf, "INGEST", dataclasses.replace(conf.INGEST, max_file_bytes=1024))
    response = post_files(client, project, upload(big))
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert not IngestJob.objects.exists()
    response = client.get(reverse("api_ingest_jobs", args=[project.slug]), {"limit": 10_000})
    assert response.status_code == 400


def test_job_listing_is_paged_by_batch_in_a_bounded_number_of_queries(  # noqa: PLR0917 - fixtures
    client, admin_user, project, tmp_path, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    paths = []
    for index in range(12):
        path = tmp_path / f"file-{index:02d}.dcm"
        if index % 4 == 0:  # some jobs link a clip: the listing must not fetch clips one by one
            write_synthetic_echo(path, frames=2, rows=64, columns=80, seed=index)
        else:
            path.write_text("not DICOM")
        paths.append(path)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        batch = post_files(client, project, *(upload(p) for p in paths)).json()["batch"]
    assert IngestJob.objects.filter(batch=batch, clip__isnull=False).count() == 3
    post_files(client, project, upload(paths[0]))  # another batch
    url = reverse("api_ingest_jobs", args=[project.slug])

    seen = []
    before = None
    while True:
        params = {"batch": batch, "limit": 5, **({"before": before} if before else {})}
        with django_assert_max_num_queries(4):  # session, user, project, jobs with their clips
            body = client.get(url, params).json()
        seen += [j["source_name"] for j in body["jobs"]]
        before = body["next_before"]
        if before is None:
            break
    assert sorted(seen) == [f"file {n:04d}" for n in range(1, 13)]
    assert len(set(seen)) == 12


def test_api_responses_carry_no_phi(client, admin_user, project, tmp_path, django_capture_on_commit_callbacks):
    source = tmp_path / "study.dcm"
    write_synthetic_echo(source, frames=8, rows=120, columns=160, phi=PHI, seed=7)
    needles = phi_strings(source)
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_files(client, project, upload(source))
    job_id = response.json()["jobs"][0]["id"]
    bodies = [
        response.content,
        client.get(reverse("api_ingest_job", args=[job_id])).content,
        client.get(reverse("api_ingest_jobs", args=[project.slug])).content,
    ]
    assert json.loads(bodies[1])["job"]["status"] == "ready"
    for body in bodies:
        for needle in needles:
            assert needle.encode() not in body
