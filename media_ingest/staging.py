"""Uploads into the private store: files, folders and zip archives, one staged file per source.

Nothing staged is ever served. A zip entry whose path escapes the archive, or whose expansion ratio
or size is over the limit, becomes a per-file failure; the rest of the archive goes on. No Django
models here; the caller turns each ``Staged`` into an ingest job.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from media_ingest import conf

_BLOCK = 1024 * 1024
_NAME_LIMIT = 255


@dataclass(frozen=True)
class Staged:
    """One source file: staged (``path``, ``sha256``) or refused (``error``)."""

    name: str
    path: Path | None = None
    sha256: str = ""
    error: str = ""


def _is_skipped(name: str) -> bool:
    """Hidden files (.DS_Store, __MACOSX) and JSON sidecars are not candidate DICOM files."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or name.lower().endswith(".json")


def _short(name: str) -> str:
    return name if len(name) <= _NAME_LIMIT else "..." + name[-(_NAME_LIMIT - 3) :]


def _is_zip(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        return True
    with path.open("rb") as handle:
        head = handle.read(132)
    return head[128:132] != b"DICM" and zipfile.is_zipfile(path)


def unsafe_entry_name(name: str) -> bool:
    """Absolute paths, drive letters, backslashes or ``..`` anywhere: a path traversal attempt."""
    if name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return True
    return ".." in PurePosixPath(name).parts


def _copy(source: BinaryIO, target: Path, *, limit: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while block := source.read(_BLOCK):
            size += len(block)
            if size > limit:
                break
            digest.update(block)
            out.write(block)
    return digest.hexdigest(), size


def _stage_stream(source: BinaryIO, *, name: str, folder: Path, limit: int) -> Staged:
    target = folder / f"{uuid.uuid4().hex}.dcm"
    sha256, size = _copy(source, target, limit=limit)
    if size > limit:
        target.unlink(missing_ok=True)
        return Staged(name=name, error=f"file larger than {limit} bytes (UNITY_INGEST_MAX_FILE_BYTES)")
    return Staged(name=name, path=target, sha256=sha256)


def _stage_zip(archive: Path, *, folder: Path) -> Iterator[Staged]:
    limits = conf.INGEST
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        yield Staged(name=_short(archive.name), error="not a readable zip archive")
        return
    with zf:
        entries = [info for info in zf.infolist() if not info.is_dir()]
        if len(entries) > limits.zip_max_entries:
            yield Staged(
                name=_short(archive.name),
                error=f"{len(entries)} entries is over the limit of {limits.zip_max_entries} (UNITY_INGEST_ZIP_MAX_ENTRIES)",
            )
            return
        for info in entries:
            name = _short(f"{archive.name}:{info.filename}")
            if unsafe_entry_name(info.filename):
                yield Staged(name=name, error="zip entry path escapes the archive (path traversal); not extracted")
                continue
            if _is_skipped(info.filename):
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.zip_max_ratio:
                yield Staged(
                    name=name,
                    error=f"zip entry expands {ratio:.0f}:1, over the limit of {limits.zip_max_ratio:.0f}:1 "
                    "(UNITY_INGEST_ZIP_MAX_RATIO); not extracted",
                )
                continue
            if info.file_size > limits.max_file_bytes:
                yield Staged(name=name, error=f"zip entry larger than {limits.max_file_bytes} bytes; not extracted")
                continue
            try:
                with zf.open(info) as source:
                    # Declared sizes can lie: never write more than the entry claims.
                    staged = _stage_stream(source, name=name, folder=folder, limit=info.file_size)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                yield Staged(name=name, error=f"zip entry could not be extracted ({type(exc).__name__})")
                continue
            yield staged


def stage_paths(paths: Iterable[Path], *, folder: Path) -> Iterator[Staged]:
    """Copy every candidate file under ``paths`` into ``folder``; folders and zips are expanded."""
    folder.mkdir(parents=True, exist_ok=True)
    limit = conf.INGEST.max_file_bytes
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                relative = child.relative_to(path).as_posix()
                if _is_skipped(relative):
                    continue
                if _is_zip(child):
                    yield from _stage_zip(child, folder=folder)
                    continue
                with child.open("rb") as source:
                    yield _stage_stream(source, name=_short(f"{path.name}/{relative}"), folder=folder, limit=limit)
        elif path.is_file():
            if _is_zip(path):
                yield from _stage_zip(path, folder=folder)
                continue
            with path.open("rb") as source:
                yield _stage_stream(source, name=_short(path.name), folder=folder, limit=limit)
        else:
            yield Staged(name=_short(path.name), error="no such file or folder")


class Upload(Protocol):
    """What an uploaded file offers (Django's ``UploadedFile``)."""

    name: str | None

    def chunks(self) -> Iterator[bytes]: ...


@contextmanager
def uploads_as_paths(uploads: Iterable[Upload], *, folder: Path) -> Iterator[list[Path]]:
    """Write uploaded files to a temporary folder inside ``folder`` (the private store) and yield
    their paths; the folder is removed afterwards. Files are named by their index only."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="upload-", dir=folder) as temporary:
        paths = []
        for index, upload in enumerate(uploads):
            # Never the uploaded name on disk either: names can carry patient names.
            target = Path(temporary) / f"{index:04d}.upload"
            with target.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            paths.append(target)
        yield paths
