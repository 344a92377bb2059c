"""Publishing a build atomically: readers see the previous complete index or the new one, never a partial one.

A build is written to ``builds/<id>.tmp/`` (`staging_dir`), renamed to ``builds/<id>/`` and only then is
``manifest.json`` replaced (temp file + fsync + os.replace) by `publish`. Until that replace the old manifest
still names the old, untouched build, so a SIGKILL at any moment leaves the previous index loadable. After the
replace every other folder under ``builds/`` (older builds, stale ``.tmp`` folders, renamed-but-never-published
builds of a killed run) is deleted, except the build the new one replaced (``Manifest.previous_build``): a
server keeps serving that last good build when the new one fails verification (ingest.integrity). The next
build also sweeps first. ``.build.lock`` (flock) makes a
second concurrent build fail fast instead of interleaving with the first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .manifest import BUILDS_DIR, MANIFEST_NAME, Manifest

LOCK_NAME = ".build.lock"
TMP_SUFFIX = ".tmp"
PUBLISH_STAGE = "publish"  # progress(PUBLISH_STAGE, step, 2): 0 before the rename, 1 before the manifest, 2 after


class IndexBusy(RuntimeError):
    """Another build holds the index directory's lock."""


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write JSON so readers see the old file or the new one, never a partial one (temp + fsync + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)
    return path


def fsync_dir(d: Path) -> None:
    """Make a rename inside `d` durable (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold DIR/.build.lock for the duration of a build; IndexBusy if another process holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fh = open(index_dir / LOCK_NAME, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusy(f"another ingest is building {index_dir} right now") from exc
        yield
    finally:
        fh.close()  # releases the lock (a killed process releases it too)


def sweep_builds(index_dir: Path, keep: set[str]) -> None:
    """Delete every folder under builds/ whose name is not in `keep` (older builds, stale .tmp, never-published
    builds)."""
    builds = index_dir / BUILDS_DIR
    if not builds.is_dir():
        return
    for p in builds.iterdir():
        if p.name not in keep:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()


def new_build_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


@contextlib.contextmanager
def staging_dir(index_dir: Path, build_id: str) -> Iterator[Path]:
    """The build's temporary folder builds/<id>.tmp/; removed when the build raises (a kill leaves it to the
    next build's sweep)."""
    builds = index_dir / BUILDS_DIR
    builds.mkdir(exist_ok=True)
    tmp = builds / (build_id + TMP_SUFFIX)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish(
    index_dir: Path, tmp: Path, manifest: Manifest, progress: Callable[[str, int, int], Any] | None = None
) -> Path:
    """Rename the finished build into place, then replace manifest.json (the commit point), then sweep.

    `progress(PUBLISH_STAGE, step, 2)` is called before each step, so a caller can watch (or a test can stop
    the process at) each moment of the publication.
    """
    report = progress or (lambda stage, done, total: None)
    (tmp / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")  # the build folder describes itself
    report(PUBLISH_STAGE, 0, 2)
    final = index_dir / manifest.build_path
    os.replace(tmp, final)
    fsync_dir(final.parent)
    report(PUBLISH_STAGE, 1, 2)
    write_json_atomic(index_dir / MANIFEST_NAME, manifest.to_dict())
    report(PUBLISH_STAGE, 2, 2)
    sweep_builds(index_dir, keep={final.name} | ({manifest.previous_build} if manifest.previous_build else set()))
    return final
