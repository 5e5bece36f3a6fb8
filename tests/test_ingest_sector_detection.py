"""Single-frame files without ultrasound regions: the detected sector keeps the image and drops
burned-in text, also text that touches the sector."""

import cv2
import pydicom
import pytest
from pydicom import examples

from media_ingest.dicom import open_dicom
from media_ingest.models import Clip, IngestJob
from media_ingest.pipeline import keep_mask
from media_ingest.synthetic import write_synthetic_echo
from tests.ingest_helpers import chunk_frames_rgb, ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


def single_frame_with_text_touching_the_sector(path):
    """A 320x240 single-frame echo without regions; two lines of text start inside the fan's
    edge (near the apex, and lower down) and run out into the black beside it."""
    truth = write_synthetic_echo(path, frames=1, rows=240, columns=320, with_regions=False, seed=5)
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array.copy()
    before = pixels.copy()
    for text, origin in [("QZX SECRET 1234", (176, 64)), ("DOB 19410317", (246, 150))]:
        cv2.putText(pixels, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    ds.PixelData = pixels.tobytes()
    ds.save_as(path)
    outside_fan = before.max(axis=2) == 0
    text = (pixels.max(axis=2) > 0) & outside_fan
    fan = (before.max(axis=2) > 0) & ~((pixels != before).any(axis=2))
    fan[: truth["banner_height"] + 4] = False  # the banner (with its own text) is not the fan
    return text, fan


def test_text_touching_the_sector_of_a_single_frame_is_masked(tmp_path):
    path = tmp_path / "single.dcm"
    text, fan = single_frame_with_text_touching_the_sector(path)
    assert text.sum() > 300

    with open_dicom(path) as clip:
        mask, source = keep_mask(clip, [])

    assert source == "sector"
    assert mask[text].sum() == 0
    assert mask[fan].mean() > 0.9  # the image itself is kept


def test_the_text_blocks_of_pydicoms_rgb_color_example_are_blank(project):
    [job] = ingest(project, [examples.get_path("rgb_color")])
    assert job.status == IngestJob.Status.READY, job.error
    clip = Clip.objects.get(pk=job.clip_id)
    assert clip.mask_source == "sector"
    [frame] = chunk_frames_rgb(clip)
    source = pydicom.dcmread(examples.get_path("rgb_color")).pixel_array
    # The header block (institution, ids, time: rows 0-50) and the captions below the image.
    assert source[:48].max() > 200 and source[176:].max() > 200
    assert frame[:48].max() <= 16
    assert frame[176:].max() <= 16
    assert frame[70:160, 40:280].mean() > 0.9 * source[70:160, 40:280].mean()  # the image is kept
