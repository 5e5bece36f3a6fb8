"""Ingest limits and defaults, read from the environment once at import (see README "Configuration").

Each value has a ``UNITY_INGEST_*`` variable. An invalid value stops start-up with the variable's
name (``unity.env``). Code reads ``conf.INGEST`` at call time, so tests may replace it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from unity.env import env_int, env_str

# Frames per chunk file: part of the contract with the browser (see README).
CHUNK_SIZE = 32
# Side of the small grey learning array (N x ARRAY_SIDE x ARRAY_SIDE, uint8).
ARRAY_SIDE = 112


def _env_float(name: str, default: float, *, minimum: float) -> float:
    raw = env_str(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class IngestSettings:
    max_rows: int
    max_columns: int
    max_frames: int
    default_frame_rate: float
    zip_max_ratio: float
    zip_max_entries: int
    max_file_bytes: int
    max_expansion_bytes: int
    max_decoded_bytes: int
    job_memory_bytes: int
    jpeg_quality: int
    video_crf: int
    video_preset: str
    stale_minutes: int
    max_retries: int

    @classmethod
    def from_env(cls) -> IngestSettings:
        quality = env_int("UNITY_INGEST_JPEG_QUALITY", 90, minimum=30)
        if quality > 100:
            raise ImproperlyConfigured(f"UNITY_INGEST_JPEG_QUALITY: at most 100, got {quality}")
        preset = env_str("UNITY_INGEST_VIDEO_PRESET", "veryfast") or "veryfast"
        presets = {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}
        if preset not in presets:
            raise ImproperlyConfigured(f"UNITY_INGEST_VIDEO_PRESET: expected one of {sorted(presets)}, got {preset!r}")
        return cls(
            max_rows=env_int("UNITY_INGEST_MAX_ROWS", 2048, minimum=1),
            max_columns=env_int("UNITY_INGEST_MAX_COLUMNS", 2048, minimum=1),
            max_frames=env_int("UNITY_INGEST_MAX_FRAMES", 5000, minimum=1),
            default_frame_rate=_env_float("UNITY_INGEST_DEFAULT_FRAME_RATE", 30.0, minimum=0.1),
            zip_max_ratio=_env_float("UNITY_INGEST_ZIP_MAX_RATIO", 100.0, minimum=1.0),
            zip_max_entries=env_int("UNITY_INGEST_ZIP_MAX_ENTRIES", 10_000, minimum=1),
            max_file_bytes=env_int("UNITY_INGEST_MAX_FILE_BYTES", 2 * 1024**3, minimum=1),
            # What one upload (its zips expanded) may stage in all, and one zip's declared total.
            max_expansion_bytes=env_int("UNITY_INGEST_MAX_EXPANSION_BYTES", 8 * 1024**3, minimum=1),
            # rows x columns x samples x bytes per sample x frames that one file may declare.
            max_decoded_bytes=env_int("UNITY_INGEST_MAX_DECODED_BYTES", 8 * 1024**3, minimum=1),
            # Address space one ingest job may add in a worker (the per-task guard); 0: no guard.
            job_memory_bytes=env_int("UNITY_INGEST_JOB_MEMORY_BYTES", 1536 * 1024**2, minimum=0),
            jpeg_quality=quality,
            video_crf=env_int("UNITY_INGEST_VIDEO_CRF", 20, minimum=0),
            video_preset=preset,
            stale_minutes=env_int("UNITY_INGEST_STALE_MINUTES", 30, minimum=1),
            max_retries=env_int("UNITY_INGEST_MAX_RETRIES", 5, minimum=0),
        )


INGEST = IngestSettings.from_env()


def study_secret() -> bytes:
    """The key of study pseudonyms (``deid.study_pseudonym``), derived from UNITY_PSEUDONYM_KEY."""
    return hmac.new(settings.UNITY_PSEUDONYM_KEY.encode(), b"unity study pseudonym", hashlib.sha256).digest()
