"""De-identification: a new record from a whitelist of technical attributes, and pixel masks.

Nothing is copied from the source header and then deleted: ``build_technical_record`` reads
only the keywords in ``TECHNICAL_KEYWORDS`` (``_get`` refuses any other) and turns each into a
typed number or a short, sanitised technical string. The pixels keep only the ultrasound
regions (Sequence of Ultrasound Regions), or, when a file has none, the detected imaging sector;
a project may blank further rectangles. Burned-in text lives outside those areas.

No Django here.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass

import cv2
import numpy as np
import pydicom

# Technical attributes only: none is listed in DICOM PS3.15 Annex E (Basic Application Level
# Confidentiality Profile) as identifying, except the device descriptions, which are reduced to
# short printable text below. Everything else in the source header is never read.
TECHNICAL_KEYWORDS = frozenset(
    {
        "Rows",
        "Columns",
        "NumberOfFrames",
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "BitsAllocated",
        "BitsStored",
        "PixelRepresentation",
        "PlanarConfiguration",
        "FrameTime",
        "FrameTimeVector",
        "CineRate",
        "RecommendedDisplayFrameRate",
        "SequenceOfUltrasoundRegions",
        "PixelSpacing",
        "Modality",
        "Manufacturer",
        "ManufacturerModelName",
    }
)
_REGION_KEYWORDS = frozenset(
    {
        "RegionSpatialFormat",
        "RegionDataType",
        "RegionLocationMinX0",
        "RegionLocationMinY0",
        "RegionLocationMaxX1",
        "RegionLocationMaxY1",
        "PhysicalUnitsXDirection",
        "PhysicalUnitsYDirection",
        "PhysicalDeltaX",
        "PhysicalDeltaY",
    }
)
# Read only to be hashed with a secret key (``study_pseudonym``), never stored, logged or returned
# as it is: which clips come from one study, so that dataset splits never put a study in two.
_STUDY_KEYWORDS = frozenset({"StudyInstanceUID"})
_CENTIMETRES = 3
_TWO_D = 1
_TISSUE = 1
_MIN_RATE, _MAX_RATE = 0.1, 1000.0


@dataclass(frozen=True)
class Region:
    """An ultrasound region in pixel coordinates (inclusive), as the file gives it."""

    x0: int
    y0: int
    x1: int
    y1: int
    spatial_format: int
    data_type: int
    delta_x_mm: float | None
    delta_y_mm: float | None


@dataclass(frozen=True)
class TechnicalRecord:
    """Everything Unity keeps about a source file: technical facts, nothing about the patient."""

    transfer_syntax_uid: str
    rows: int
    columns: int
    frame_count: int
    samples_per_pixel: int
    photometric: str
    bits_allocated: int
    bits_stored: int
    frame_rate: float
    frame_rate_source: str
    regions: tuple[Region, ...]
    pixel_spacing_x_mm: float | None
    pixel_spacing_y_mm: float | None
    modality: str
    manufacturer: str
    manufacturer_model: str
    study_key: str = ""  # keyed hash of the study's UID (study_pseudonym); "" without one


def _get(dataset: pydicom.Dataset, keyword: str, allowed: frozenset[str] = TECHNICAL_KEYWORDS) -> object:
    if keyword not in allowed:
        raise KeyError(f"{keyword} is not a whitelisted technical attribute")
    try:
        element = dataset[keyword]
    except (KeyError, ValueError):
        return None
    return element.value


def _int(value: object, default: int = 0) -> int:
    try:
        return int(value) if value not in (None, "") else default  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _technical_text(value: object, limit: int = 64) -> str:
    """Printable ASCII letters, digits and a little punctuation, at most ``limit`` characters."""
    if not isinstance(value, str):
        return ""
    return re.sub(r"[^A-Za-z0-9 .,\-_/()+]", "", value).strip()[:limit]


def frame_rate_of(dataset: pydicom.Dataset, *, default: float) -> tuple[float, str]:
    """Frames per second and the attribute it came from; ``default`` when none is usable."""
    frame_time = _float(_get(dataset, "FrameTime"))
    if frame_time and frame_time > 0 and _MIN_RATE <= 1000.0 / frame_time <= _MAX_RATE:
        return 1000.0 / frame_time, "FrameTime"
    vector = _get(dataset, "FrameTimeVector")
    if vector is not None:
        values = [
            _float(v) for v in (vector if isinstance(vector, list | tuple | pydicom.multival.MultiValue) else [vector])
        ]
        # The first entry is the time of the first frame, 0 by definition.
        intervals = [v for v in values[1:] if v is not None and v > 0]
        if intervals and _MIN_RATE <= 1000.0 / (sum(intervals) / len(intervals)) <= _MAX_RATE:
            return 1000.0 / (sum(intervals) / len(intervals)), "FrameTimeVector"
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = _float(_get(dataset, keyword))
        if rate and _MIN_RATE <= rate <= _MAX_RATE:
            return rate, keyword
    return default, "default"


def regions_of(dataset: pydicom.Dataset, *, rows: int, columns: int) -> tuple[Region, ...]:
    sequence = _get(dataset, "SequenceOfUltrasoundRegions") or []
    regions = []
    for item in sequence:

        def get(keyword: str, item: pydicom.Dataset = item) -> object:
            return _get(item, keyword, _REGION_KEYWORDS)

        x0, y0 = _int(get("RegionLocationMinX0"), -1), _int(get("RegionLocationMinY0"), -1)
        x1, y1 = _int(get("RegionLocationMaxX1"), -1), _int(get("RegionLocationMaxY1"), -1)
        if min(x0, y0, x1, y1) < 0 or x1 < x0 or y1 < y0:
            continue
        regions.append(
            Region(
                x0=x0,
                y0=y0,
                x1=x1,
                y1=y1,
                spatial_format=_int(get("RegionSpatialFormat")),
                data_type=_int(get("RegionDataType")),
                delta_x_mm=_mm(get("PhysicalUnitsXDirection"), get("PhysicalDeltaX")),
                delta_y_mm=_mm(get("PhysicalUnitsYDirection"), get("PhysicalDeltaY")),
            )
        )
    return tuple(regions)


def _mm(units: object, delta: object) -> float | None:
    value = _float(delta)
    if _int(units) != _CENTIMETRES or value is None or value <= 0:
        return None
    return value * 10.0


def spacing_of(dataset: pydicom.Dataset, regions: tuple[Region, ...]) -> tuple[float | None, float | None]:
    """Physical pixel size in mm: the tissue 2D region first, then any 2D region, then PixelSpacing."""
    candidates = sorted(
        (r for r in regions if r.spatial_format == _TWO_D and r.delta_x_mm and r.delta_y_mm),
        key=lambda r: r.data_type != _TISSUE,
    )
    if candidates:
        return candidates[0].delta_x_mm, candidates[0].delta_y_mm
    spacing = _get(dataset, "PixelSpacing")
    if spacing is not None and len(spacing) == 2:
        row, column = _float(spacing[0]), _float(spacing[1])
        if row and column and row > 0 and column > 0:
            return column, row
    return None, None


def study_pseudonym(dataset: pydicom.Dataset, *, secret: bytes) -> str:
    """HMAC-SHA256 of the study's UID under ``secret``: equal for the clips of one study, not
    reversible or linkable to the UID without the key. "" when the file names no study."""
    value = _get(dataset, "StudyInstanceUID", _STUDY_KEYWORDS)
    uid = str(value).strip() if value is not None else ""
    if not uid:
        return ""
    return hmac.new(secret, uid.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def build_technical_record(
    dataset: pydicom.Dataset, *, default_frame_rate: float, study_secret: bytes | None = None
) -> TechnicalRecord:
    """A new record from the whitelisted technical attributes of ``dataset`` (header only); with
    ``study_secret``, the study's pseudonym too."""
    rows, columns = _int(_get(dataset, "Rows")), _int(_get(dataset, "Columns"))
    rate, source = frame_rate_of(dataset, default=default_frame_rate)
    regions = regions_of(dataset, rows=rows, columns=columns)
    spacing_x, spacing_y = spacing_of(dataset, regions)
    meta = getattr(dataset, "file_meta", None)
    tsyntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    photometric = _get(dataset, "PhotometricInterpretation")
    return TechnicalRecord(
        transfer_syntax_uid=tsyntax or "1.2.840.10008.1.2",
        rows=rows,
        columns=columns,
        frame_count=_int(_get(dataset, "NumberOfFrames"), 1),
        samples_per_pixel=_int(_get(dataset, "SamplesPerPixel"), 1),
        photometric=_technical_text(photometric if isinstance(photometric, str) else "", 32).upper(),
        bits_allocated=_int(_get(dataset, "BitsAllocated"), 8),
        bits_stored=_int(_get(dataset, "BitsStored"), _int(_get(dataset, "BitsAllocated"), 8)),
        frame_rate=rate,
        frame_rate_source=source,
        regions=regions,
        pixel_spacing_x_mm=spacing_x,
        pixel_spacing_y_mm=spacing_y,
        modality=_technical_text(_get(dataset, "Modality"), 16),
        manufacturer=_technical_text(_get(dataset, "Manufacturer")),
        manufacturer_model=_technical_text(_get(dataset, "ManufacturerModelName")),
        study_key=study_pseudonym(dataset, secret=study_secret) if study_secret else "",
    )


