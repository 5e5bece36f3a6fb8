"""Ingest keeps a lossless master of every clip: each de-identified frame as PNG, the pixels dataset
releases copy. The expected pixels come from the source file (pydicom decodes it independently of
ingest) and from the marker burned into each frame, never from the master's own writer."""

import hashlib

import cv2
import numpy as np
import pydicom
import pytest
from pydicom import examples

from media_ingest.models import Clip, IngestJob
from media_ingest.selectors import LosslessMissing, lossless_frames
from media_ingest.synthetic import read_frame_marker, write_synthetic_echo
from tests.ingest_helpers import chunk_frames_rgb, ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


def decode_png(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def master_frames(clip: Clip) -> list[np.ndarray]:
    pairs = list(lossless_frames(clip))
    assert [index for index, _ in pairs] == list(range(clip.frame_count))
    assert all(data.startswith(b"\x89PNG\r\n\x1a\n") for _, data in pairs)
    return [decode_png(data) for _, data in pairs]


def test_the_master_holds_the_source_pixels_exactly_and_the_jpeg_frames_do_not(project, tmp_path):
    path = tmp_path / "loop.dcm"
    truth = write_synthetic_echo(path, frames=40, rows=240, columns=320, frame_marker=True)
    [job] = ingest(project, [path])
    assert job.status == IngestJob.Status.READY, job.error
    clip = Clip.objects.get(pk=job.clip_id)

    frames = master_frames(clip)
    source = pydicom.dcmread(path).pixel_array  # uncompressed: the exact pixels sent
    top = truth["region"][1]  # the ultrasound region starts below the banner; above it is masked
    for index, frame in enumerate(frames):
        assert read_frame_marker(frame) == index
        assert np.array_equal(frame[top:], source[index][top:]), f"frame {index} differs from the source"
        assert not frame[:top].any(), "the banner rows are masked"
    # The clip's code is the SHA-256 of the de-identified pixels: the master reproduces it.
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(np.ascontiguousarray(frame).data)
    assert digest.hexdigest() == clip.code
    # The browser's JPEG frames are not lossless (what makes the master necessary).
    jpeg = chunk_frames_rgb(clip)
    assert any(not np.array_equal(a[top:], b[top:]) for a, b in zip(jpeg, frames, strict=True))


def test_a_colour_clip_is_kept_in_colour(project):
    [job] = ingest(project, [examples.get_path("rgb_color")])
    assert job.status == IngestJob.Status.READY, job.error
    clip = Clip.objects.get(pk=job.clip_id)
    [frame] = master_frames(clip)
    assert frame.shape == (clip.rows, clip.columns, 3)
    assert not np.array_equal(frame[..., 0], frame[..., 1]), "a colour frame must not be stored grey"
    assert hashlib.sha256(np.ascontiguousarray(frame).data).hexdigest() == clip.code


def test_chosen_frames_are_read_alone_and_the_master_is_never_served(project, tmp_path, client, admin_user):
    path = tmp_path / "loop.dcm"
    write_synthetic_echo(path, frames=40, rows=120, columns=200, frame_marker=True)
    [job] = ingest(project, [path])
    clip = Clip.objects.get(pk=job.clip_id)
    chosen = list(lossless_frames(clip, [39, 3, 33]))
    assert [index for index, _ in chosen] == [3, 33, 39]
    assert [read_frame_marker(decode_png(data)) for _, data in chosen] == [3, 33, 39]

    client.force_login(admin_user)
    for name in ("lossless/manifest.json", "lossless/chunk-00000.bin"):
        assert client.get(f"/media/{clip.code}/{name}").status_code == 404
    assert client.get(f"/media/{clip.code}/frames/manifest.json").status_code == 200


def test_a_clip_without_a_master_says_so(project):
    clip = Clip(code="ab" * 32, status=Clip.Status.READY, frame_count=1)
    with pytest.raises(LosslessMissing, match="no lossless master"):
        list(lossless_frames(clip))
