"""One file to de-identified derived media in a work folder: read, mask, hash, encode. No Django.

The services call ``process_file``; the bench calls it too, so the figures it prints are the
pipeline's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from media_ingest.deid import TechnicalRecord, apply_rectangles, detect_sector, region_mask, regions_trusted
from media_ingest.derived import DerivedMedia, DerivedMediaWriter, EncoderSettings
from media_ingest.dicom import DicomClip, open_dicom
from media_ingest.errors import IngestError

SECTOR_SAMPLES = 12


class MaskSource:
    REGIONS = "regions"
    REGIONS_AND_SECTOR = "regions+sector"
    SECTOR = "sector"


@dataclass(frozen=True)
class ProcessedFile:
    record: TechnicalRecord
    media: DerivedMedia
    mask_source: str


def keep_mask(clip: DicomClip, rectangles: list[list[int]]) -> tuple[np.ndarray, str]:
    """1 where pixels are kept, and how that was decided (``MaskSource``).

    Trusted regions (``deid.regions_trusted``: image data, inside the image, clear of the banner
    row, not the whole frame) are used as they are. Other regions are intersected with the
    detected sector; with no regions, the detected sector alone is kept."""
    record = clip.record
    rows, columns = record.rows, record.columns
    mask = region_mask(record.regions, rows=rows, columns=columns)
    if mask is not None and regions_trusted(record.regions, rows=rows, columns=columns):
        return apply_rectangles(mask, rectangles), MaskSource.REGIONS
    count = record.frame_count
    step = max(count // SECTOR_SAMPLES, 1)
    sector = detect_sector(list(clip.frames(list(range(0, count, step))[:SECTOR_SAMPLES])))
    if mask is not None and sector is not None:
        mask, source = mask & sector, MaskSource.REGIONS_AND_SECTOR
    elif mask is not None:
        raise IngestError(
            "the Sequence of Ultrasound Regions cannot be trusted (it covers the banner row, most of "
            "the frame, or non-image data) and no imaging sector could be detected; burned-in text "
            "cannot be masked safely (add the project's mask rectangles)"
        )
    elif sector is not None:
        mask, source = sector, MaskSource.SECTOR
    else:
        raise IngestError(
            "no Sequence of Ultrasound Regions and no imaging sector could be detected; "
            "burned-in text cannot be masked safely"
        )
    return apply_rectangles(mask, rectangles), source


def keep_factor(mask: np.ndarray) -> np.ndarray:
    """The keep mask as a (rows, columns, 3) uint8 array of 0 and 1, built once per clip."""
    return np.repeat((mask != 0)[:, :, None], 3, axis=2).astype(np.uint8)


def apply_keep_factor(rgb: np.ndarray, keep: np.ndarray, *, out: np.ndarray) -> np.ndarray:
    """``rgb`` with every pixel outside the keep mask set to 0, written into ``out``: one
    multiply by 0 or 1 (exact in uint8), no per-frame allocation, ``rgb`` left untouched."""
    return np.multiply(rgb, keep, out=out)


def process_file(path: Path, *, folder: Path, rectangles: list[list[int]], settings: EncoderSettings) -> ProcessedFile:
    """Decode ``path`` frame by frame into de-identified media under ``folder``.

    Raises ``IngestError`` for anything wrong with the file. The caller removes ``folder``.
    """
    with open_dicom(path) as clip:
        record = clip.record
        mask, source = keep_mask(clip, rectangles)
        keep = keep_factor(mask)
        frame = np.empty((record.rows, record.columns, 3), dtype=np.uint8)
        writer = DerivedMediaWriter(
            folder,
            rows=record.rows,
            columns=record.columns,
            frame_count=record.frame_count,
            frame_rate=record.frame_rate,
            settings=settings,
        )
        try:
            for decoded in clip.frames():
                apply_keep_factor(decoded, keep, out=frame)
                writer.add(frame)
            media = writer.finish()
        except BaseException:
            writer.abort()
            raise
    return ProcessedFile(record=record, media=media, mask_source=source)
