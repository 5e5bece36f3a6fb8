"""Hostile inputs that size allocations or expand without bound: each fails alone with a clear
reason, before anything large is allocated or staged, while the good files still ingest."""

from __future__ import annotations

import dataclasses
import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.uid import ExplicitVRLittleEndian

from media_ingest import conf
from media_ingest.memory import memory_budget
from media_ingest.models import IngestJob
from media_ingest.synthetic import write_synthetic_echo
from tests.ingest_helpers import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


def palette_dicom(path: Path, good: Path, *, bits_stored: int, descriptor_bits: int = 8) -> Path:
    """An 8-bit palette-colour file declaring ``bits_stored`` bits (the attack pass's bomb: a
    2**BitsStored-entry table was built before anything checked the value)."""
    ds = pydicom.dcmread(good)
    frames, rows, columns = int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ds.SamplesPerPixel = 1
    ds.BitsAllocated = 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    for colour, tag in (("Red", 0x00281101), ("Green", 0x00281102), ("Blue", 0x00281103)):
        ds[tag] = DataElement(tag, "US", [256, 0, descriptor_bits])
        ds[tag + 0x100] = DataElement(
            tag + 0x100, "OW", bytes(range(256)) * 2 if descriptor_bits == 16 else bytes(range(256))
        )
        assert f"{colour}PaletteColorLookupTableDescriptor" in ds
    ds.PixelData = bytes((i * 7) % 256 for i in range(frames * rows * columns))
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "source" / "good.dcm"
    path.parent.mkdir()
    write_synthetic_echo(path, frames=4, rows=96, columns=128, seed=11)
    return path


def test_the_bits_stored_bomb_and_bad_palettes_fail_before_any_table_is_built(good, project, tmp_path):
    folder = tmp_path / "palette"
    folder.mkdir()
    names = {
        "palette_ok": palette_dicom(folder / "a.dcm", good, bits_stored=8),
        **{f"bits_{b}": palette_dicom(folder / f"b{b}.dcm", good, bits_stored=b) for b in (26, 28, 30, 32)},
        "descriptor_32": palette_dicom(folder / "c.dcm", good, bits_stored=8, descriptor_bits=32),
    }
    jobs = dict(zip(names, ingest(project, list(names.values())), strict=True))
    assert jobs["palette_ok"].status == IngestJob.Status.READY, jobs["palette_ok"].error
    for bits in (26, 28, 30, 32):
        job = jobs[f"bits_{bits}"]
        assert job.status == IngestJob.Status.FAILED
        assert f"bits stored ({bits}) must be between 1 and bits allocated (8)" in job.error
    assert "descriptor out of range (256 entries of 32 bits)" in jobs["descriptor_32"].error


def test_a_file_declaring_more_pixels_than_the_budget_is_refused_unread(good, project, monkeypatch):
    # 4 frames x 96 x 128 x 3 samples = 147,456 bytes decoded; the budget is set just below.
    monkeypatch.setattr(conf, "INGEST", dataclasses.replace(conf.INGEST, max_decoded_bytes=147_455))
    [job] = ingest(project, [good])
    assert job.status == IngestJob.Status.FAILED
    assert "decode to 147,456 bytes, over the budget of 147,455" in job.error


def test_symlinks_are_refused_never_followed(good, project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "other.dcm"
    write_synthetic_echo(secret, frames=3, rows=64, columns=80, seed=12)
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "a-good.dcm").write_bytes(good.read_bytes())
    (folder / "b-link.dcm").symlink_to(secret)
    (folder / "c-linked-folder").symlink_to(outside, target_is_directory=True)
    top_link = tmp_path / "top-link.dcm"
    top_link.symlink_to(secret)
    jobs = ingest(project, [folder, top_link])
    assert [job.status for job in jobs] == [IngestJob.Status.READY] + [IngestJob.Status.FAILED] * 3
    assert all(job.error == "symbolic link; not followed" for job in jobs[1:])
    assert IngestJob.objects.filter(status=IngestJob.Status.READY).count() == 1  # the secret never came in


def test_archives_inside_archives_and_other_archive_kinds_are_named(good, project, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("x.dcm", good.read_bytes())
    with zipfile.ZipFile(folder / "outer.zip", "w") as zf:
        zf.writestr("good.dcm", good.read_bytes())
        zf.writestr("inner.zip", inner.getvalue())
        zf.writestr("disguised.dcm", inner.getvalue())  # a zip by its bytes, whatever its name
        link = zipfile.ZipInfo("link.dcm")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with tarfile.open(folder / "studies.tar", "w") as tf:
        tf.add(good, arcname="good.dcm")
    jobs = ingest(project, [folder])
    errors = [job.error for job in jobs]
    assert jobs[0].status == IngestJob.Status.READY, errors
    assert errors[1:3] == ["an archive inside the archive; not opened (unpack it first)"] * 2
    assert errors[3] == "symbolic link inside the archive; not followed"
    assert errors[4] == "a .tar archive: ingest opens zip archives only (unpack it first)"


def test_an_upload_stages_at_most_its_expansion_budget(good, project, tmp_path, monkeypatch):
    size = good.stat().st_size
    monkeypatch.setattr(conf, "INGEST", dataclasses.replace(conf.INGEST, max_expansion_bytes=5 * size // 2))
    folder = tmp_path / "upload"
    folder.mkdir()
    # A zip that declares four copies (stored: ratio 1:1, under every per-entry limit) is refused
    # whole; then two loose files fit, and the third finds the budget spent.
    with zipfile.ZipFile(folder / "a.zip", "w") as zf:
        for n in range(4):
            zf.writestr(f"copy{n}.dcm", good.read_bytes())
    for n in range(3):
        write_synthetic_echo(folder / f"b{n}.dcm", frames=4, rows=96, columns=128, seed=20 + n)
    assert (folder / "b0.dcm").stat().st_size <= size * 1.01
    jobs = ingest(project, [folder])
    assert "the archive declares" in jobs[0].error and "nothing extracted" in jobs[0].error
    assert [job.status for job in jobs[1:3]] == [IngestJob.Status.READY] * 2, [j.error for j in jobs]
    assert "over the budget" in jobs[3].error and "UNITY_INGEST_MAX_EXPANSION_BYTES" in jobs[3].error


def test_the_memory_guard_turns_an_oversized_allocation_into_a_memory_error():
    import numpy as np

    with memory_budget(256 * 1024**2), pytest.raises(MemoryError):
        np.ones(1024**3, dtype=np.uint8)  # 1 GiB past a 256 MiB budget
    np.ones(512 * 1024**2, dtype=np.uint8)  # and the cap is lifted afterwards
