"""Where the index is searched: `open_store(settings)` -> EmbeddedStore (the default) or MilvusStore.

Both give what the service, the CLI and the document jobs need of a store:

* `key()`: what identifies the build in service, cheap enough to ask on every request; a new key makes the
  service load the new build (qa_service.index_holder);
* `load()` / `load_previous()`: the reader (IndexReader's API) of the build in service / of the one before it;
* `prepare()`: before a build, make the local folder hold the build in service (an incremental build reuses
  its vectors and model); `publish(result)`: after a build, put it in service.

Embedded: the files in `settings.index`, published by ingest.index_build itself (manifest.json is the key).
Milvus: the build is made in `settings.index` as always, then uploaded and the alias swapped
(ingest.milvus_publish); the key is the collection the alias names, asked at most every `milvus_poll_seconds`,
so every replica pointing at the same Milvus sees a new build within that time, with no restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from ingest.index_reader import load_index, load_previous_build

from .config import Settings
from .errors import IndexUnavailable
from .index_holder import manifest_key

log = logging.getLogger(__name__)


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


class MilvusStore:
    name = "milvus"

    def __init__(self, settings: Settings) -> None:
        self.index_dir = Path(settings.index)
        self.config = settings.milvus_config()
        self._lock = threading.Lock()
        self._polled: tuple[float, Hashable | None] | None = None

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

    def prepare(self) -> None:
        from ingest.milvus_reader import NothingPublished, sync_cache

        try:
            sync_cache(self.config, self.index_dir)
        except NothingPublished:
            log.info("milvus: nothing published yet; building from scratch")

    def publish(self, result: Any, ray_address: str | None = None) -> None:
        from ingest.milvus_publish import publish_to_milvus

        publish_to_milvus(self.config, self.index_dir, result.manifest, ray_address)
        self.invalidate()


def open_store(settings: Settings) -> EmbeddedStore | MilvusStore:
    return MilvusStore(settings) if settings.store == "milvus" else EmbeddedStore(settings)
