"""Which build the service answers from: reloaded when manifest.json changes, verified, never a damaged one.

`IndexHolder.current()` is called by every data request. It stats manifest.json (a few µs) and:

* returns the loaded build while the manifest is the one it was loaded from;
* loads the new build when the manifest changed (a build published by `reportqa ingest` or a document job);
* when that load fails (a file fails verification, ingest.integrity), remembers the failure for that manifest
  (its mtime, inode and size), so a damaged index costs one load attempt, not one per request; and keeps
  answering from the build already loaded (the last good one), reporting the damage in `damage` (/readyz).
  A process with no build loaded yet (just started) falls back to the build the damaged one replaced, which
  `builds/` keeps. With neither, the failure is raised: 503 naming the bad file and the rebuild command.

Messages never hold absolute paths: files are named relative to the index directory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from ingest.index_reader import IndexNotFound
from ingest.integrity import REBUILD_COMMAND, IndexDamaged
from ingest.manifest import MANIFEST_NAME

from .errors import IndexUnavailable

log = logging.getLogger(__name__)

ManifestKey = tuple[int, int, int]  # (mtime_ns, inode, size): os.replace gives a new manifest a new inode
T = TypeVar("T")


@dataclass(frozen=True)
class LoadFailure:
    key: ManifestKey
    error: IndexUnavailable
    file: str | None  # the damaged file, relative to the index directory, when one was named


def manifest_key(index_dir: Path) -> ManifestKey | None:
    try:
        st = (index_dir / MANIFEST_NAME).stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)


def unavailable(exc: Exception) -> IndexUnavailable:
    """The 503 a load failure becomes: what is wrong and the command that fixes it, with no server path."""
    if isinstance(exc, IndexDamaged):
        return IndexUnavailable(str(exc))
    if isinstance(exc, IndexNotFound):
        return IndexUnavailable(f"no search index ({exc.detail or 'not built'}); build it with: reportqa ingest")
    return IndexUnavailable(
        f"the index could not be loaded ({type(exc).__name__}); rebuild it: {REBUILD_COMMAND}"
    )


class IndexHolder(Generic[T]):
    """The loaded build (whatever `load` returns) with its manifest key, the last failure, and the lock."""

    def __init__(self, index_dir: Path, load: Callable[[ManifestKey], T],
                 fallback: Callable[[ManifestKey], T | None] | None = None,
                 key_of: Callable[[], Hashable | None] | None = None) -> None:
        self.index_dir = index_dir
        # What names the build in service: manifest.json's stat, or the store's own key (qa_service.store)
        self._key_of = key_of or (lambda: manifest_key(index_dir))
        self._load = load
        self._fallback = fallback  # the previous build, for a process that has no good build loaded yet
        self._loaded: tuple[ManifestKey, T] | None = None
        self._failure: LoadFailure | None = None
        self._lock = threading.Lock()

    @property
    def damage(self) -> LoadFailure | None:
        """The failed load of the newest manifest, while an older build is still served (or nothing is)."""
        return self._failure

    def current(self) -> T:
        key = self._key_of()
        if key is None:
            raise IndexUnavailable("no search index (manifest.json is missing); build it with: reportqa ingest")
        hit = self._cached(key)
        if hit is not None:
            return hit
        return self._load_now(key)

    def current_if_loaded(self) -> T | None:
        """`current()` when it needs no load (a stat only: safe on the event loop); None when it would load."""
        key = manifest_key(self.index_dir)
        if key is None:
            raise IndexUnavailable("no search index (manifest.json is missing); build it with: reportqa ingest")
        return self._cached(key)

    def _load_now(self, key: ManifestKey) -> T:
        with self._lock:
            hit = self._cached(key)
            if hit is not None:
                return hit
            try:
                value = self._load(key)
            except Exception as exc:  # noqa: BLE001 - any load error is a 503 with the fix, never a 500
                return self._failed(key, exc)
            self._loaded, self._failure = (key, value), None
            return value

    @property
    def in_service(self) -> T | None:
        """What is being served, without loading anything (None before the first load)."""
        loaded = self._loaded
        return loaded[1] if loaded is not None else None

    def _cached(self, key: ManifestKey) -> T | None:
        loaded, failure = self._loaded, self._failure
        if loaded is not None and loaded[0] == key:
            return loaded[1]
        if failure is not None and failure.key == key:
            if loaded is not None:
                return loaded[1]
            raise failure.error
        return None

    def _failed(self, key: ManifestKey, exc: Exception) -> T:
        error = unavailable(exc)
        if isinstance(exc, (IndexDamaged, IndexNotFound)):
            log.warning("index not loaded: %s", error.message)
        else:
            log.exception("index not loaded: %s", error.message)
        self._failure = LoadFailure(key, error, exc.file if isinstance(exc, IndexDamaged) else None)
        if self._loaded is None and self._fallback is not None:
            try:
                previous = self._fallback(key)
            except Exception:  # noqa: BLE001 - no fallback then; the 503 above stands
                log.exception("the previous build could not be served")
                previous = None
            if previous is not None:
                log.warning("serving the previous build instead")
                self._loaded = (key, previous)
        if self._loaded is not None:
            log.warning("still serving the last good build")
            return self._loaded[1]
        raise error
