"""Derived media for one clip, written while its frames stream past, into a private work folder.

``DerivedMediaWriter.add`` takes each de-identified RGB frame once: it updates the SHA-256 (the
clip's code), encodes the frame into the H.264 video, appends its JPEG to the current chunk file
(what the browser shows) and its PNG to the lossless master's (what dataset releases copy), and
stores a 112x112 grey copy. Nothing but the small grey array is kept across frames.

The lossless master holds each frame exactly: as an 8-bit grey PNG when its three channels are
equal (most echo frames), else as an RGB PNG; both decode to the same RGB pixels the code hashes.

PyAV cannot write an MP4 with ``+faststart`` to a BytesIO (NOTES.md): the video goes to a real file.
No Django here.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import cv2
import numpy as np

from media_ingest.conf import ARRAY_SIDE, CHUNK_SIZE
from media_ingest.layout import ARRAY, LOSSLESS_MANIFEST, MANIFEST, POSTER, VIDEO, chunk_name

# zlib level 1; grey frames with the RLE strategy (runs of black around the sector): measured on a
# 640x480 synthetic echo frame, 4 ms and 81 KB per frame, against 6 ms / 92 KB with the default.
PNG_GREY = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
PNG_RGB = [cv2.IMWRITE_PNG_COMPRESSION, 1]
LOSSLESS_IN_FLIGHT = 4


@dataclass(frozen=True)
class EncoderSettings:
    jpeg_quality: int = 90
    crf: int = 20
    preset: str = "veryfast"


@dataclass(frozen=True)
class DerivedMedia:
    """The finished work folder: ``code`` and the relative names of every file in it."""

    code: str
    folder: Path
    names: tuple[str, ...]
    frame_count: int


def video_rate(frame_rate: float) -> Fraction:
    return Fraction(frame_rate).limit_denominator(1001)


def open_h264_writer(path: Path, *, width: int, height: int, frame_rate: float, settings: EncoderSettings):
    """An MP4 container and H.264 stream (libx264, High profile, yuv420p, moov atom first)."""
    container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
    stream = container.add_stream("libx264", rate=video_rate(frame_rate))
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": str(settings.crf), "preset": settings.preset, "profile": "high"}
    return container, stream


class ChunkStream:
    """Encoded frames appended to chunk files of CHUNK_SIZE frames in ``folder``; ``chunks`` is the
    manifest's list ({name, first_frame, frames: [[byte_offset, byte_length], ...]})."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.chunks: list[dict[str, object]] = []
        self._file: BinaryIO | None = None
        self._offset = 0
        self._count = 0

    def append(self, data: bytes) -> None:
        if self._count % CHUNK_SIZE == 0:
            self.close()
            name = chunk_name(len(self.chunks))
            self._file = (self.folder / name).open("wb")
            self.chunks.append({"name": name, "first_frame": self._count, "frames": []})
            self._offset = 0
        assert self._file is not None
        self._file.write(data)
        self.chunks[-1]["frames"].append([self._offset, len(data)])  # type: ignore[union-attr]
        self._offset += len(data)
        self._count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def encode_lossless(rgb: np.ndarray) -> bytes:
    """One de-identified frame as PNG: grey when R == G == B everywhere, else RGB."""
    red = rgb[..., 0]
    if np.array_equal(red, rgb[..., 1]) and np.array_equal(red, rgb[..., 2]):
        ok, data = cv2.imencode(".png", np.ascontiguousarray(red), PNG_GREY)
    else:
        ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), PNG_RGB)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


