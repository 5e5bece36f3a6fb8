"""Helpers for the ingest tests: isolated storage roots, running jobs, reading stored media."""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.test import TestCase

from media_ingest.models import Clip, IngestJob
from media_ingest.services import do_create_ingest_jobs
from projects.models import Project
from unity.celery import app as celery_app


@dataclass(frozen=True)
class Roots:
    media: Path
    private: Path


def isolate_roots(settings, tmp_path: Path, monkeypatch) -> Roots:
    """Point MEDIA_ROOT and the private root at a fresh folder for one test, and run queued tasks
    in-process (as the embedded default does) even when REDIS_URL is set: these tests are about
    ingest, not transport (``test_ingest_celery_worker`` covers a real worker)."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    roots = Roots(media=tmp_path / "media", private=tmp_path / "private")
    settings.MEDIA_ROOT = roots.media
    settings.UNITY_PRIVATE_ROOT = roots.private
    return roots


@pytest.fixture(name="roots")
def roots_fixture(settings, tmp_path: Path, monkeypatch) -> Roots:
    """Fresh media and private folders, tasks in-process: ingest tests ask for it by name or with
    ``pytest.mark.usefixtures("roots")``."""
    return isolate_roots(settings, tmp_path, monkeypatch)


def ingest(project: Project, paths: list[Path], **kwargs: object) -> list[IngestJob]:
    """Create the jobs and run them as the commit would (eager Celery), then reload them."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        jobs = do_create_ingest_jobs(project, paths=paths, **kwargs)
    return [IngestJob.objects.get(pk=job.pk) for job in jobs]


def read_media(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def top_level_atoms(data: bytes) -> list[str]:
    atoms, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        atoms.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return atoms


@dataclass(frozen=True)
class VideoFacts:
    codec: str
    pix_fmt: str
    profile: str
    width: int
    height: int
    frames: int
    atoms: list[str]


def video_facts(data: bytes) -> VideoFacts:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        context = stream.codec_context
        return VideoFacts(
            codec=context.name,
            pix_fmt=context.pix_fmt,
            profile=context.profile or "",
            width=context.width,
            height=context.height,
            frames=frames,
            atoms=top_level_atoms(data),
        )


def video_frames_rgb(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def manifest(clip: Clip) -> dict:
    return json.loads(read_media(clip.frames_manifest_name))


def chunk_frames_rgb(clip: Clip) -> list[np.ndarray]:
    """Every frame, sliced out of the chunk files by the manifest's offsets, as the browser does."""
    info = manifest(clip)
    prefix = clip.frames_manifest_name.rsplit("/", 1)[0]
    frames = []
    for chunk in info["chunks"]:
        data = read_media(f"{prefix}/{chunk['name']}")
        for offset, length in chunk["frames"]:
            jpeg = np.frombuffer(data[offset : offset + length], dtype=np.uint8)
            frames.append(cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    return frames


def all_files(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]
