"""The files uploaded over HTTP, kept in Milvus (P_sources), so no replica's disk holds anything the index needs.

A document job reads and changes the published build's records (ingest.corpus_edit), which P_files holds; the
source files themselves are needed again only when `reportqa ingest` re-parses everything (new chunking, a
rebuild). With the Milvus store that ingest may run on any machine, so the uploaded files live in the store too:

    P_sources   a row per 48 kB part of a file: id `<name key>:<sha256>:<part>`, `name` (the file name, the
                unit a document job replaces or deletes), `sha256`, `part`, `parts`, `stored` (ms), `data`
                (base64; a VARCHAR holds at most 65,535 bytes).

Part 0 is written last, so a version whose part 0 is readable is complete (a writer killed mid-upload leaves
only parts no reader lists). A new version of a name is written beside the old one and the old one deleted only
after the build naming the new one is published (`keep_only`), so a crash at any step loses nothing. Row ids
hash the name, so names never go into filter expressions (they may hold quotes). Raw files are kept (not the
parsed text): a re-parse with other settings needs them, and they are what the user gave.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .milvus_store import FILE_PART_BYTES, MAX_VARCHAR, MilvusConfig, create_record_collection, ensure_loaded

log = logging.getLogger(__name__)

LIST_MAX = 16384  # a query returns at most this many rows: the store keeps at most this many uploaded files
GET_BATCH = 32  # parts fetched per request


@dataclass(frozen=True)
class StoredSource:
    name: str
    sha256: str
    parts: int
    stored: int  # ms

    def ids(self) -> list[str]:
        return [_row_id(self.name, self.sha256, i) for i in range(self.parts)]


def _row_id(name: str, sha256: str, part: int) -> str:
    return f"{hashlib.blake2b(name.encode('utf-8'), digest_size=8).hexdigest()}:{sha256}:{part}"


def _sources_fields(s: Any, DataType: Any) -> None:  # noqa: N803 - pymilvus's enum, imported lazily by the caller
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=128)
    s.add_field("name", DataType.VARCHAR, max_length=1024)
    s.add_field("sha256", DataType.VARCHAR, max_length=64)
    s.add_field("part", DataType.INT64)
    s.add_field("parts", DataType.INT64)
    s.add_field("stored", DataType.INT64)
    s.add_field("data", DataType.VARCHAR, max_length=MAX_VARCHAR)


def ensure_sources_collection(client: Any, config: MilvusConfig) -> None:
    if not client.has_collection(config.sources_collection):
        create_record_collection(client, config.sources_collection, _sources_fields)
    ensure_loaded(client, config.sources_collection)


def stored_sources(client: Any, config: MilvusConfig) -> list[StoredSource]:
    """Every complete stored version (a name has two while a replacement waits for its build to be published)."""
    ensure_sources_collection(client, config)
    rows = client.query(config.sources_collection, filter="part == 0", limit=LIST_MAX, consistency_level="Strong",
                        output_fields=["name", "sha256", "parts", "stored"])
    return [StoredSource(r["name"], r["sha256"], int(r["parts"]), int(r["stored"])) for r in rows]


def put_source(client: Any, config: MilvusConfig, path: Path, name: str | None = None) -> StoredSource:
    """Store the file at `path` under `name` (its file name by default), beside any older version."""
    ensure_sources_collection(client, config)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    name = name or path.name
    pieces = [data[i:i + FILE_PART_BYTES] for i in range(0, max(len(data), 1), FILE_PART_BYTES)]
    source = StoredSource(name, sha, len(pieces), int(time.time() * 1000))
    rows = [{"id": _row_id(name, sha, i), "name": name, "sha256": sha, "part": i, "parts": len(pieces),
             "stored": source.stored, "data": base64.b64encode(piece).decode("ascii"), "v": [0.0, 0.0]}
            for i, piece in enumerate(pieces)]
    done = client.get(config.sources_collection, ids=[rows[0]["id"]], output_fields=["stored"])
    if done:  # these bytes are stored under this name already (complete: part 0 is there)
        return StoredSource(name, sha, len(pieces), int(done[0]["stored"]))
    # parts a killed writer left (never listed: no part 0); an insert does not replace a row with the same id
    client.delete(config.sources_collection, ids=[r["id"] for r in rows])
    for start in range(1, len(rows), 16):  # part 0 last: its presence says the version is complete
        client.insert(config.sources_collection, rows[start:start + 16])
    client.insert(config.sources_collection, rows[:1])
    return source


def keep_only(client: Any, config: MilvusConfig, keep: dict[str, str]) -> list[str]:
    """Delete every stored version but `keep` ({name: sha256}): removed names, replaced and orphaned versions.
    Returns the names no longer stored."""
    gone = [s for s in stored_sources(client, config) if keep.get(s.name) != s.sha256]
    for s in gone:
        client.delete(config.sources_collection, ids=s.ids())
    return sorted({s.name for s in gone} - set(keep))


def download(client: Any, config: MilvusConfig, source: StoredSource, dest: Path) -> Path:
    """Write the stored file into `dest` (a folder), unless a file with its bytes is already there."""
    path = dest / source.name
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == source.sha256:
        return path
    ids = source.ids()
    pieces: dict[str, bytes] = {}
    for start in range(0, len(ids), GET_BATCH):
        for r in client.get(config.sources_collection, ids=ids[start:start + GET_BATCH], output_fields=["data"]):
            pieces[r["id"]] = base64.b64decode(r["data"])
    data = b"".join(pieces[i] for i in ids)
    if hashlib.sha256(data).hexdigest() != source.sha256:
        raise ValueError(f"the stored file {source.name} is incomplete or damaged in Milvus")
    dest.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
