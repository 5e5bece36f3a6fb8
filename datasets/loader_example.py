"""Load a Unity dataset release with numpy and Pillow only (shipped in every release as loader.py).

    from loader import Release
    release = Release("my-project-v1.zip")        # the archive, or the folder it unzips to
    release.verify()                              # every file against MANIFEST.sha256
    frames = release.frames("01-<64 hex>")        # {frame index: H x W x 3 uint8 array}
    release.spacing()["01-<64 hex>"]              # (PhysicalDeltaX, PhysicalDeltaY) in cm/pixel
    release.splits()["train"]                     # clip names
    release.csv("labels/answers.csv")             # rows as dicts
    release.json("labels/keypoints_consensus.json")

Frames are lossless: grey frames are stored as 8-bit grey PNG and returned as RGB.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


class Release:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._zip = zipfile.ZipFile(self.path) if self.path.is_file() else None
        if self._zip is not None:
            self.root = self._zip.namelist()[0].split("/", 1)[0]

    def read(self, name: str) -> bytes:
        """The bytes of ``name`` (relative to the release's top folder)."""
        if self._zip is not None:
            return self._zip.read(f"{self.root}/{name}")
        return (self.path / name).read_bytes()

    def names(self) -> list[str]:
        lines = self.read("MANIFEST.sha256").decode().splitlines()
        return [line.split("  ", 1)[1] for line in lines]

    def verify(self) -> int:
        """Check every file against MANIFEST.sha256; returns the number checked."""
        count = 0
        for line in self.read("MANIFEST.sha256").decode().splitlines():
            digest, name = line.split("  ", 1)
            if hashlib.sha256(self.read(name)).hexdigest() != digest:
                raise ValueError(f"{name}: checksum mismatch")
            count += 1
        return count

    def csv(self, name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self.read(name).decode("utf-8"))))

    def json(self, name: str):
        return json.loads(self.read(name))

    def clips(self) -> dict[str, dict[str, str]]:
        return {row["FileName"]: row for row in self.csv("metadata/clips.csv")}

    def spacing(self) -> dict[str, tuple[float | None, float | None]]:
        """FileHash -> (PhysicalDeltaX, PhysicalDeltaY) in cm per pixel (None where unknown)."""
        return {
            row["FileHash"]: tuple(float(row[k]) if row[k] else None for k in ("PhysicalDeltaX", "PhysicalDeltaY"))
            for row in self.csv("metadata/spacing.csv")
        }

    def splits(self) -> dict[str, list[str]]:
        return self.json("splits/data_split.json")

    @staticmethod
    def frame_name(clip: str, frame: int) -> str:
        prefix, code = clip.split("-", 1)
        return f"{prefix}/{code[:2]}/{code[2:4]}/{clip}-{frame:04d}.png"

    def frame(self, clip: str, frame: int) -> np.ndarray:
        """One frame of ``clip`` (``01-<64 hex>``) as an H x W x 3 uint8 array."""
        with Image.open(io.BytesIO(self.read(self.frame_name(clip, frame)))) as image:
            return np.asarray(image.convert("RGB"))

    def frames(self, clip: str) -> dict[int, np.ndarray]:
        """Every frame the release ships of ``clip``, by frame index."""
        shipped = self.clips()[clip]["FramesShipped"]
        count = int(self.clips()[clip]["NumberOfFrames"])
        indices = range(count) if shipped == "all" else [int(f) for f in shipped.split()]
        return {index: self.frame(clip, index) for index in indices}


if __name__ == "__main__":
    import sys

    release = Release(sys.argv[1])
    print(f"{release.verify()} files verified")
    for split, clips in release.splits().items():
        print(f"{split}: {len(clips)} clips")