# --- Pixel masks --------------------------------------------------------------------------------


def region_mask(regions: tuple[Region, ...], *, rows: int, columns: int) -> np.ndarray | None:
    """1 inside any ultrasound region (clipped to the image), 0 elsewhere; None without regions."""
    if not regions:
        return None
    mask = np.zeros((rows, columns), dtype=np.uint8)
    for r in regions:
        mask[r.y0 : r.y1 + 1, r.x0 : r.x1 + 1] = 1
    return mask if mask.any() else None


def regions_fit(regions: tuple[Region, ...], *, rows: int, columns: int, slack: int = 2) -> bool:
    """Whether every region lies within the image. Regions reaching well outside it (seen in files
    resized after acquisition) may not describe this image's pixels."""
    return all(r.x1 < columns + slack and r.y1 < rows + slack for r in regions)


# Region Spatial Format (0018,6012): 1 2D, 2 M-mode, 3 spectral, 4 waveform. Others (0 none,
# 5 graphics, 6-7 colour bars and the like) do not delimit image pixels.
IMAGE_SPATIAL_FORMATS = frozenset({1, 2, 3, 4})
# Vendors put the banner (patient name, date) in the top rows; a region reaching into the top 2%
# of the frame would keep it.
MIN_TRUSTED_REGION_TOP = 0.02


