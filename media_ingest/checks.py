"""System checks: the encoder the pipeline needs, and a writable media storage."""

from __future__ import annotations

import uuid

import av
from django.core.checks import Error, register
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


@register()
def check_h264_encoder(app_configs: object, **kwargs: object) -> list[Error]:
    try:
        av.codec.Codec("libx264", "w")
    except Exception:  # noqa: BLE001 - PyAV raises several types for a missing codec
        return [
            Error(
                "PyAV has no libx264 encoder: ingest cannot write H.264 video.",
                hint="Install the PyAV wheel pinned in requirements.txt (it ships libx264).",
                id="media_ingest.E001",
            )
        ]
    return []


@register()
def check_media_storage_writable(app_configs: object, **kwargs: object) -> list[Error]:
    name = f".unity-write-check-{uuid.uuid4().hex}"
    try:
        saved = default_storage.save(name, ContentFile(b"ok"))
        default_storage.delete(saved)
    except Exception as exc:  # noqa: BLE001 - any storage backend, any failure
        return [
            Error(
                f"The media storage is not writable ({type(exc).__name__}).",
                hint="Check UNITY_MEDIA_ROOT (or the storage backend's credentials) and permissions.",
                id="media_ingest.E002",
            )
        ]
    return []
