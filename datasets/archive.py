"""A deterministic zip archive with a SHA-256 manifest, written as a stream. No Django.

Entries carry a fixed timestamp (the release's freeze time), fixed permissions and system, and
are written in a fixed order, so the same inputs give the same bytes. PNG and MP4 entries are
stored (already compressed); text is deflated. ``MANIFEST.sha256`` (``sha256sum`` format, one line
per file, sorted by name) is written last. Memory: one entry's buffer at most (text entries stream).
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

MANIFEST = "MANIFEST.sha256"
_PERMISSIONS = 0o644 << 16
_UNIX = 3


class _Hashing(io.RawIOBase):
    """Passes writes on to ``target`` and hashes them."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        view = memoryview(data)
        self.sha.update(view)
        self.target.write(view)
        self.size += len(view)
        return len(view)


class ReleaseArchive:
    """``with ReleaseArchive(path, root, date_time) as archive: archive.add_bytes(...)``; every name
    is relative to ``root`` (the archive's top folder)."""

    def __init__(self, path: Path, *, root: str, date_time: datetime) -> None:
        self.root = root
        self.date_time = max(date_time, datetime(1980, 1, 1)).timetuple()[:6]
        self._zip = zipfile.ZipFile(path, "w", allowZip64=True)
        self.sums: dict[str, str] = {}
        self.bytes_written = 0

    def _info(self, name: str, *, compress: bool, manifest: bool = False) -> zipfile.ZipInfo:
        if name in self.sums or (name == MANIFEST and not manifest):
            raise ValueError(f"{name} is already in the archive")
        info = zipfile.ZipInfo(f"{self.root}/{name}", date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.create_system = _UNIX
        info.external_attr = _PERMISSIONS
        return info

    def add_bytes(self, name: str, data: bytes, *, compress: bool = False) -> None:
        info = self._info(name, compress=compress)
        info.file_size = len(data)
        with self._zip.open(info, "w", force_zip64=len(data) > 2**31) as handle:
            handle.write(data)
        self.sums[name] = hashlib.sha256(data).hexdigest()
        self.bytes_written += len(data)

    def add_stream(self, name: str, source: IO[bytes], *, compress: bool = False) -> None:
        """Copy ``source`` (read to its end, 1 MiB at a time) into entry ``name``."""
        info = self._info(name, compress=compress)
        with self._zip.open(info, "w", force_zip64=True) as handle:
            hashing = _Hashing(handle)
            while chunk := source.read(1 << 20):
                hashing.write(chunk)
        self.sums[name] = hashing.sha.hexdigest()
        self.bytes_written += hashing.size

    @contextmanager
    def open_text(self, name: str) -> Iterator[IO[str]]:
        """A deflated UTF-8 text entry, written as a stream (``newline=""``: csv writes its own).
        A zip takes one entry at a time, so the text is spooled to a temporary file and copied in
        when the block ends: several entries can be open at once, in bounded memory; entries land
        in the order their blocks end."""
        with tempfile.TemporaryFile() as spool:
            text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
            yield text
            text.flush()
            spool.seek(0)
            self.add_stream(name, spool, compress=True)
            text.detach()

    def close(self) -> None:
        lines = "".join(f"{self.sums[name]}  {name}\n" for name in sorted(self.sums))
        info = self._info(MANIFEST, compress=True, manifest=True)
        with self._zip.open(info, "w") as handle:
            handle.write(lines.encode())
        self._zip.close()

    def abort(self) -> None:
        self._zip.close()

    def __enter__(self) -> ReleaseArchive:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