def regions_trusted(regions: tuple[Region, ...], *, rows: int, columns: int) -> bool:
    """Whether the regions can be used as the keep mask on their own.

    A file's regions are only its scanner's word. They are trusted when every one describes image
    data (spatial format 1-4), lies within the image and stays clear of the top rows where the
    banner with the patient's name and date sits (a region drawn around the whole frame would
    keep it). Otherwise they are intersected with the detected sector."""
    if not regions or not regions_fit(regions, rows=rows, columns=columns):
        return False
    return all(r.spatial_format in IMAGE_SPATIAL_FORMATS and r.y0 >= MIN_TRUSTED_REGION_TOP * rows for r in regions)


def detect_sector(samples: list[np.ndarray]) -> np.ndarray | None:
    """The imaging sector, from a few RGB frames: where pixels change over time (or, for a single
    frame, where they are not dark), largest connected area, filled to its convex hull. Burned-in
    text is static and apart from the sector, so it falls outside. None if nothing plausible."""
    greys = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in samples]
    rows, columns = greys[0].shape
    stack = np.stack(greys)
    if len(greys) >= 2:
        active = (stack.max(axis=0).astype(np.int16) - stack.min(axis=0)) > 6
        if active.mean() < 0.02:  # a still loop: fall back to brightness
            active = stack.max(axis=0) > 12
    else:
        active = _still_image_area(stack[0])
    active = active.astype(np.uint8)
    # Close the speckle's gaps, then open with a kernel larger than a line of text is tall, so
    # burned-in characters (thin strokes, small blocks) vanish while the sector survives.
    side = max(9, min(rows, columns) // 32) | 1
    active = cv2.morphologyEx(active, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    active = cv2.morphologyEx(active, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(active, connectivity=8)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[largest, cv2.CC_STAT_AREA] < 0.02 * rows * columns:
        return None
    points = cv2.findNonZero((labels == largest).astype(np.uint8))
    hull = cv2.convexHull(points)
    mask = np.zeros((rows, columns), dtype=np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask


def _still_image_area(grey: np.ndarray) -> np.ndarray:
    """Candidate image pixels of a single frame: textured (speckle, not flat banners or colour
    bars) and with no near-black pixel within 2 px. Burned-in text is thin bright strokes on
    black, so every text pixel has black close by and drops out here; it can then neither join
    the sector's component nor stretch its convex hull over a text block that touches it."""
    no_black_near = cv2.erode(grey, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))) > 12
    return no_black_near & (_local_std(grey) > 4)


def _local_std(grey: np.ndarray, size: int = 5) -> np.ndarray:
    values = grey.astype(np.float32)
    mean = cv2.blur(values, (size, size))
    return np.sqrt(np.maximum(cv2.blur(values * values, (size, size)) - mean * mean, 0))


def apply_rectangles(mask: np.ndarray, rectangles: list[list[int]]) -> np.ndarray:
    """Blank a project's extra rectangles ``[[x, y, width, height], ...]`` in ``mask``."""
    for x, y, width, height in rectangles:
        mask[y : y + height, x : x + width] = 0
    return mask
