"""Masking keeps exactly the pixels of the keep mask, once per clip, and the clip code is the
SHA-256 of the masked RGB frames in order."""

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pydicom

from media_ingest.derived import EncoderSettings
from media_ingest.dicom import open_dicom
from media_ingest.pipeline import apply_keep_factor, keep_factor, keep_mask, process_file
from media_ingest.synthetic import write_synthetic_echo


def test_the_keep_factor_zeroes_exactly_the_pixels_outside_the_mask_and_leaves_the_source_alone():
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    mask = (rng.random((37, 53)) > 0.4).astype(np.uint8)
    source = frame.copy()
    out = np.full_like(frame, 99)

    result = apply_keep_factor(frame, keep_factor(mask), out=out)

    assert result is out
    np.testing.assert_array_equal(out, np.where(mask[:, :, None] == 1, frame, 0))
    np.testing.assert_array_equal(frame, source)


def test_the_clip_code_hashes_the_masked_frames_of_the_file_in_order(tmp_path):
    path = tmp_path / "loop.dcm"
    write_synthetic_echo(path, frames=5, rows=96, columns=192, seed=11, frame_marker=True)
    rectangles = [[150, 60, 20, 20]]
    with open_dicom(path) as clip:
        mask, _ = keep_mask(clip, [list(r) for r in rectangles])
    assert 0 < mask.mean() < 1
    expected = hashlib.sha256()
    for frame in pydicom.dcmread(path).pixel_array:
        expected.update(np.ascontiguousarray(np.where(mask[:, :, None] == 1, frame, 0).astype(np.uint8)).data)

    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        processed = process_file(path, folder=Path(folder), rectangles=rectangles, settings=EncoderSettings())

    assert processed.media.code == expected.hexdigest()
