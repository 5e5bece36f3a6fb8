"""Uploads into the private store: files, folders and zip archives, one staged file per source.

Nothing staged is ever served. A zip entry whose path escapes the archive, or whose expansion ratio
or size is over the limit, becomes a per-file failure; the rest of the archive goes on. Symbolic
links (files, folders, zip entries) are refused, never followed; an archive inside an archive, or
an archive of a kind ingest does not open, is named as such. One upload stages at most
``max_expansion_bytes`` in all (zips expanded): a zip whose entries declare more is refused whole,
and files past the budget fail with that reason. No Django models here; the caller turns each
``Staged`` into an ingest job.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
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


def is_skipped(name: str) -> bool:
    """Hidden files (.DS_Store, __MACOSX) and JSON sidecars are not candidate DICOM files."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or name.lower().endswith(".json")


def _short(name: str) -> str:
    return name if len(name) <= _NAME_LIMIT else "..." + name[-(_NAME_LIMIT - 3) :]


_OTHER_ARCHIVES = (".tar", ".tgz", ".tar.gz", ".gz", ".bz2", ".xz", ".7z", ".rar")
_ZIP_MAGIC = b"PK\x03\x04"


class _Budget:
    """Bytes one upload may still stage."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.total = total

    def refusal(self) -> str:
        return (
            f"the upload's expanded size is over the budget of {self.total:,} bytes "
            "(UNITY_INGEST_MAX_EXPANSION_BYTES); not staged"
        )


def _other_archive(name: str) -> str | None:
    lower = name.lower()
    return next((suffix for suffix in _OTHER_ARCHIVES if lower.endswith(suffix)), None)


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


def _stage_stream(source: BinaryIO, *, name: str, folder: Path, limit: int, budget: _Budget | None = None) -> Staged:
    target = folder / f"{uuid.uuid4().hex}.dcm"
    cap = limit if budget is None else min(limit, budget.left)
    sha256, size = _copy(source, target, limit=cap)
    if size > cap:
        target.unlink(missing_ok=True)
        if budget is not None and cap < limit:
            budget.left = 0
            return Staged(name=name, error=budget.refusal())
        return Staged(name=name, error=f"file larger than {limit} bytes (UNITY_INGEST_MAX_FILE_BYTES)")
    if budget is not None:
        budget.left -= size
    return Staged(name=name, path=target, sha256=sha256)


def _stage_zip(archive: Path, *, folder: Path, budget: _Budget) -> Iterator[Staged]:
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
        declared = sum(info.file_size for info in entries)
        if declared > budget.left:
            yield Staged(
                name=_short(archive.name),
                error=f"the archive declares {declared:,} bytes expanded, over what is left of the upload's budget "
                f"of {budget.total:,} bytes (UNITY_INGEST_MAX_EXPANSION_BYTES); nothing extracted",
            )
            return
        for info in entries:
            name = _short(f"{archive.name}:{info.filename}")
            if unsafe_entry_name(info.filename):
                yield Staged(name=name, error="zip entry path escapes the archive (path traversal); not extracted")
                continue
            if is_skipped(info.filename):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                yield Staged(name=name, error="symbolic link inside the archive; not followed")
                continue
            if info.filename.lower().endswith(".zip") or _other_archive(info.filename):
                yield Staged(name=name, error="an archive inside the archive; not opened (unpack it first)")
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
                    if source.peek(4)[:4] == _ZIP_MAGIC:
                        yield Staged(name=name, error="an archive inside the archive; not opened (unpack it first)")
                        continue
                    # Declared sizes can lie: never write more than the entry claims.
                    staged = _stage_stream(source, name=name, folder=folder, limit=info.file_size, budget=budget)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                yield Staged(name=name, error=f"zip entry could not be extracted ({type(exc).__name__})")
                continue
            yield staged


def _walk(root: Path) -> Iterator[tuple[Path, bool]]:
    """Every file under ``root`` in sorted order, with whether it is a symbolic link; links to
    folders are reported, never entered."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        linked_dirs = {d for d in dirs if (base / d).is_symlink()}
        for name in sorted(set(files) | linked_dirs):
            yield base / name, name in linked_dirs or (base / name).is_symlink()
        dirs[:] = sorted(d for d in dirs if d not in linked_dirs)


def _stage_file(path: Path, *, name: str, folder: Path, budget: _Budget) -> Iterator[Staged]:
    if _is_zip(path):
        yield from _stage_zip(path, folder=folder, budget=budget)
        return
    if kind := _other_archive(path.name):
        yield Staged(name=name, error=f"a {kind} archive: ingest opens zip archives only (unpack it first)")
        return
    if budget.left <= 0:
        yield Staged(name=name, error=budget.refusal())
        return
    with path.open("rb") as source:
        yield _stage_stream(source, name=name, folder=folder, limit=conf.INGEST.max_file_bytes, budget=budget)


def stage_paths(paths: Iterable[Path], *, folder: Path) -> Iterator[Staged]:
    """Copy every candidate file under ``paths`` into ``folder``; folders and zips are expanded,
    symbolic links refused, the whole within the upload's expansion budget."""
    folder.mkdir(parents=True, exist_ok=True)
    budget = _Budget(conf.INGEST.max_expansion_bytes)
    for path in paths:
        if path.is_symlink():
            yield Staged(name=_short(path.name), error="symbolic link; not followed")
        elif path.is_dir():
            for child, link in _walk(path):
                relative = child.relative_to(path).as_posix()
                if is_skipped(relative):
                    continue
                name = _short(f"{path.name}/{relative}")
                if link:
                    yield Staged(name=name, error="symbolic link; not followed")
                elif child.is_file():
                    yield from _stage_file(child, name=name, folder=folder, budget=budget)
        elif path.is_file():
            yield from _stage_file(path, name=_short(path.name), folder=folder, budget=budget)
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
