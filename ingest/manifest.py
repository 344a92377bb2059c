"""The manifest: the typed description of one index build, stored as DIR/manifest.json and inside the build.

`read_manifest(DIR)` is how every reader finds the current build; `Manifest.to_dict()` is exactly the JSON the
builder writes, so a manifest read from disk and dumped again is the same JSON (fields a newer or older build
wrote and this code does not know are kept, not dropped).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
BUILDS_DIR = "builds"


class _Part(BaseModel):
    # frozen: a loaded manifest is shared by every request; extra="allow": unknown keys survive a round trip.
    model_config = ConfigDict(frozen=True, extra="allow")


class EmbeddingInfo(_Part):
    """The dense arm's model; every field is None for a lexical-only index (built with --model none)."""

    model: str | None
    dim: int | None
    kind: str | None  # ingest.embeddings.KIND_ST | KIND_OFFLINE
    sha256: str | None
    path: str | None = None  # the offline model's folder inside the build ("model"), when it is there
    source: str | None = None  # pretrained | named | trained | reused


class TokenizerInfo(_Part):
    kind: str
    user_words: int
    sha256: str


class FileEntry(_Part):
    path: str
    sha256: str


class IndexFileInfo(_Part):
    """One file of the build folder: verified at load (ingest.integrity)."""

    path: str  # relative to the build folder, `/`-separated
    size: int
    sha256: str


class SearchTextInfo(_Part):
    with_heading: bool | None


class ChunkingInfo(_Part):
    chunk_size: int | None = None
    overlap: int | None = None


class Bm25Info(_Part):
    method: str
    k1: float
    b: float


class DenseInfo(_Part):
    """The FAISS index kind; the HNSW parameters are present for `hnsw-ip` only."""

    index: str  # flat-ip | hnsw-ip
    M: int | None = None
    efConstruction: int | None = None
    efSearch: int | None = None
    hnsw_threshold: int | None = None


class IncrementalInfo(_Part):
    reused_files: list[str]
    reused_vectors: int


class Manifest(_Part):
    schema_version: int
    build_id: str
    build_path: str  # relative to the index directory: builds/<build_id>
    created_at: str
    embedding: EmbeddingInfo
    tokenizer: TokenizerInfo
    files: list[FileEntry]
    counts: dict[str, int]  # documents, sections, chunks, one per chunk kind, glossary, files, skipped
    arms: list[str]  # word, char and (with an embedding model) dense
    search_text: SearchTextInfo
    chunking: ChunkingInfo
    bm25: Bm25Info
    dense: DenseInfo | None
    incremental: IncrementalInfo
    stage_seconds: dict[str, float]
    # Absent in manifests written before checksums were recorded (such a build loads unverified).
    index_files: list[IndexFileInfo] | None = None
    previous_build: str | None = None  # the build this one replaced: kept on disk as the last good build

    def to_dict(self) -> dict[str, Any]:
        """The JSON object on disk (fields that were never given, e.g. a flat index's HNSW parameters, stay out)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def build_dir(self, index_dir: str | Path) -> Path:
        return Path(index_dir) / self.build_path

    @property
    def file_shas(self) -> dict[str, str]:
        return {f.path: f.sha256 for f in self.files}


def parse_manifest(data: Any) -> Manifest | None:
    """A Manifest from decoded JSON, or None when it is not one."""
    try:
        return Manifest.model_validate(data)
    except ValidationError:
        return None


def read_manifest(index_dir: str | Path) -> Manifest | None:
    """The current manifest, or None when there is none (or it is unreadable, invalid or points nowhere)."""
    p = Path(index_dir) / MANIFEST_NAME
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    manifest = parse_manifest(data)
    if manifest is None or not manifest.build_dir(index_dir).is_dir():
        return None
    return manifest
