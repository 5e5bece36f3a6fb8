"""The demo projects get synthetic clips, once."""

import pytest

from datasets.demo import do_release_demo
from media_ingest.demo import do_ingest_demo_echoes
from media_ingest.models import Clip, IngestJob, ProjectItem
from projects.demo import DEMO_PROJECTS, do_create_demo_accounts_and_projects

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roots")]


def test_demo_ingest_fills_every_demo_project_and_running_it_again_adds_nothing():
    do_create_demo_accounts_and_projects()
    do_ingest_demo_echoes(count_per_project=2)
    for spec in DEMO_PROJECTS:
        assert ProjectItem.objects.filter(project__slug=spec["slug"], frame_index=None).count() == 2
    assert not IngestJob.objects.filter(status=IngestJob.Status.FAILED).exists()
    counts = (Clip.objects.count(), IngestJob.objects.count(), ProjectItem.objects.count())

    do_ingest_demo_echoes(count_per_project=2)
    assert (Clip.objects.count(), IngestJob.objects.count(), ProjectItem.objects.count()) == counts


def test_the_demo_has_one_released_dataset_that_researchers_can_read(client):
    do_create_demo_accounts_and_projects()
    do_ingest_demo_echoes(count_per_project=2)
    release = do_release_demo()
    assert release.status == "ready", release.error
    assert release.summary["clips"] == 2
    assert do_release_demo().pk == release.pk  # once
    assert release.title.encode() in client.get("/datasets/").content
