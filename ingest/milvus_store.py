"""The Milvus store's shared parts: its config, one client per URI, collection names, schemas, token encoding and
the build files kept in Milvus.

Layout in one Milvus (database `default`), for a collection prefix P (`REPORTQA_MILVUS_COLLECTION`):

    P_b_<build>     one collection per build: a row per chunk (row = the chunk's row in the build), scalar
                    fields doc_id, chunk_id, heading, kind, start, end; `word` and `char` hold our tokenizer's
                    tokens (encoded, below) and feed two engine-side BM25 functions (`word_sparse`,
                    `char_sparse`); `dense` holds the build's vectors when it has a dense arm.
    P_chunks        an alias naming the build in service: publishing swaps it (the commit point, atomic for
                    readers; a reader holds the collection it loaded, so a request in flight finishes on it).
    P_files         the build's files (records, tokenizer, offline model, vectors, manifest) in base64 parts,
                    so a replica with an empty cache folder serves: ingest.milvus_reader.sync_cache.
    P_lease         the write lease: one writer publishes at a time (ingest.milvus_lease).
    P_sources       the files uploaded over HTTP, in base64 parts, so `reportqa ingest` on any machine re-parses
                    them (ingest.milvus_sources).

Tokens are cut on our side (ingest.tokenize, the one tokenizer) and each token is written as `t` + 12 hex digits
of its blake2b hash: Milvus's `standard` analyzer (the only one milvus-lite has) splits on \\w+, which would cut
`12.42`, `1-7月` or `13.2%`; an alphanumeric hash survives it whole, lower-cased or not, and keeps every field
short (14 bytes a token). 48 bits: two words of a 1M-word vocabulary collide with probability ~0.2%.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MAX_VARCHAR = 65535  # Milvus's largest VARCHAR (bytes)
TOKEN_BYTES = 14  # "t" + 12 hex digits + a space
MAX_TOKENS = MAX_VARCHAR // TOKEN_BYTES
FILE_PART_BYTES = 48_000  # raw bytes per P_files row: base64 makes 64,000, under MAX_VARCHAR
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # the embedded arms' Lucene BM25 (Manifest.bm25)


@dataclass(frozen=True)
class MilvusConfig:
    """Where the Milvus store is: a milvus-lite file (`./milvus.db`) or a server (`http://host:19530`)."""

    uri: str
    token: str | None
    prefix: str  # collection names start with it: several indexes can share one Milvus
    poll_seconds: float  # how often a server looks for a newly published build
    lease_seconds: float  # a writer's lease expires this long after its last renewal (ingest.milvus_lease)
    lease_wait_seconds: float  # how long a writer waits for the lease before giving up

    @property
    def is_lite_file(self) -> bool:
        return "://" not in self.uri

    @property
    def alias(self) -> str:
        return f"{self.prefix}_chunks"

    @property
    def files_collection(self) -> str:
        return f"{self.prefix}_files"

    @property
    def lease_collection(self) -> str:
        return f"{self.prefix}_lease"

    @property
    def sources_collection(self) -> str:
        return f"{self.prefix}_sources"

    def build_collection(self, build_id: str) -> str:
        return f"{self.prefix}_b_{build_key(build_id)}"

    def build_of(self, collection: str) -> str | None:
        """The build key of a build collection's name (None for another collection)."""
        head = f"{self.prefix}_b_"
        return collection[len(head):] if collection.startswith(head) else None


def build_key(build_id: str) -> str:
    """A build id as Milvus names allow it (letters, digits, underscores)."""
    return "".join(ch if ch.isalnum() else "_" for ch in build_id)


class MilvusUnavailable(RuntimeError):
    """Milvus cannot be reached (a server down, or a milvus-lite file another process holds)."""


_clients: dict[tuple[str, str | None], Any] = {}
_clients_lock = threading.Lock()


def client_for(config: MilvusConfig) -> Any:
    """One MilvusClient per (uri, token) in a process: milvus-lite opens its file once."""
    from pymilvus import MilvusClient

    uri = str(Path(config.uri).resolve()) if config.is_lite_file else config.uri
    key = (uri, config.token)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if config.is_lite_file:
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                client = MilvusClient(uri=uri, token=config.token or "")
            except Exception as exc:  # noqa: BLE001 - pymilvus raises several kinds; all mean "not reachable"
                hint = (" (a milvus-lite file opens in one process at a time: serve it with `milvus-lite server`"
                        " and use its http:// URI)") if config.is_lite_file else ""
                raise MilvusUnavailable(f"cannot open Milvus at {config.uri}: {exc}{hint}") from exc
            _clients[key] = client
        return client


