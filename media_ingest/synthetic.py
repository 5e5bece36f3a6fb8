"""Synthetic echocardiography DICOM cine loops with known latent truth, for the demo and tests.

Each loop is a sector with speckle and a beating apical four-chamber (``"a4c"``) or parasternal
long-axis (``"plax"``) shape, a vendor-style banner burned in above the sector with a FAKE patient
name and date, fake PHI in the header attributes, and a Sequence of Ultrasound Regions covering
everything below the banner. The latent truth (view, foreshortening, rotation, border visibility,
end-diastolic and end-systolic frames) is returned and written beside the file as JSON.

With ``frame_marker=True`` each frame carries its own index inside the ultrasound region, so it
survives masking: ``FRAME_MARKER_BITS`` squares of ``FRAME_MARKER_SQUARE`` px, white = 1 and
black = 0, most significant bit first, on a mid-grey strip whose box is ``FRAME_MARKER_BOX``.
Square ``i`` covers ``(x + PAD + i * STEP, y + PAD, SQUARE, SQUARE)``; bit ``i`` is 1 when the
mean luminance of that square is above 128. ``read_frame_marker`` decodes it.

With ``landmarks=[(x, y), ...]`` every frame carries a small magenta square
(``LANDMARK_SIDE`` px, colour ``LANDMARK_RGB``) centred on each image pixel ``(x, y)``: the square
covers pixels ``x - r .. x + r`` (``r = LANDMARK_SIDE // 2``), so its centre, in the continuous
image coordinates the labelling app stores (pixel ``i`` spans ``[i, i + 1)``), is
``(x + 0.5, y + 0.5)``. Tests find these squares in a screenshot of the page and check that
clicking on them stores that coordinate: the expected value comes from the pixels, not from the
app's own layout code. Magenta appears nowhere else on the labelling screen.

No Django here.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

from media_ingest import synthetic_views

FRAME_MARKER_BITS = 10
FRAME_MARKER_SQUARE = 12
FRAME_MARKER_PAD = 4
FRAME_MARKER_STEP = FRAME_MARKER_SQUARE + 4
FRAME_MARKER_BOX = (
    8,
    40,
    2 * FRAME_MARKER_PAD + (FRAME_MARKER_BITS - 1) * FRAME_MARKER_STEP + FRAME_MARKER_SQUARE,
    2 * FRAME_MARKER_PAD + FRAME_MARKER_SQUARE,
)
TRANSFER_SYNTAXES = {
    "explicit_little": ExplicitVRLittleEndian,
    "jpeg_baseline": JPEGBaseline8Bit,
    "rle": RLELossless,
}
VIEWS = ("a4c", "plax")
BANNER_HEIGHT = 32
LANDMARK_SIDE = 5
LANDMARK_RGB = (255, 0, 255)

# Attributes of DICOM PS3.15 Annex E (Basic Application Level Confidentiality Profile), with
# obviously fake values. Tests pass their own distinctive strings.
DEFAULT_PHI: dict[str, str] = {
    "PatientName": "FAKE^PATIENT",
    "PatientID": "FAKE-ID-0000",
    "PatientBirthDate": "19700101",
    "PatientSex": "O",
    "InstitutionName": "Fake General Hospital",
    "ReferringPhysicianName": "FAKE^REFERRER",
    "AccessionNumber": "FAKEACC0000",
    "StudyDate": "20200101",
    "StudyTime": "120000",
    "OperatorsName": "FAKE^OPERATOR",
    "StationName": "FAKESTATION",
    "DeviceSerialNumber": "FAKESERIAL",
    "StudyID": "FAKESTUDY",
}


def frame_marker_squares() -> list[tuple[int, int, int, int]]:
    x, y, _, _ = FRAME_MARKER_BOX
    return [
        (x + FRAME_MARKER_PAD + i * FRAME_MARKER_STEP, y + FRAME_MARKER_PAD, FRAME_MARKER_SQUARE, FRAME_MARKER_SQUARE)
        for i in range(FRAME_MARKER_BITS)
    ]


def draw_frame_marker(rgb: np.ndarray, index: int) -> None:
    if not 0 <= index < 2**FRAME_MARKER_BITS:
        raise ValueError(f"a frame marker holds 0..{2**FRAME_MARKER_BITS - 1}")
    x, y, w, h = FRAME_MARKER_BOX
    rgb[y : y + h, x : x + w] = 128
    for i, (sx, sy, sw, sh) in enumerate(frame_marker_squares()):
        bit = (index >> (FRAME_MARKER_BITS - 1 - i)) & 1
        rgb[sy : sy + sh, sx : sx + sw] = 255 if bit else 0


def read_frame_marker(rgb: np.ndarray) -> int:
    """The frame index burned in by ``frame_marker=True``, from an RGB frame of the original size."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    value = 0
    for sx, sy, sw, sh in frame_marker_squares():
        value = (value << 1) | int(grey[sy : sy + sh, sx : sx + sw].mean() > 128)
    return value