class DerivedMediaWriter:
    """Write video, frame chunks, poster and grey array for one clip into ``folder``.

    The still images (the browser's JPEG and the master's PNG) are encoded on a second thread while
    this one encodes the video (OpenCV's encoders release the GIL): at most LOSSLESS_IN_FLIGHT
    frames wait, taken in frame order.
    """

    def __init__(
        self,
        folder: Path,
        *,
        rows: int,
        columns: int,
        frame_count: int,
        frame_rate: float,
        settings: EncoderSettings,
    ) -> None:
        self.folder = folder
        self.rows, self.columns = rows, columns
        self.frame_count = frame_count
        self.frame_rate = frame_rate
        self.settings = settings
        self._jpegs = ChunkStream(folder / "frames")
        self._pngs = ChunkStream(folder / Path(LOSSLESS_MANIFEST).parent)
        self._sha = hashlib.sha256()
        # yuv420p needs even dimensions: the video is padded by one black row/column if needed.
        self._pad = (rows % 2, columns % 2)
        self._container, self._stream = open_h264_writer(
            folder / VIDEO,
            width=columns + self._pad[1],
            height=rows + self._pad[0],
            frame_rate=frame_rate,
            settings=settings,
        )
        self._array = np.zeros((frame_count, ARRAY_SIDE, ARRAY_SIDE), dtype=np.uint8)
        self._index = 0
        self._poster_index = frame_count // 2
        # Per-frame work reuses these buffers rather than allocating (it matters for small frames).
        self._grey = np.empty((rows, columns), dtype=np.uint8)
        self._jpeg_params = [cv2.IMWRITE_JPEG_QUALITY, settings.jpeg_quality]
        self._stills_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stills")
        self._pending: deque[Future[tuple[bytes, bytes]]] = deque()
        self._taken = 0

    def add(self, rgb: np.ndarray) -> None:
        """Take one de-identified RGB frame (C-contiguous uint8, rows x columns x 3). Nothing keeps
        a reference to ``rgb``: the caller may reuse its buffer for the next frame."""
        if self._index >= self.frame_count:
            raise ValueError("more frames than declared")
        self._sha.update(rgb.data)
        # Still images (JPEG for the browser, PNG for the master) on the second thread while this
        # one encodes the video; results are taken in frame order.
        self._pending.append(self._stills_pool.submit(self._stills, rgb.copy()))  # the caller reuses rgb
        self._encode_video(rgb)
        while len(self._pending) > LOSSLESS_IN_FLIGHT:
            self._take_stills()
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY, dst=self._grey)
        if grey.shape != (ARRAY_SIDE, ARRAY_SIDE):
            # Halving first is much cheaper than one area resize at a non-integer ratio.
            while min(grey.shape) >= 4 * ARRAY_SIDE:
                grey = cv2.pyrDown(grey)
            grey = cv2.resize(grey, (ARRAY_SIDE, ARRAY_SIDE), interpolation=cv2.INTER_AREA)
        self._array[self._index] = grey
        self._index += 1

    def _stills(self, rgb: np.ndarray) -> tuple[bytes, bytes]:
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), self._jpeg_params)
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return jpeg.tobytes(), encode_lossless(rgb)

    def _take_stills(self) -> None:
        jpeg, png = self._pending.popleft().result()
        if self._taken == self._poster_index:
            (self.folder / POSTER).write_bytes(jpeg)
        self._jpegs.append(jpeg)
        self._pngs.append(png)
        self._taken += 1

    def _encode_video(self, rgb: np.ndarray) -> None:
        if any(self._pad):
            rgb = cv2.copyMakeBorder(rgb, 0, self._pad[0], 0, self._pad[1], cv2.BORDER_CONSTANT, value=0)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self._index
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def finish(self) -> DerivedMedia:
        if self._index != self.frame_count:
            raise ValueError(f"expected {self.frame_count} frames, got {self._index}")
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        while self._pending:
            self._take_stills()
        self._stills_pool.shutdown()
        self._jpegs.close()
        self._pngs.close()
        code = self._sha.hexdigest()
        with (self.folder / ARRAY).open("wb") as handle:
            np.save(handle, self._array, allow_pickle=False)
        manifest = {
            "code": code,
            "frame_count": self.frame_count,
            "frame_rate": self.frame_rate,
            "width": self.columns,
            "height": self.rows,
            "chunk_size": CHUNK_SIZE,
            "chunks": self._jpegs.chunks,
        }
        (self.folder / MANIFEST).write_text(json.dumps(manifest, separators=(",", ":")))
        lossless = {**manifest, "format": "png", "chunks": self._pngs.chunks}
        del lossless["frame_rate"]
        (self.folder / LOSSLESS_MANIFEST).write_text(json.dumps(lossless, separators=(",", ":")))
        lossless_dir = Path(LOSSLESS_MANIFEST).parent.as_posix()
        names = (
            VIDEO,
            POSTER,
            ARRAY,
            MANIFEST,
            *(f"frames/{c['name']}" for c in self._jpegs.chunks),
            LOSSLESS_MANIFEST,
            *(f"{lossless_dir}/{c['name']}" for c in self._pngs.chunks),
        )
        return DerivedMedia(code=code, folder=self.folder, names=names, frame_count=self.frame_count)

    def abort(self) -> None:
        try:
            self._container.close()
        except Exception:  # noqa: BLE001, S110 - already failing; the folder is removed by the caller
            pass
        for future in self._pending:
            future.cancel()
        self._stills_pool.shutdown(wait=True)
        self._jpegs.close()
        self._pngs.close()
