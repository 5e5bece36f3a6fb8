"""Read a DICOM file: a de-identified technical record, then its frames one at a time, as RGB.

No Django here. The header is read once; pixel data is decoded frame by frame straight from the
open file (pydicom's decoder over a file object), so a 300-frame clip is never held in memory.
Only attributes named in ``deid.TECHNICAL_KEYWORDS`` are read from the header (see ``deid``).

Colour: frames are decoded with ``as_rgb=False`` and converted with OpenCV, which is several times
faster than pydicom's numpy YBR conversion (NOTES.md). Palette colour is applied through one
256/65536-entry table built once per file.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder
from pydicom.pixels.processing import apply_color_lut
from pydicom.pixels.utils import as_pixel_options
from pydicom.uid import UID

from media_ingest import conf
from media_ingest.deid import TechnicalRecord, build_technical_record
from media_ingest.errors import IngestError

_PIXEL_DATA_TAG = (0x7FE0, 0x0010)
_SUPPORTED_PHOTOMETRIC = {
    "MONOCHROME1",
    "MONOCHROME2",
    "RGB",
    "YBR_FULL",
    "YBR_FULL_422",
    "YBR_ICT",
    "YBR_RCT",
    "PALETTE COLOR",
}


@dataclass
class DicomClip:
    """An open DICOM file: its technical record and a one-pass frame iterator."""

    record: TechnicalRecord
    _file: BinaryIO
    _options: dict[str, Any]
    _lut: np.ndarray | None
    _pixel_start: int

    def frames(self, indices: list[int] | None = None) -> Iterator[np.ndarray]:
        """Yield each frame (or those at ``indices``) as a C-contiguous (rows, columns, 3) uint8
        RGB array, decoding one at a time."""
        decoder = get_decoder(self._options["transfer_syntax_uid"])
        self._file.seek(self._pixel_start)
        with warnings.catch_warnings(action="ignore"):
            iterator = decoder.iter_array(self._file, indices=indices, validate=True, **self._options)
        index = 0
        while True:
            try:
                with warnings.catch_warnings(action="ignore"):
                    array, meta = next(iterator)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - decoder errors are many and untyped
                raise IngestError(
                    f"frame {index} could not be decoded (truncated or corrupt pixel data; {type(exc).__name__})"
                ) from None
            yield self._to_rgb(array, meta.get("photometric_interpretation", self.record.photometric))
            index += 1
        if indices is None and index != self.record.frame_count:
            raise IngestError(f"the file declares {self.record.frame_count} frames but holds {index}")

    def _to_rgb(self, array: np.ndarray, photometric: str) -> np.ndarray:
        if self._lut is not None:
            return np.ascontiguousarray(self._lut[array])
        if array.dtype != np.uint8:
            array = _to_8_bit(array, self.record.bits_stored, signed=self._options.get("pixel_representation") == 1)
        if array.ndim == 2:
            if photometric == "MONOCHROME1":
                array = 255 - array
            return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB)
        if photometric.startswith("YBR"):
            # DICOM stores Y, Cb, Cr; OpenCV's full-range converter wants Y, Cr, Cb.
            return cv2.cvtColor(array[..., [0, 2, 1]], cv2.COLOR_YCrCb2RGB)
        return np.ascontiguousarray(array)


def _to_8_bit(array: np.ndarray, bits_stored: int, *, signed: bool) -> np.ndarray:
    values = array.astype(np.int32)
    if signed:
        values += 1 << (bits_stored - 1)
    shift = max(bits_stored - 8, 0)
    return np.clip(values >> shift, 0, 255).astype(np.uint8)


@contextmanager
def open_dicom(path: Path) -> Iterator[DicomClip]:
    """Open ``path`` and check it can be ingested; raises ``IngestError`` with a clear reason."""
    with path.open("rb") as handle:
        dataset = _read_header(handle)
        record = build_technical_record(
            dataset, default_frame_rate=conf.INGEST.default_frame_rate, study_secret=conf.study_secret()
        )
        _check_limits(record)
        options = _pixel_options(handle, dataset, record)
        lut = _palette_table(dataset) if record.photometric == "PALETTE COLOR" else None
        del dataset  # the full header (with any PHI) is not kept past this point
        yield DicomClip(record=record, _file=handle, _options=options, _lut=lut, _pixel_start=handle.tell())


def _read_header(handle: BinaryIO) -> pydicom.Dataset:
    try:
        with warnings.catch_warnings(action="ignore"):
            return pydicom.dcmread(handle, stop_before_pixels=True)
    except InvalidDicomError:
        raise IngestError("not a DICOM file (no DICM preamble or file meta)") from None
    except Exception as exc:  # noqa: BLE001 - a malformed header raises anything
        raise IngestError(f"the DICOM header could not be read (truncated or corrupt; {type(exc).__name__})") from None


def _check_limits(record: TechnicalRecord) -> None:
    limits = conf.INGEST
    if record.frame_count < 1:
        raise IngestError("the file has zero frames")
    if record.rows < 1 or record.columns < 1:
        raise IngestError("the image has no rows or columns")
    if record.rows > limits.max_rows or record.columns > limits.max_columns:
        raise IngestError(
            f"image of {record.columns}x{record.rows} pixels is over the limit of "
            f"{limits.max_columns}x{limits.max_rows} (UNITY_INGEST_MAX_COLUMNS / UNITY_INGEST_MAX_ROWS)"
        )
    if record.frame_count > limits.max_frames:
        raise IngestError(
            f"{record.frame_count} frames is over the limit of {limits.max_frames} (UNITY_INGEST_MAX_FRAMES)"
        )
    if record.photometric not in _SUPPORTED_PHOTOMETRIC:
        raise IngestError(f"unsupported photometric interpretation {record.photometric!r}")
    if record.samples_per_pixel not in (1, 3):
        raise IngestError(f"unsupported samples per pixel: {record.samples_per_pixel}")
    if record.bits_allocated not in (8, 16):
        raise IngestError(f"unsupported bits allocated: {record.bits_allocated}")
    # Checked before anything is sized from it (the palette table has 2**BitsStored entries).
    if not 1 <= record.bits_stored <= record.bits_allocated:
        raise IngestError(
            f"bits stored ({record.bits_stored}) must be between 1 and bits allocated ({record.bits_allocated})"
        )
    decoded = (
        record.rows * record.columns * record.samples_per_pixel * (record.bits_allocated // 8) * record.frame_count
    )
    if decoded > limits.max_decoded_bytes:
        raise IngestError(
            f"the pixels would decode to {decoded:,} bytes, over the budget of {limits.max_decoded_bytes:,} "
            "(UNITY_INGEST_MAX_DECODED_BYTES)"
        )


def _pixel_options(handle: BinaryIO, dataset: pydicom.Dataset, record: TechnicalRecord) -> dict[str, Any]:
    tsyntax = UID(record.transfer_syntax_uid)
    label = tsyntax.name if tsyntax.is_transfer_syntax else f"unknown transfer syntax {record.transfer_syntax_uid}"
    try:
        decoder = get_decoder(tsyntax)
    except NotImplementedError:
        raise IngestError(f"unsupported transfer syntax: {label}") from None
    if not decoder.is_available:
        raise IngestError(f"unsupported transfer syntax: {label} (no decoder installed)")

    header = handle.read(8)
    if len(header) < 8 or struct.unpack("<HH" if tsyntax.is_little_endian else ">HH", header[:4]) != _PIXEL_DATA_TAG:
        raise IngestError("the file has no pixel data")
    endian = "<" if tsyntax.is_little_endian else ">"
    with warnings.catch_warnings(action="ignore"):
        options = as_pixel_options(dataset)
    options["transfer_syntax_uid"] = tsyntax
    options["pixel_keyword"] = "PixelData"
    if tsyntax.is_implicit_VR:
        length = struct.unpack(f"{endian}L", header[4:])[0]
    else:
        options["pixel_vr"] = header[4:6].decode("ascii", "replace")
        length = struct.unpack(f"{endian}L", handle.read(4))[0]

    if not tsyntax.is_encapsulated:
        frame_bytes = record.rows * record.columns * record.samples_per_pixel * (record.bits_allocated // 8)
        if record.photometric == "YBR_FULL_422":
            frame_bytes = frame_bytes * 2 // 3
        start = handle.tell()
        available = handle.seek(0, 2) - start
        handle.seek(start)
        if min(length, available) < frame_bytes * record.frame_count:
            raise IngestError(
                f"truncated: pixel data holds {min(length, available)} bytes, {record.frame_count} frames need "
                f"{frame_bytes * record.frame_count}"
            )
    elif length != 0xFFFFFFFF:
        raise IngestError("compressed pixel data is not encapsulated (undefined length expected)")
    return options


_PALETTE_DESCRIPTORS = (
    "RedPaletteColorLookupTableDescriptor",
    "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor",
)


def _check_palette(dataset: pydicom.Dataset) -> None:
    """The lookup table descriptors (entries, first mapped value, bits per entry) before any table
    is built from them: at most 65,536 entries of 8 or 16 bits, and no segmented tables (their
    expansion is sized by the data, not the descriptor)."""
    for keyword in _PALETTE_DESCRIPTORS:
        descriptor = dataset.get(keyword)
        try:
            entries, _first, bits = (int(v) for v in descriptor)
        except (TypeError, ValueError):
            raise IngestError(f"palette colour without a valid {keyword}") from None
        if not 0 <= entries <= 65535 or bits not in (8, 16):
            raise IngestError(f"palette lookup table descriptor out of range ({entries} entries of {bits} bits)")
    if any(
        k in dataset for k in ("SegmentedRedPaletteColorLookupTableData", "SegmentedGreenPaletteColorLookupTableData")
    ):
        raise IngestError("segmented palette colour lookup tables are not supported")


def _palette_table(dataset: pydicom.Dataset) -> np.ndarray:
    _check_palette(dataset)
    bits = min(int(dataset.get("BitsStored", 8)), int(dataset.get("BitsAllocated", 8)), 16)
    entries = np.arange(1 << bits, dtype=np.uint16 if bits > 8 else np.uint8)
    try:
        with warnings.catch_warnings(action="ignore"):
            table = apply_color_lut(entries, dataset)
    except Exception as exc:  # noqa: BLE001 - malformed lookup tables raise anything
        raise IngestError(f"the palette colour lookup table could not be read ({type(exc).__name__})") from None
    if table.dtype != np.uint8:
        peak = int(table.max()) or 1
        table = (table.astype(np.float32) * (255.0 / (65535 if peak > 255 else 255))).round().astype(np.uint8)
    return np.ascontiguousarray(table)
