"""Clips of one study share a pseudonym (so dataset splits can keep a study together) that is a
keyed hash of the study's UID: never the UID, nor its plain hash, and different under another key."""

import hashlib

import pytest

from media_ingest.models import Clip, IngestJob
from media_ingest.synthetic import write_synthetic_echo
from tests.ingest_helpers import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]

STUDY_A = "1.2.826.0.1.3680043.8.498.111"
STUDY_B = "1.2.826.0.1.3680043.8.498.222"


def clip_of(project, tmp_path, name: str, *, study: str, seed: int) -> Clip:
    path = tmp_path / f"{name}.dcm"
    write_synthetic_echo(path, frames=4, rows=120, columns=160, seed=seed, phi={"StudyInstanceUID": study})
    [job] = ingest(project, [path])
    assert job.status == IngestJob.Status.READY, job.error
    return Clip.objects.get(pk=job.clip_id)


def test_clips_of_one_study_share_a_keyed_pseudonym(project, tmp_path, settings):
    settings.UNITY_PSEUDONYM_KEY = "key-one"
    a1 = clip_of(project, tmp_path, "a1", study=STUDY_A, seed=1)
    a2 = clip_of(project, tmp_path, "a2", study=STUDY_A, seed=2)
    b1 = clip_of(project, tmp_path, "b1", study=STUDY_B, seed=3)
    assert len(a1.study_key) == 64
    assert a1.study_key == a2.study_key != b1.study_key
    assert STUDY_A not in a1.study_key
    assert a1.study_key != hashlib.sha256(STUDY_A.encode()).hexdigest()

    settings.UNITY_PSEUDONYM_KEY = "key-two"
    a3 = clip_of(project, tmp_path, "a3", study=STUDY_A, seed=4)
    assert a3.study_key != a1.study_key