def draw_landmarks(rgb: np.ndarray, landmarks: list[tuple[int, int]]) -> None:
    r = LANDMARK_SIDE // 2
    rows, columns = rgb.shape[:2]
    for x, y in landmarks:
        if not (r <= x < columns - r and r <= y < rows - r):
            raise ValueError(f"landmark {(x, y)} must lie {r} px inside the {columns}x{rows} frame")
        rgb[y - r : y + r + 1, x - r : x + r + 1] = LANDMARK_RGB


def _contraction(phase: float) -> float:
    """0 at end-diastole (phase 0), 1 at end-systole (phase 0.2), 0 again from phase 0.4."""
    return 0.5 * (1 - math.cos(2 * math.pi * phase / 0.4)) if phase < 0.4 else 0.0


def _cycle_events(frames: int, period: float, offset: float) -> tuple[list[int], list[int]]:
    ed, es = [], []
    for k in range(-1, int(frames / period) + 2):
        for target, events in ((0.0, ed), (0.2, es)):
            index = round((k + target) * period - offset)
            if 0 <= index < frames and index not in events:
                events.append(index)
    return sorted(ed), sorted(es)


def _banner(rgb: np.ndarray, *, height: int, phi: dict[str, str]) -> None:
    columns = rgb.shape[1]
    rgb[:height] = (24, 32, 64)
    scale = max(0.3, min(0.5, columns / 1280))
    name = str(phi.get("PatientName", "")).replace("^", " ")
    date = str(phi.get("StudyDate", ""))
    text = f"UNITY ECHOSIM  {name}  {date}  {phi.get('PatientID', '')}"
    cv2.putText(rgb, text, (4, height // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 200), 1, cv2.LINE_AA)


class _Scene:
    """Geometry shared by every frame of one loop."""

    def __init__(self, *, rows: int, columns: int, banner: int, rng: np.random.Generator) -> None:
        self.rows, self.columns, self.banner = rows, columns, banner
        self.apex = (columns / 2, banner + 4)
        self.radius = rows - banner - 8
        yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
        dx, dy = xx - self.apex[0], yy - self.apex[1]
        r = np.hypot(dx, dy)
        theta = np.degrees(np.arctan2(dx, dy))
        self.sector = ((r <= self.radius) & (np.abs(theta) <= 38) & (dy >= 0)).astype(np.float32)
        self.depth_gain = np.clip(1.1 - 0.6 * r / max(self.radius, 1), 0.3, 1.1).astype(np.float32)
        shape = (rows, columns)
        self.speckle = [cv2.GaussianBlur(rng.rayleigh(0.55, shape).astype(np.float32), (3, 3), 0.7) for _ in range(2)]


def _heart(
    scene: _Scene, *, view: str, contraction: float, foreshortening: float, rotation: float, border: float
) -> np.ndarray:
    tissue = np.full((scene.rows, scene.columns), 0.32, dtype=np.float32)
    ax, ay = scene.apex
    radius = scene.radius
    wall = 0.35 + 0.6 * border
    thick = max(2, round(radius * 0.035))

    def ellipse(depth: float, lateral: float, axes: tuple[float, float], angle: float, fill: float) -> None:
        angle_rad = math.radians(rotation)
        cx = ax + lateral * radius * math.cos(angle_rad) - depth * radius * math.sin(angle_rad)
        cy = ay + depth * radius * math.cos(angle_rad) + lateral * radius * math.sin(angle_rad)
        size = (max(1, round(axes[0] * radius)), max(1, round(axes[1] * radius)))
        cv2.ellipse(tissue, (round(cx), round(cy)), size, angle + rotation, 0, 360, wall, thick + 2)
        cv2.ellipse(tissue, (round(cx), round(cy)), size, angle + rotation, 0, 360, fill, -1)

    squeeze = 1 - 0.22 * contraction
    if view == "a4c":
        length = 0.30 * (1 - 0.45 * foreshortening) * (1 - 0.08 * contraction)
        ellipse(0.08 + length, 0.11, (0.10 * squeeze, length), 0, 0.04)  # LV, apex at the top
        ellipse(0.16 + 0.2, -0.12, (0.075 * squeeze, 0.2), 0, 0.05)  # RV
        ellipse(0.74, 0.11, (0.1, 0.11 * (0.8 + 0.2 * contraction)), 0, 0.05)  # LA
        ellipse(0.74, -0.12, (0.085, 0.1 * (0.8 + 0.2 * contraction)), 0, 0.05)  # RA
    else:
        ellipse(0.45, -0.06, (0.32, 0.11 * squeeze), -12, 0.04)  # LV in long axis
        ellipse(0.33, 0.24, (0.07, 0.06), 0, 0.05)  # aortic root
        ellipse(0.62, 0.26, (0.11, 0.09 * (0.8 + 0.2 * contraction)), 0, 0.05)  # LA
        ellipse(0.18, -0.02, (0.3, 0.05), -8, 0.06)  # RV outflow
    return tissue


def write_synthetic_echo(
    path: Path,
    *,
    view: str = "a4c",
    frames: int = 30,
    rows: int = 480,
    columns: int = 640,
    seed: int = 0,
    frame_marker: bool = False,
    transfer_syntax: str = "explicit_little",
    phi: dict[str, str] | None = None,
    with_regions: bool = True,
    frame_rate: float = 30.0,
    heart_rate_bpm: float | None = None,
    foreshortening: float | None = None,
    rotation_deg: float | None = None,
    border_visibility: float | None = None,
    landmarks: list[tuple[int, int]] | None = None,
) -> dict[str, object]:
    """Write one synthetic cine loop to ``path``; return its truth (also in ``path.with_suffix(".json")``)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}")
    if transfer_syntax not in TRANSFER_SYNTAXES:
        raise ValueError(f"transfer_syntax must be one of {sorted(TRANSFER_SYNTAXES)}")
    x, y, w, h = FRAME_MARKER_BOX
    if frame_marker and (columns < x + w or rows < y + h + 8):
        raise ValueError("the frame marker needs at least 180 x 72 pixels")
    rng = np.random.default_rng(seed)
    phi = {**DEFAULT_PHI, **(phi or {})}
    truth_values = {
        "foreshortening": float(rng.uniform(0, 1)) if foreshortening is None else foreshortening,
        "rotation_deg": float(rng.uniform(-20, 20)) if rotation_deg is None else rotation_deg,
        "border_visibility": float(rng.uniform(0.2, 1)) if border_visibility is None else border_visibility,
    }
    bpm = float(rng.uniform(55, 95)) if heart_rate_bpm is None else heart_rate_bpm
    period = frame_rate * 60.0 / bpm
    offset = float(rng.uniform(0, period))
    banner = BANNER_HEIGHT if rows >= 200 else max(8, rows // 8)
    scene = _Scene(rows=rows, columns=columns, banner=banner, rng=rng)

    pixels = np.empty((frames, rows, columns, 3), dtype=np.uint8)
    for index in range(frames):
        phase = ((index + offset) / period) % 1.0
        tissue = _heart(
            scene,
            view=view,
            contraction=_contraction(phase),
            foreshortening=truth_values["foreshortening"],
            rotation=truth_values["rotation_deg"],
            border=truth_values["border_visibility"],
        )
        mix = 0.5 + 0.5 * math.sin(2 * math.pi * index / max(period, 1))
        speckle = scene.speckle[0] * mix + scene.speckle[1] * (1 - mix)
        grey = np.clip(tissue * speckle * scene.depth_gain * scene.sector * 255, 0, 255).astype(np.uint8)
        frame = pixels[index]
        frame[...] = grey[:, :, None]
        _banner(frame, height=banner, phi=phi)
        if frame_marker:
            draw_frame_marker(frame, index)
        if landmarks:
            draw_landmarks(frame, landmarks)

    _save(
        path,
        pixels,
        phi=phi,
        frame_rate=frame_rate,
        banner=banner,
        seed=seed,
        with_regions=with_regions,
        transfer_syntax=transfer_syntax,
        spacing_mm=_spacing_mm(rows, banner),
    )

    ed, es = _cycle_events(frames, period, offset)
    truth: dict[str, object] = {
        "view": view,
        **truth_values,
        "ed_frames": ed,
        "es_frames": es,
        "heart_rate_bpm": bpm,
        "frame_rate": frame_rate,
        "frames": frames,
        "rows": rows,
        "columns": columns,
        "seed": seed,
        "transfer_syntax": transfer_syntax,
        "banner_height": banner,
        "region": [0, banner, columns - 1, rows - 1] if with_regions else None,
        "pixel_spacing_mm": _spacing_mm(rows, banner),
        "frame_marker_box": list(FRAME_MARKER_BOX) if frame_marker else None,
        "landmarks": [[x + 0.5, y + 0.5] for x, y in landmarks or []],
    }
    path.with_suffix(".json").write_text(json.dumps(truth, indent=2))
    return truth


def write_synthetic_view_echo(
    path: Path,
    *,
    view: str,
    frames: int = 30,
    rows: int = 480,
    columns: int = 640,
    seed: int = 0,
    transfer_syntax: str = "explicit_little",
    phi: dict[str, str] | None = None,
    frame_rate: float = 30.0,
    quality: float | None = None,
    array_side: int = 112,
) -> dict[str, object]:
    """Write one cine loop of ``view`` (one of ``synthetic_views.VIEWS``) from the synthetic view
    generator, with the same banner, fake PHI, regions and encodings as ``write_synthetic_echo``;
    return its truth (also in ``path.with_suffix(".json")``).

    The truth holds the view, the quality and each landmark of ``synthetic_views.LANDMARKS``
    (``None`` where the view has none) twice: ``landmarks`` in this file's pixels and
    ``landmarks_array`` in ingest's ``array_side`` x ``array_side`` grey array, which is the whole
    frame resized (continuous coordinates scale exactly). The anatomy is fixed over the loop (the
    valves move), so one set holds for every frame. The header carries no view: ingest reads only
    technical attributes, so the view travels in the sidecar, keyed by file name.
    """
    if view not in synthetic_views.VIEWS:
        raise ValueError(f"view must be one of {synthetic_views.VIEWS}")
    if transfer_syntax not in TRANSFER_SYNTAXES:
        raise ValueError(f"transfer_syntax must be one of {sorted(TRANSFER_SYNTAXES)}")
    rng = np.random.default_rng(seed)
    phi = {**DEFAULT_PHI, **(phi or {})}
    banner = BANNER_HEIGHT if rows >= 200 else max(8, rows // 8)
    clip = synthetic_views.render_clip(
        view, rng, frames=frames, rows=rows, columns=columns, banner=banner, quality=quality
    )
    pixels = np.repeat(clip.frames[..., None], 3, axis=3)
    for frame in pixels:
        _banner(frame, height=banner, phi=phi)
    _save(
        path,
        pixels,
        phi=phi,
        frame_rate=frame_rate,
        banner=banner,
        seed=seed,
        with_regions=True,
        transfer_syntax=transfer_syntax,
        spacing_mm=clip.mm_per_pixel,
    )
    scale = np.array([array_side / columns, array_side / rows])
    truth: dict[str, object] = {
        "generator": "synthetic_views",
        "view": view,
        "quality": clip.quality,
        "landmarks": _named_points(clip.landmarks),
        "landmarks_array": _named_points(clip.landmarks * scale),
        "array_side": array_side,
        "frame_rate": frame_rate,
        "frames": frames,
        "rows": rows,
        "columns": columns,
        "seed": seed,
        "transfer_syntax": transfer_syntax,
        "banner_height": banner,
        "region": [0, banner, columns - 1, rows - 1],
        "pixel_spacing_mm": clip.mm_per_pixel,
    }
    path.with_suffix(".json").write_text(json.dumps(truth, indent=2))
    return truth


def _named_points(points: np.ndarray) -> dict[str, list[float] | None]:
    return {
        name: None if np.isnan(point).any() else [round(float(point[0]), 3), round(float(point[1]), 3)]
        for name, point in zip(synthetic_views.LANDMARKS, points, strict=True)
    }


def _spacing_mm(rows: int, banner: int) -> float:
    """The sector shows 16 cm of depth."""
    return 160.0 / (rows - banner - 8)


def _save(
    path: Path,
    pixels: np.ndarray,
    *,
    phi: dict[str, str],
    frame_rate: float,
    banner: int,
    seed: int,
    with_regions: bool,
    transfer_syntax: str,
    spacing_mm: float,
) -> None:
    dataset = _dataset(
        pixels,
        phi=phi,
        frame_rate=frame_rate,
        banner=banner,
        seed=seed,
        with_regions=with_regions,
        spacing_mm=spacing_mm,
    )
    _encode(dataset, pixels, transfer_syntax)
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(path, enforce_file_format=True)


def _dataset(
    pixels: np.ndarray,
    *,
    phi: dict[str, str],
    frame_rate: float,
    banner: int,
    seed: int,
    with_regions: bool,
    spacing_mm: float,
) -> pydicom.Dataset:
    frames, rows, columns, _ = pixels.shape
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[f"sop-{seed}-{phi['PatientID']}"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = phi.get("StudyInstanceUID") or generate_uid(entropy_srcs=[f"study-{seed}"])
    ds.SeriesInstanceUID = phi.get("SeriesInstanceUID") or generate_uid(entropy_srcs=[f"series-{seed}"])
    for keyword, value in phi.items():
        if keyword not in {"StudyInstanceUID", "SeriesInstanceUID"}:
            setattr(ds, keyword, value)
    ds.Modality = "US"
    ds.Manufacturer = "Unity Synthetic"
    ds.ManufacturerModelName = "EchoSim 1"
    ds.Rows, ds.Columns = rows, columns
    ds.NumberOfFrames = frames
    ds.FrameTime = f"{1000.0 / frame_rate:.4f}"
    ds.CineRate = round(frame_rate)
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if with_regions:
        region = pydicom.Dataset()
        region.RegionSpatialFormat = 1
        region.RegionDataType = 1
        region.RegionFlags = 0
        region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, banner
        region.RegionLocationMaxX1, region.RegionLocationMaxY1 = columns - 1, rows - 1
        region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3
        region.PhysicalDeltaX = region.PhysicalDeltaY = spacing_mm / 10.0
        ds.SequenceOfUltrasoundRegions = [region]
    return ds


def _encode(ds: pydicom.Dataset, pixels: np.ndarray, transfer_syntax: str) -> None:
    uid = UID(TRANSFER_SYNTAXES[transfer_syntax])
    if transfer_syntax == "jpeg_baseline":
        # pydicom cannot encode JPEG baseline: Pillow writes each frame (YCbCr, 4:2:2).
        frames = []
        for frame in pixels:
            buffer = io.BytesIO()
            Image.fromarray(frame).save(buffer, format="JPEG", quality=92, subsampling=1)
            frames.append(buffer.getvalue())
        ds.PixelData = encapsulate(frames)
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        ds.file_meta.TransferSyntaxUID = uid
        ds["PixelData"].VR = "OB"
        return
    ds.PixelData = pixels.tobytes()
    if transfer_syntax == "rle":
        ds.compress(uid, encoding_plugin="pylibjpeg")
