"""Ultrasound regions are the scanner's word only: regions that would keep the banner are not
trusted on their own, so burned-in patient text is masked even when the file's regions lie."""

import pydicom
import pytest

from media_ingest.dicom import open_dicom
from media_ingest.pipeline import MaskSource, keep_mask
from media_ingest.synthetic import write_synthetic_echo


def rewrite_regions(path, **changes):
    dataset = pydicom.dcmread(path)
    for region in dataset.SequenceOfUltrasoundRegions:
        for keyword, value in changes.items():
            setattr(region, keyword, value)
    dataset.save_as(path)


@pytest.mark.parametrize(
    "changes",
    [
        {"RegionLocationMinX0": 0, "RegionLocationMinY0": 0, "RegionLocationMaxX1": 319, "RegionLocationMaxY1": 239},
        {"RegionLocationMinY0": 0},
        {"RegionSpatialFormat": 0},
    ],
    ids=["whole-frame", "starts-on-the-banner-row", "not-image-data"],
)
def test_untrusted_regions_are_intersected_with_the_sector_and_the_banner_stays_blank(tmp_path, changes):
    path = tmp_path / "lying-regions.dcm"
    truth = write_synthetic_echo(path, frames=12, rows=240, columns=320, seed=21)
    rewrite_regions(path, **changes)
    with open_dicom(path) as clip:
        mask, source = keep_mask(clip, [])
    assert source == MaskSource.REGIONS_AND_SECTOR
    assert mask[: truth["banner_height"]].max() == 0
    assert mask.mean() > 0.1  # the sector itself is kept (about a fifth of this frame)


def test_trusted_regions_are_used_as_they_are(tmp_path):
    path = tmp_path / "honest.dcm"
    truth = write_synthetic_echo(path, frames=6, rows=240, columns=320, seed=22)
    with open_dicom(path) as clip:
        mask, source = keep_mask(clip, [])
    assert source == MaskSource.REGIONS
    assert mask[: truth["banner_height"]].max() == 0
