"""Checksums of a build's files, recorded in the manifest at build time and verified at load.

A truncated or altered file (a copy cut short, a bad disk block, a hand edit) used to surface as a numpy,
FAISS or JSON error deep inside a request. `verify_build` checks every file the manifest lists, by size first
(cheap, catches truncation) and then by sha256, and raises `IndexDamaged` naming the file relative to the
index directory, so a server can say which file is bad and how to rebuild it without showing server paths.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .manifest import MANIFEST_NAME, IndexFileInfo, Manifest

REBUILD_COMMAND = "reportqa ingest --rebuild"
_BLOCK = 1 << 20


class IndexDamaged(ValueError):
    """A file of the build is missing, of the wrong size or has the wrong checksum.

    `file` is relative to the index directory (`builds/<id>/bm25_word/vocab.index.json`), never absolute.
    """

    def __init__(self, file: str, reason: str, build_id: str | None = None) -> None:
        self.file = file
        self.reason = reason
        self.build_id = build_id
        super().__init__(f"index file {file} is damaged ({reason}); rebuild the index: {REBUILD_COMMAND}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def checksum_build(build_dir: Path) -> list[IndexFileInfo]:
    """Size and sha256 of every file under `build_dir` (paths relative to it, `/`-separated, sorted).

    The build's own manifest.json is left out: it is written after the checksums, by `publish`.
    """
    entries = []
    for p in sorted(build_dir.rglob("*")):
        rel = p.relative_to(build_dir).as_posix()
        if p.is_file() and rel != MANIFEST_NAME:
            entries.append(IndexFileInfo(path=rel, size=p.stat().st_size, sha256=sha256_file(p)))
    return entries


def verify_build(index_dir: Path, manifest: Manifest) -> bool:
    """Raise IndexDamaged for the first listed file that is missing, resized or altered.

    Returns False (nothing verified) for a manifest written before checksums were recorded, True otherwise.
    """
    if manifest.index_files is None:
        return False
    build = manifest.build_dir(index_dir)
    for entry in manifest.index_files:
        path = build / entry.path
        name = f"{manifest.build_path}/{entry.path}"
        try:
            size = path.stat().st_size
        except OSError:
            raise IndexDamaged(name, "missing", manifest.build_id) from None
        if size != entry.size:
            raise IndexDamaged(name, f"{size} bytes, {entry.size} expected", manifest.build_id)
        try:
            digest = sha256_file(path)
        except OSError as exc:
            raise IndexDamaged(name, f"unreadable: {exc.strerror or type(exc).__name__}", manifest.build_id) from None
        if digest != entry.sha256:
            raise IndexDamaged(name, "checksum mismatch", manifest.build_id)
    return True


def build_is_intact(index_dir: Path, manifest: Manifest | None) -> bool:
    """Whether a previous build can be reused (its vectors and model): verified, or written before checksums."""
    if manifest is None:
        return False
    try:
        verify_build(index_dir, manifest)
    except IndexDamaged:
        return False
    return True
