"""The content-addressed storage layout: a contract with the browser and other apps (README)."""

from __future__ import annotations

import re

from media_ingest.conf import CHUNK_SIZE

VIDEO = "video.mp4"
POSTER = "poster.jpg"
ARRAY = "array.npy"
MANIFEST = "frames/manifest.json"
# The lossless master: every de-identified frame as PNG, chunked like the JPEG frames. Never served
# to the browser (not in SERVED_NAME); dataset releases copy their frames from it.
LOSSLESS_MANIFEST = "lossless/manifest.json"
CODE_PATTERN = re.compile(r"^[0-9a-f]{64}$")
# The names a clip's prefix may hold; anything else under media/<code>/ is a 404.
SERVED_NAME = re.compile(r"^(video\.mp4|poster\.jpg|array\.npy|frames/manifest\.json|frames/chunk-\d{5}\.bin)$")

__all__ = ["ARRAY", "CHUNK_SIZE", "LOSSLESS_MANIFEST", "MANIFEST", "POSTER", "VIDEO", "chunk_name", "storage_prefix"]


def storage_prefix(code: str) -> str:
    """``aa/bb/<code>``: the first two hex pairs fan the files out over directories."""
    if not CODE_PATTERN.match(code):
        raise ValueError("a clip code is 64 lower-case hex digits")
    return f"{code[:2]}/{code[2:4]}/{code}"


def chunk_name(index: int) -> str:
    """The name of chunk ``index`` relative to ``frames/``."""
    return f"chunk-{index:05d}.bin"