@lru_cache(maxsize=1 << 20)
def encode_token(token: str) -> str:
    return "t" + hashlib.blake2b(token.encode("utf-8"), digest_size=6).hexdigest()


def encode_tokens(tokens: list[str]) -> str:
    """Space-joined encoded tokens, cut at MAX_TOKENS (a field holds at most MAX_VARCHAR bytes)."""
    if len(tokens) > MAX_TOKENS:
        log.warning("a chunk has %d tokens; Milvus indexes its first %d", len(tokens), MAX_TOKENS)
        tokens = tokens[:MAX_TOKENS]
    return " ".join(encode_token(t) for t in tokens)


class _DropUnimplemented(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in record.getMessage()


def create_collection(client: Any, name: str, schema: Any, index_params: Any) -> None:
    """Create a collection whose writes are visible to the next read (Strong: publish then swap the alias).

    milvus-lite's in-process gRPC server does not implement AllocTimestamp, which pymilvus calls while creating
    a collection; it answers "not implemented", pymilvus carries on, and grpc logs a traceback: that one log
    is dropped here. A server implements it."""
    quiet = _DropUnimplemented()
    grpc_log = logging.getLogger("grpc._server")
    grpc_log.addFilter(quiet)
    try:
        client.create_collection(name, schema=schema, index_params=index_params, consistency_level="Strong")
    finally:
        grpc_log.removeFilter(quiet)


def chunk_schema(dim: int | None) -> Any:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("row", DataType.INT64, is_primary=True)
    s.add_field("chunk_id", DataType.VARCHAR, max_length=512)
    s.add_field("doc_id", DataType.VARCHAR, max_length=512)
    s.add_field("heading", DataType.VARCHAR, max_length=4096)
    s.add_field("kind", DataType.VARCHAR, max_length=32)
    s.add_field("start", DataType.INT64)
    s.add_field("end", DataType.INT64)
    for arm in ("word", "char"):
        # The `standard` analyzer only splits our space-joined hashes (module docstring).
        s.add_field(arm, DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True,
                    analyzer_params={"type": "standard"})
        s.add_field(f"{arm}_sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name=f"{arm}_bm25", function_type=FunctionType.BM25,
                                input_field_names=[arm], output_field_names=[f"{arm}_sparse"]))
    if dim:
        s.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    return s


def chunk_index_params(client: Any, dim: int | None, lite: bool) -> Any:
    params = client.prepare_index_params()
    for arm in ("word", "char"):
        params.add_index(field_name=f"{arm}_sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params=dict(BM25_PARAMS))
    if dim:
        # Exact search in milvus-lite (small corpora); a server picks its ANN index (HNSW on a cluster).
        params.add_index(field_name="dense", index_type="FLAT" if lite else "AUTOINDEX", metric_type="IP")
    return params


def create_record_collection(client: Any, name: str, add_fields: Callable[[Any, Any], None]) -> None:
    """A collection of plain records (build files, stored uploads, the write lease): `add_fields(schema, DataType)`
    declares its fields. Milvus requires a vector field in every collection, so each gets a 2-d placeholder `v`
    (rows carry `v: [0.0, 0.0]`) under a FLAT index."""
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    add_fields(schema, DataType)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index(field_name="v", index_type="FLAT", metric_type="L2")
    create_collection(client, name, schema, params)


def _files_fields(s: Any, DataType: Any) -> None:  # noqa: N803 - pymilvus's enum, passed in to import it lazily
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=2048)
    s.add_field("build", DataType.VARCHAR, max_length=256)
    s.add_field("path", DataType.VARCHAR, max_length=1024)
    s.add_field("part", DataType.INT64)
    s.add_field("data", DataType.VARCHAR, max_length=MAX_VARCHAR)


def ensure_files_collection(client: Any, config: MilvusConfig) -> None:
    if not client.has_collection(config.files_collection):
        create_record_collection(client, config.files_collection, _files_fields)


def current_collection(client: Any, config: MilvusConfig) -> str | None:
    """The build collection the alias names (None when nothing is published)."""
    # list_aliases first: describe_alias of a missing alias raises, and pymilvus logs that with a traceback
    if config.alias not in client.list_aliases().get("aliases", []):
        return None
    return client.describe_alias(config.alias).get("collection_name") or None


_loaded: set[tuple[int, str]] = set()


def ensure_loaded(client: Any, name: str) -> None:
    """Load a collection into memory once per process (a new process finds them released)."""
    key = (id(client), name)
    if key not in _loaded:
        client.load_collection(name)
        _loaded.add(key)


def heading_text(path: list[str]) -> str:
    text = " / ".join(path)
    return text.encode("utf-8")[:4000].decode("utf-8", "ignore")
