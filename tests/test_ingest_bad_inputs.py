"""Each bad input fails with a clear reason of its own while the rest of the batch goes on."""

import dataclasses
import zipfile

import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import UID

from media_ingest import conf
from media_ingest.models import IngestJob
from media_ingest.synthetic import write_synthetic_echo
from tests.ingest_helpers import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]

MPEG4 = UID("1.2.840.10008.1.2.4.102")


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(conf, "INGEST", dataclasses.replace(conf.INGEST, max_rows=200, zip_max_ratio=50.0))


def make_bad_inputs(folder):
    folder.mkdir()
    good = folder / "good.dcm"
    write_synthetic_echo(good, frames=6, rows=160, columns=200, seed=1)
    files = {"good": good}

    files["not_dicom"] = folder / "notes.dcm"
    files["not_dicom"].write_text("these are not the pixels you are looking for")

    files["truncated"] = folder / "truncated.dcm"
    write_synthetic_echo(files["truncated"], frames=6, rows=160, columns=200, seed=2)
    data = files["truncated"].read_bytes()
    files["truncated"].write_bytes(data[: len(data) * 2 // 3])

    files["no_pixels"] = folder / "no-pixels.dcm"
    ds = pydicom.dcmread(good)
    del ds.PixelData
    ds.save_as(files["no_pixels"])

    files["zero_frames"] = folder / "zero-frames.dcm"
    ds = pydicom.dcmread(good)
    ds.NumberOfFrames = 0
    ds.save_as(files["zero_frames"])

    files["unsupported"] = folder / "mpeg4.dcm"
    ds = pydicom.dcmread(good)
    ds.file_meta.TransferSyntaxUID = MPEG4
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 60])
    ds["PixelData"].VR = "OB"
    ds.save_as(files["unsupported"], enforce_file_format=True)

    files["too_big"] = folder / "too-big.dcm"
    write_synthetic_echo(files["too_big"], frames=2, rows=240, columns=200, seed=3)

    files["traversal"] = folder / "traversal.zip"
    with zipfile.ZipFile(files["traversal"], "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("../../etc/evil.dcm", good.read_bytes())
    files["bomb"] = folder / "bomb.zip"
    with zipfile.ZipFile(files["bomb"], "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.dcm", b"\x00" * 20_000_000)
    return files


def test_bad_inputs_fail_one_by_one_with_reasons_and_good_files_still_ingest(small_limits, project, tmp_path):
    files = make_bad_inputs(tmp_path / "batch")
    order = [
        "good",
        "not_dicom",
        "truncated",
        "no_pixels",
        "zero_frames",
        "unsupported",
        "too_big",
        "traversal",
        "bomb",
    ]
    jobs = ingest(project, [files[name] for name in order] + [files["good"]])
    by_name = dict(zip([*order, "same_again"], jobs, strict=True))

    assert by_name["good"].status == IngestJob.Status.READY, by_name["good"].error
    expected = {
        "not_dicom": "not a DICOM file",
        "truncated": "truncated",
        "no_pixels": "no pixel data",
        "zero_frames": "zero frames",
        "unsupported": "unsupported transfer syntax: MPEG-4",
        "too_big": "200x240 pixels is over the limit of 2048x200",
        "traversal": "path traversal",
        "bomb": "over the limit of 50:1",
    }
    for name, reason in expected.items():
        job = by_name[name]
        assert job.status == IngestJob.Status.FAILED, name
        assert reason in job.error, (name, job.error)
        assert job.clip_id is None
    same_again = by_name["same_again"]
    assert same_again.status == IngestJob.Status.DUPLICATE
    assert same_again.clip_id == by_name["good"].clip_id
    assert "same pixels as clip" in same_again.error
    # Positions in the batch, never file or entry names (names can carry patient names).
    assert [job.source_name for job in jobs] == [f"file {n:04d}" for n in range(1, len(jobs) + 1)]
    assert not (tmp_path / "etc").exists()
