"""Clip media is served only to people allowed to see a project holding the clip; others get 404."""

import pytest
from django.urls import reverse

from media_ingest.models import Clip
from media_ingest.synthetic import write_synthetic_echo
from projects.models import Project
from tests.ingest_helpers import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


@pytest.fixture
def clip(project, tmp_path) -> Clip:
    path = tmp_path / "a.dcm"
    write_synthetic_echo(path, frames=4, rows=120, columns=160)
    [job] = ingest(project, [path])
    return Clip.objects.get(pk=job.clip_id)


def url(clip: Clip, name: str = "video.mp4") -> str:
    return reverse("clip_file", args=[clip.code, name])


def test_expert_of_another_project_cannot_fetch_the_clip(client, clip, outsider, other_project):
    client.force_login(outsider)
    for name in ["video.mp4", "poster.jpg", "array.npy", "frames/manifest.json", "frames/chunk-00000.bin"]:
        response = client.get(url(clip, name))
        assert response.status_code == 404


def test_member_and_staff_can_fetch_it(client, clip, expert_a, admin_user):
    for user in (expert_a, admin_user):
        client.force_login(user)
        response = client.get(url(clip))
        assert response.status_code == 200
        assert response["Content-Type"] == "video/mp4"
        assert b"".join(response.streaming_content)[4:8] == b"ftyp"


def test_anonymous_visitor_gets_404(client, clip):
    assert client.get(url(clip)).status_code == 404


def test_member_of_a_draft_project_gets_404(client, clip, expert_a, project):
    Project.objects.filter(pk=project.pk).update(status=Project.Status.DRAFT)
    client.force_login(expert_a)
    assert client.get(url(clip)).status_code == 404


def test_names_outside_the_layout_are_404_even_for_staff(client, clip, admin_user):
    client.force_login(admin_user)
    for name in ["../../../etc/passwd", "frames/../video.mp4", "original.dcm", "frames/chunk-1.bin"]:
        assert client.get(f"/media/{clip.code}/{name}").status_code == 404
    assert client.get(reverse("clip_file", args=["0" * 64, "video.mp4"])).status_code == 404
