"""Admins publish a release from a project: a preview of what it will hold, then the build on the
media queue (in-process here), its progress and manifest on the release's page, and withdrawal."""

import pytest
from django.test import TestCase
from django.urls import reverse

from datasets.models import Release
from media_ingest.synthetic import write_synthetic_echo
from tests.ingest_helpers import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]

PUBLISH = reverse("admin:datasets_release_publish")


def form(project, **extra) -> dict[str, str]:
    return {
        "project": str(project.pk),
        "title": "A4C views, first release",
        "description": "Views of the apical four-chamber.",
        "collection": "",
        "citation": "",
        "licence": Release.Licence.CC_BY_NC_ND_4,
        "include_frames": "on",
        **extra,
    }


def test_preview_then_build_then_withdraw(client, admin_user, project, tmp_path):
    paths = []
    for n in range(3):
        paths.append(tmp_path / f"c{n}.dcm")
        write_synthetic_echo(paths[-1], frames=5, rows=120, columns=200, seed=n)
    ingest(project, paths)
    client.force_login(admin_user)

    preview = client.post(PUBLISH, form(project))
    assert preview.status_code == 200
    assert preview.context["preview"] == {
        "items": 3,
        "clips": 3,
        "clips_without_master": 0,
        "frames_at_most": 15,
        "answers": 0,
        "experts": 0,
    }
    assert b"Build the release" in preview.content
    assert not Release.objects.exists()

    with TestCase.captureOnCommitCallbacks(execute=True):
        built = client.post(PUBLISH, form(project, confirmed="1"))
    release = Release.objects.get()
    assert built.status_code == 302 and built["Location"] == reverse("admin:datasets_release_change", args=[release.pk])
    assert (release.version, release.status, release.licence) == (1, Release.Status.READY, "CC-BY-NC-ND-4.0")
    assert release.summary["frames"] == 15

    page = client.get(built["Location"])
    assert page.status_code == 200
    assert release.archive_sha256.encode() in page.content
    assert b"metadata/spacing.csv" in page.content  # the manifest is listed
    assert b"done" in client.get(reverse("admin:datasets_release_changelist")).content

    changelist = reverse("admin:datasets_release_changelist")
    refused = client.post(
        changelist, {"action": "withdraw", "_selected_action": [release.pk], "reason": ""}, follow=True
    )
    assert "say why" in " ".join(str(m) for m in refused.context["messages"])
    assert Release.objects.get().status == Release.Status.READY
    client.post(changelist, {"action": "withdraw", "_selected_action": [release.pk], "reason": "wrong project"})
    release.refresh_from_db()
    assert (release.status, release.withdrawn_reason) == (Release.Status.WITHDRAWN, "wrong project")


def test_experts_cannot_publish(client, expert_a, project):
    client.force_login(expert_a)
    response = client.post(PUBLISH, form(project, confirmed="1"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Release.objects.exists()
