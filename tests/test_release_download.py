"""Researchers: the public catalogue and cards; a download needs sign-in and the licence accepted
(name, institution, intended use, recorded with the time); every download is logged; archives are
served with Range (and by nginx in production); a withdrawn release is not served."""

import pytest
from django.urls import reverse

from datasets.models import Download, LicenceAcceptance, Release
from datasets.processing import do_build_release, release_path
from datasets.services import do_create_release, do_withdraw_release
from media_ingest.synthetic import write_synthetic_echo
from tests.ingest_helpers import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]

ACCEPT = {
    "full_name": "Ada Researcher",
    "institution": "Imperial College London",
    "intended_use": "Training a view classifier",
    "accept": "on",
}


@pytest.fixture
def release(project, tmp_path):
    paths = []
    for n in range(2):
        paths.append(tmp_path / f"c{n}.dcm")
        write_synthetic_echo(paths[-1], frames=4, rows=120, columns=200, seed=n)
    ingest(project, paths)
    made = do_create_release(project, title="A4C views", description="Apical views.", queue=False)
    return do_build_release(made.pk)


def urls(release):
    args = [release.project.slug, release.version]
    return reverse("dataset_release", args=args), reverse("dataset_download", args=args)


def test_the_catalogue_and_card_are_public_but_the_download_is_not(client, release):
    page, download = urls(release)
    catalogue = client.get(reverse("dataset_catalogue"))
    assert catalogue.status_code == 200 and b"A4C views" in catalogue.content
    card = client.get(page)
    assert card.status_code == 200
    assert b"Sign in to download" in card.content and b"De-identification" in card.content
    response = client.get(download)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Download.objects.exists()


def test_download_only_after_the_licence_is_accepted_and_every_request_is_logged(client, researcher, release):
    page, download = urls(release)
    client.force_login(researcher)
    refused = client.get(download)
    assert refused.status_code == 403 and not Download.objects.exists()

    incomplete = client.post(page, {**ACCEPT, "institution": " "})
    assert incomplete.status_code == 200 and not LicenceAcceptance.objects.exists()
    unticked = client.post(page, {k: v for k, v in ACCEPT.items() if k != "accept"})
    assert unticked.status_code == 200 and not LicenceAcceptance.objects.exists()

    assert client.post(page, ACCEPT).status_code == 302
    acceptance = LicenceAcceptance.objects.get()
    assert (acceptance.user, acceptance.release, acceptance.licence) == (researcher, release, release.licence)
    assert (acceptance.full_name, acceptance.institution, acceptance.intended_use) == (
        "Ada Researcher",
        "Imperial College London",
        "Training a view classifier",
    )
    assert acceptance.accepted_at is not None

    whole = client.get(download)
    assert whole.status_code == 200
    body = b"".join(whole.streaming_content)
    assert body == release_path(release).read_bytes()
    assert whole["Content-Disposition"] == f'attachment; filename="{release.name}.zip"'
    assert whole["X-Content-SHA256"] == release.archive_sha256
    part = client.get(download, HTTP_RANGE="bytes=10-109")
    assert part.status_code == 206 and b"".join(part.streaming_content) == body[10:110]
    assert list(Download.objects.order_by("pk").values_list("user_id", "byte_range")) == [
        (researcher.pk, ""),
        (researcher.pk, "bytes=10-109"),
    ]


def test_production_hands_the_archive_to_nginx(client, researcher, release, settings):
    settings.UNITY_MEDIA_SERVING = "x-accel"
    page, download = urls(release)
    client.force_login(researcher)
    client.post(page, ACCEPT)
    response = client.get(download)
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected-releases/{release.name}.zip"


def test_a_withdrawn_release_is_not_served_and_its_record_stays(client, researcher, release):
    page, download = urls(release)
    client.force_login(researcher)
    client.post(page, ACCEPT)
    do_withdraw_release(release, reason="a study's consent was withdrawn")
    assert client.get(download).status_code == 410
    gone = client.get(page)
    assert gone.status_code == 410 and b"consent was withdrawn" in gone.content
    assert b"A4C views" not in client.get(reverse("dataset_catalogue")).content
    assert not Download.objects.exists()
    assert Release.objects.filter(pk=release.pk).exists() and LicenceAcceptance.objects.exists()


def test_a_release_still_building_has_no_page(client, project, release):
    building = do_create_release(project, title="next", queue=False)
    page, download = urls(building)
    assert client.get(page).status_code == 404
    assert client.get(download).status_code == 404
