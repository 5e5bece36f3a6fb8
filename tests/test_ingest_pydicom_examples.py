"""The ultrasound examples shipped inside pydicom ingest into browser-ready media."""

import pytest
from pydicom import examples

from media_ingest.models import Clip, IngestJob, ProjectItem
from tests.ingest_helpers import ingest, manifest, read_media, video_facts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]

# name: (frames, frame rate, its source, pixel spacing x in mm or None)
EXAMPLES = {
    "ybr_color": (30, 1000 / 33.333, "FrameTime", 0.5104970559477806),
    "jpeg2k": (1, 30.0, "default", None),
    "palette_color": (1, 30.0, "default", 0.2622878766196998),
    "rgb_color": (1, 30.0, "default", None),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_pydicom_example_becomes_a_ready_clip_with_h264_video_and_frame_chunks(name, project):
    frames, rate, source, spacing = EXAMPLES[name]
    [job] = ingest(project, [examples.get_path(name)])

    assert job.status == IngestJob.Status.READY, job.error
    clip = Clip.objects.get(pk=job.clip_id)
    assert clip.frame_count == frames
    assert clip.frame_rate == pytest.approx(rate, rel=1e-4)
    assert clip.frame_rate_source == source
    assert clip.pixel_spacing_x_mm == (pytest.approx(spacing) if spacing else None)
    assert clip.storage_prefix == f"{clip.code[:2]}/{clip.code[2:4]}/{clip.code}"
    assert ProjectItem.objects.filter(project=project, clip=clip, frame_index=None).exists()

    facts = video_facts(read_media(clip.video_name))
    assert (facts.codec, facts.pix_fmt, facts.profile) == ("h264", "yuv420p", "High")
    assert facts.frames == frames
    assert facts.atoms.index("moov") < facts.atoms.index("mdat")

    info = manifest(clip)
    assert info["frame_count"] == frames
    assert (info["width"], info["height"]) == (clip.columns, clip.rows)
    assert sum(len(chunk["frames"]) for chunk in info["chunks"]) == frames
    assert read_media(clip.poster_name)[:2] == b"\xff\xd8"
