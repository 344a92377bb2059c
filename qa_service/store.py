"""Where the index is searched: `open_store(settings)` -> EmbeddedStore (the default) or MilvusStore.

Both give what the service, the CLI and the document jobs need of a store:

* `key()`: what identifies the build in service, cheap enough to ask on every request; a new key makes the
  service load the new build (qa_service.index_holder);
* `load()` / `load_previous()`: the reader (IndexReader's API) of the build in service / of the one before it;
* `prepare()`: before a build, make the local folder hold the build in service (an incremental build reuses
  its vectors and model); `publish(result)`: after a build, put it in service;
* for writers (document jobs, `reportqa ingest`): `writing()` serialises them (Milvus: the write lease, across
  replicas; embedded: the job runner's flock and the build's own lock already do); `published()` is the corpus
  to edit (Milvus: read from the store under the lease, never a replica's possibly stale load; embedded: None,
  the loaded build is the one on disk); `stage_sources` / `commit_sources` keep uploaded files in the store
  around a publish, and `ingest_sources` gives `reportqa ingest` the uploaded files to re-parse.

Embedded: the files in `settings.index`, published by ingest.index_build itself (manifest.json is the key).
Milvus: the build is made in `settings.index` as always, then uploaded and the alias swapped
(ingest.milvus_publish); the key is the collection the alias names, asked at most every `milvus_poll_seconds`,
so every replica pointing at the same Milvus sees a new build within that time, with no restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ContextManager

from ingest.models import ParsedCorpus

from ingest.index_reader import load_index, load_previous_build

from .config import Settings
from .errors import IndexUnavailable
from .index_holder import manifest_key

log = logging.getLogger(__name__)


@dataclass
class PublishedBuild:
    """The build in service as a writer edits it: its corpus, manifest (None: nothing published), collection, and
    the paths of its files that are uploads kept in the store."""

    corpus: ParsedCorpus
    manifest: Any | None
    collection: str | None = None
    uploads: set[str] = field(default_factory=set)


class EmbeddedStore:
    name = "embedded"

    def __init__(self, settings: Settings) -> None:
        self.index_dir = Path(settings.index)

    def key(self) -> Hashable | None:
        return manifest_key(self.index_dir)

    def load(self, *, load_dense: bool = True) -> Any:
        return load_index(self.index_dir, load_dense=load_dense)

    def load_previous(self) -> Any | None:
        return load_previous_build(self.index_dir)

    def prepare(self) -> None:
        return None

    def publish(self, result: Any) -> None:
        return None  # build_index has published it

    def writing(self) -> ContextManager[None]:
        return nullcontext()  # one machine: the job runner's flock and build_index's lock serialise writers

    def published(self, loaded: Any | None = None) -> PublishedBuild | None:
        return None  # the loaded build is the one on disk

    def stage_sources(self, files: dict[str, Path]) -> None:
        return None  # the sources folder is the store of uploads

    def commit_sources(self, manifest: Any) -> None:
        return None

    def ingest_sources(self, folder: Path) -> list[Path]:
        return [folder] if folder.is_dir() and any(folder.iterdir()) else []


class MilvusStore:
    name = "milvus"

    def __init__(self, settings: Settings) -> None:
        self.index_dir = Path(settings.index)
        self.config = settings.milvus_config()
        self._lock = threading.Lock()
        self._polled: tuple[float, Hashable | None] | None = None
        self._writer = _writer_for(self.config)

    def key(self) -> Hashable | None:
        """The collection the alias names (None: nothing published), asked at most every poll_seconds."""
        from ingest.milvus_store import client_for, current_collection

        now = time.monotonic()
        polled = self._polled
        if polled is not None and now - polled[0] < self.config.poll_seconds:
            return polled[1]
        with self._lock:
            try:
                key = current_collection(client_for(self.config), self.config)
            except Exception as exc:  # noqa: BLE001 - Milvus unreachable: a 503 naming it, never a 500
                log.warning("milvus: %s", exc)
                raise IndexUnavailable(f"the Milvus store at {self.config.uri} cannot be reached ({type(exc).__name__})") from None
            self._polled = (now, key)
        return key

    def invalidate(self) -> None:
        self._polled = None

    def load(self, *, load_dense: bool = True) -> Any:
        from ingest.index_reader import IndexNotFound
        from ingest.milvus_reader import NothingPublished, load_milvus_index

        try:
            return load_milvus_index(self.config, self.index_dir, load_dense=load_dense)
        except NothingPublished as exc:
            raise IndexNotFound(self.config.uri, "nothing published in Milvus") from exc

    def load_previous(self) -> Any | None:
        return None  # Milvus keeps the previous build's collection, but the alias is what readers follow

    def prepare(self) -> Any | None:
        """Sync the cache folder to the build in service; its manifest (None when nothing is published)."""
        from ingest.milvus_reader import NothingPublished, sync_cache

        try:
            return sync_cache(self.config, self.index_dir)[1]
        except NothingPublished:
            log.info("milvus: nothing published yet; building from scratch")
            return None

    def publish(self, result: Any, ray_address: str | None = None) -> None:
        """Upload and swap the alias, under the write lease, only if the build in service is still the one the
        writer started from (a lapsed lease must not overwrite another writer's build)."""
        from ingest.milvus_publish import PublishConflict, publish_to_milvus

        writer = self._writer
        with self.writing():
            lease, expect = writer.lease, writer.expect

            def before_swap(current: str | None) -> None:
                lease.check()
                if current != expect:
                    raise PublishConflict(f"the build in service changed while this one was made ({expect} -> "
                                          f"{current}); submit the change again")

            publish_to_milvus(self.config, self.index_dir, result.manifest, ray_address, before_swap=before_swap)
            writer.expect = self.config.build_collection(result.manifest.build_id)
        self.invalidate()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the Milvus write lease (ingest.milvus_lease) for the block; LeaseBusy after lease_wait_seconds."""
        from ingest.milvus_lease import WriteLease
        from ingest.milvus_store import client_for, current_collection

        writer = self._writer
        with writer.lock:
            if writer.lease is not None:  # nested (another store object of this process, same thread): held
                yield
                return
            lease = WriteLease(self.config, holder=f"(cache {self.index_dir})")
            lease.acquire(self.config.lease_wait_seconds)
            try:
                writer.lease, writer.expect = lease, current_collection(client_for(self.config), self.config)
                yield
            finally:
                writer.lease = writer.expect = None
                lease.release()

    def published(self, loaded: Any | None = None) -> PublishedBuild:
        """Under the lease: the build the alias names now, read from the store (synced into the cache folder).
        `loaded`: this replica's loaded reader, whose records are used when it is that build (no re-read)."""
        from ingest.corpus_edit import corpus_of
        from ingest.index_records import read_records
        from ingest.milvus_sources import stored_sources
        from ingest.milvus_store import client_for

        with self.writing():
            manifest = self.prepare()
            if manifest is None:
                return PublishedBuild(ParsedCorpus(documents=[], sections=[], chunks=[], glossary=[], files=[]), None)
            if loaded is not None and getattr(loaded, "collection", None) == self._writer.expect:
                corpus = corpus_of(loaded)
            else:
                records = read_records(manifest.build_dir(self.index_dir))
                corpus = corpus_of(_BuildView(records.documents, records.sections, records.chunks,
                                              records.glossary, records.outlines, manifest))
            stored = {(s.name, s.sha256) for s in stored_sources(client_for(self.config), self.config)}
            uploads = {f.path for f in manifest.files if (Path(f.path).name, f.sha256) in stored}
            return PublishedBuild(corpus, manifest, self._writer.expect, uploads)

    def stage_sources(self, files: dict[str, Path]) -> None:
        """Keep uploaded files ({name: path}) in the store before the build naming them is published."""
        from ingest.milvus_sources import put_source
        from ingest.milvus_store import client_for

        for name, path in files.items():
            put_source(client_for(self.config), self.config, path, name)

    def commit_sources(self, manifest: Any) -> None:
        """After publishing: drop stored files the build in service does not have (deleted, replaced, orphaned)."""
        from ingest.milvus_sources import keep_only
        from ingest.milvus_store import client_for

        keep = {Path(f.path).name: f.sha256 for f in manifest.files}
        gone = keep_only(client_for(self.config), self.config, keep)
        if gone:
            log.info("milvus: uploaded files no longer stored: %s", ", ".join(gone))

    def ingest_sources(self, folder: Path) -> list[Path]:
        """Under the lease: the build in service's uploaded files, downloaded into `folder`, for `reportqa ingest`
        to re-parse. Uploads kept only in `folder` by an older version are stored first (adopted)."""
        from ingest.milvus_sources import download, put_source, stored_sources
        from ingest.milvus_store import client_for

        client = client_for(self.config)
        with self.writing():
            manifest = self.prepare()
            if manifest is None:
                return []
            wanted = {(Path(f.path).name, f.sha256) for f in manifest.files}
            stored = {(s.name, s.sha256): s for s in stored_sources(client, self.config)}
            paths = [download(client, self.config, s, folder) for key, s in sorted(stored.items()) if key in wanted]
            for local in sorted(folder.iterdir()) if folder.is_dir() else []:
                if local.is_file() and (local.name, _sha256(local)) in wanted - stored.keys():
                    put_source(client, self.config, local)
                    paths.append(local)
            return paths


@dataclass
class _Writer:
    """This process's writing state for one Milvus index, shared by its store objects (the CLI opens several)."""

    lock: Any = field(default_factory=threading.RLock)  # one writing thread; nested writing() re-enters
    lease: Any | None = None  # the held ingest.milvus_lease.WriteLease
    expect: str | None = None  # the collection in service when the lease was taken, or our last publish


_writers: dict[tuple[str, str], _Writer] = {}
_writers_lock = threading.Lock()


def _writer_for(config: Any) -> _Writer:
    with _writers_lock:
        return _writers.setdefault((config.uri, config.prefix), _Writer())


@dataclass(frozen=True)
class _BuildView:
    """A build's records as ingest.corpus_edit.corpus_of reads them (it takes a loaded index: same attributes)."""

    documents: dict
    sections: dict
    chunks: list
    glossary: list
    outlines: dict
    manifest: Any


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_store(settings: Settings) -> EmbeddedStore | MilvusStore:
    return MilvusStore(settings) if settings.store == "milvus" else EmbeddedStore(settings)
