"""A project's uploaded training video: kept as it is when it is already H.264 in MP4 (audio
and all), else transcoded to H.264 MP4 (video only, at most 1280 px wide, faststart) with PyAV,
then stored content-addressed in the media storage under ``training/``. Served to the project's
members only (``views.training_video``)."""

from __future__ import annotations

import hashlib
import tempfile
from fractions import Fraction
from pathlib import Path

import av
from django.core.files import File
from django.core.files.storage import default_storage

from media_ingest.processing import private_root
from projects.models import Project

MAX_SECONDS = 30 * 60
MAX_SIDE = 1280


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def transcode(source: Path, target: Path) -> bool:
    """Write ``source`` as H.264 MP4 to ``target``; returns False when ``source`` already is one
    (nothing written: keep it). Raises ValueError with a reason for anything unplayable."""
    try:
        container = av.open(str(source))
    except av.FFmpegError:
        raise ValueError("not a video file that can be read") from None
    with container:
        if not container.streams.video:
            raise ValueError("the file holds no video")
        stream = container.streams.video[0]
        seconds = (container.duration or 0) / 1_000_000
        if seconds > MAX_SECONDS:
            raise ValueError(f"the video lasts {seconds / 60:.0f} minutes; at most {MAX_SECONDS // 60}")
        if stream.codec_context.name == "h264" and "mp4" in container.format.name:
            return False
        scale = min(1.0, MAX_SIDE / max(stream.width or 1, 1))
        width, height = _even((stream.width or 2) * scale), _even((stream.height or 2) * scale)
        rate = stream.average_rate or Fraction(25)
        with av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            video = out.add_stream("libx264", rate=rate)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.options = {"crf": "23", "preset": "veryfast"}
            try:
                for index, frame in enumerate(container.decode(stream)):
                    picture = frame.reformat(width=width, height=height, format="yuv420p")
                    picture.pts = index
                    for packet in video.encode(picture):
                        out.mux(packet)
            except av.FFmpegError:
                raise ValueError("the video could not be decoded (damaged or unsupported)") from None
            for packet in video.encode():
                out.mux(packet)
    return True


def store_training_video(project: Project, upload: object) -> str:
    """Keep or transcode the uploaded file; returns its storage name."""
    folder = private_root() / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="training-", dir=folder) as temporary:
        source, target = Path(temporary) / "source", Path(temporary) / "video.mp4"
        with source.open("wb") as out:
            for chunk in upload.chunks():  # type: ignore[attr-defined]
                out.write(chunk)
        kept = source if not transcode(source, target) else target
        with kept.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()  # streamed, not read whole
            name = f"training/{digest[:2]}/{digest}.mp4"
            if not default_storage.exists(name):
                handle.seek(0)
                default_storage.save(name, File(handle))
    return name
