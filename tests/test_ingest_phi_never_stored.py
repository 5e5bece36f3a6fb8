"""PHI in DICOM attributes and burned-in text never reaches storage, database, logs or responses."""

import logging

import numpy as np
import pydicom
import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.urls import reverse

from media_ingest.models import Clip, IngestJob
from media_ingest.synthetic import write_synthetic_echo
from tests.ingest_helpers import (
    all_files,
    chunk_frames_rgb,
    ingest,
    manifest,
    read_media,
    video_frames_rgb,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]

# Attributes of DICOM PS3.15 Annex E (Basic Application Level Confidentiality Profile).
PHI = {
    "PatientName": "QZXNAME^JOSEPHINE",
    "PatientID": "QZXPID-81723",
    "PatientBirthDate": "19410317",
    "PatientAddress": "QZXADDR 12 Lime Street",
    "OtherPatientIDs": "QZXOTHERID",
    "InstitutionName": "QZXINSTITUTION Royal",
    "InstitutionAddress": "QZXINSTADDR Road",
    "ReferringPhysicianName": "QZXREFERRER^ANNA",
    "PerformingPhysicianName": "QZXPERFORMER^BOB",
    "AccessionNumber": "QZXACC77321",
    "StudyDate": "20170923",
    "StudyTime": "131415",
    "OperatorsName": "QZXOPERATOR^CAT",
    "StationName": "QZXSTATION",
    "DeviceSerialNumber": "QZXSERIAL990",
    "StudyID": "QZXSTUDY55",
    "StudyDescription": "QZXSTUDYDESC",
    "StudyInstanceUID": "1.2.826.0.1.3680043.10.999.424242.1",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.10.999.424242.2",
}


def phi_strings(path) -> list[str]:
    values = [v for v in PHI.values()]
    values += [v.replace("^", " ") for v in values if "^" in v]
    values += [part for v in values if "^" in v for part in v.split("^")]
    values.append(str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID))
    return sorted(set(values))


def test_no_phi_string_survives_ingest_anywhere_and_the_banner_is_blank(  # noqa: PLR0917 - fixtures
    project, expert_a, admin_user, client, caplog, roots
):
    # PACS exports name files after the patient: the name must not be stored either.
    source = roots.media.parent / "upload" / f"{PHI['PatientName']}_{PHI['PatientID']}.dcm"
    truth = write_synthetic_echo(
        source, frames=36, rows=240, columns=320, phi=PHI, transfer_syntax="jpeg_baseline", seed=7
    )
    banner = truth["banner_height"]
    original = pydicom.dcmread(source).pixel_array
    assert original[:, :banner].max() > 200, "the source must carry burned-in text for this test to mean anything"
    needles = phi_strings(source)
    assert all(n.encode() in source.read_bytes() for n in [PHI["PatientName"], PHI["StationName"]])

    caplog.set_level(logging.DEBUG)
    [job] = ingest(project, [source])
    assert job.status == IngestJob.Status.READY, job.error
    clip = Clip.objects.get(pk=job.clip_id)

    # Stored files: media storage and the private store (staging must be empty, no originals kept).
    stored = all_files(roots.media, roots.private)
    assert stored
    for path in stored:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, f"PHI found in stored file {path.name}"
    assert not [p for p in all_files(roots.private) if "staging" in p.parts]

    # Database: every row of every table, as text.
    for model in apps.get_models():
        for row in model.objects.values():
            text = str(row)
            for needle in needles:
                assert needle not in text, f"PHI found in {model._meta.label}"

    # Logs.
    for needle in needles:
        assert needle not in caplog.text

    # Served responses: every media file, to a member and to staff, and the admin pages.
    names = ["video.mp4", "poster.jpg", "array.npy", "frames/manifest.json"]
    names += [f"frames/{c['name']}" for c in manifest(clip)["chunks"]]
    pages = [reverse("clip_file", args=[clip.code, name]) for name in names]
    for user, urls in [
        (expert_a, pages),
        (
            admin_user,
            [
                *pages,
                reverse("admin:media_ingest_ingestjob_changelist"),
                reverse("admin:media_ingest_ingestjob_change", args=[job.pk]),
                reverse("admin:media_ingest_clip_changelist"),
                reverse("admin:media_ingest_clip_change", args=[clip.pk]),
            ],
        ),
    ]:
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            body = b"".join(response.streaming_content) if response.streaming else response.content
            for needle in needles:
                assert needle.encode() not in body, f"PHI served at {url}"

    # The banner is blank in every frame: frame JPEGs, video and the grey array.
    for frame in chunk_frames_rgb(clip):
        assert frame[:banner].max() <= 16
        assert frame[:banner].mean() < 1
    for frame in video_frames_rgb(read_media(clip.video_name)):
        assert frame[:banner].max() <= 24
        assert frame[:banner].mean() < 2
    array = np.load(default_storage.path(clip.array_name))
    assert array[:, : banner * 112 // 240 - 1].max() <= 8
