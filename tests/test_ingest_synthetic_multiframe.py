"""Synthetic multi-frame loops in each transfer syntax ingest frame-accurately."""

import numpy as np
import pytest

from media_ingest.conf import CHUNK_SIZE
from media_ingest.models import Clip, IngestJob
from media_ingest.synthetic import read_frame_marker, write_synthetic_echo
from tests.ingest_helpers import chunk_frames_rgb, ingest, manifest, read_media, video_facts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


@pytest.mark.parametrize("transfer_syntax", ["explicit_little", "jpeg_baseline", "rle"])
def test_every_frame_of_a_synthetic_loop_is_stored_in_order_with_rate_and_spacing(transfer_syntax, project, tmp_path):
    path = tmp_path / "loop.dcm"
    truth = write_synthetic_echo(
        path, frames=40, rows=240, columns=320, frame_rate=25.0, frame_marker=True, transfer_syntax=transfer_syntax
    )
    [job] = ingest(project, [path])

    assert job.status == IngestJob.Status.READY, job.error
    clip = Clip.objects.get(pk=job.clip_id)
    assert (clip.frame_count, clip.columns, clip.rows) == (40, 320, 240)
    assert clip.frame_rate == pytest.approx(25.0, rel=1e-3)
    assert clip.frame_rate_source == "FrameTime"
    assert clip.pixel_spacing_x_mm == pytest.approx(truth["pixel_spacing_mm"])
    assert clip.pixel_spacing_y_mm == pytest.approx(truth["pixel_spacing_mm"])
    assert clip.mask_source == "regions"

    info = manifest(clip)
    assert info["chunk_size"] == CHUNK_SIZE
    assert [c["name"] for c in info["chunks"]] == ["chunk-00000.bin", "chunk-00001.bin"]
    assert [c["first_frame"] for c in info["chunks"]] == [0, CHUNK_SIZE]
    assert [len(c["frames"]) for c in info["chunks"]] == [CHUNK_SIZE, 40 - CHUNK_SIZE]
    assert [read_frame_marker(frame) for frame in chunk_frames_rgb(clip)] == list(range(40))

    facts = video_facts(read_media(clip.video_name))
    assert (facts.codec, facts.pix_fmt, facts.profile, facts.frames) == ("h264", "yuv420p", "High", 40)
    assert facts.atoms.index("moov") < facts.atoms.index("mdat")

    array = np.load(default_storage_path(clip.array_name))
    assert array.dtype == np.uint8
    assert array.shape == (40, 112, 112)


def default_storage_path(name: str):
    from django.core.files.storage import default_storage

    return default_storage.path(name)
