"""The Milvus store's reader: `load_milvus_index(config, cache_dir)` -> `MilvusIndexReader`.

It has IndexReader's public API (ingest.index_reader), so the Retriever, scope detection, document views and
document jobs work unchanged: typed records and lookups in memory, one ranking method per arm. The arms run in
Milvus: `rank_word` and `rank_char` are BM25 searches over the engine's sparse fields, queried with the same
encoded tokens the chunks were indexed with (ingest.milvus_store); `rank_dense` searches the dense field with
the query embedded here. An allowed-row mask becomes a filter expression (`doc_id in [...] or row in [...]`).

Records, tokenizer, model and vectors come from the store (P_files) into the local cache folder on first load of
a build (`sync_cache`): a replica whose folder is empty serves as soon as it has downloaded them.

Milvus-lite and a Milvus server differ; this code follows the server and copes with lite:
* lite returns BM25 distances negated (more negative = better); a server returns positive scores. Ranking
  uses the order Milvus returns (best first on both), never the sign of the distances;
* lite has no `run_analyzer` and only the `standard` analyzer: we never ask Milvus to analyse text (tokens are
  cut here and hashed, ingest.milvus_store);
* lite computes BM25 statistics over the rows a filter lets through (measured: a filtered search scores rows
  differently from an unfiltered one), a server over the whole collection, as the embedded arms do. Only the
  order within a masked search is used, so the effect is confined to masked (filtered or scoped) searches.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from .index_records import read_records
from .lookups import ChunkLookups, LookupMethods
from .manifest import BUILDS_DIR, MANIFEST_NAME, Manifest, parse_manifest
from .milvus_publish import LOCAL_ONLY, WORD_DF_FILE
from .milvus_store import MilvusConfig, client_for, current_collection, encode_token, ensure_loaded
from .publish import fsync_dir, sweep_builds, write_json_atomic
from .tokenize import Tokenizer

log = logging.getLogger(__name__)

GET_BATCH = 64  # file parts fetched per request (64 KiB each)
FILTER_ROWS_MAX = 16384  # a search's `limit` (and our row lists) stays under Milvus's topk cap


class NothingPublished(FileNotFoundError):
    """The Milvus store has no build in service yet."""


class MilvusIndexReader(LookupMethods):
    """One build in Milvus: IndexReader's attributes and methods, with the arms searched by Milvus."""

    def __init__(self, config: MilvusConfig, collection: str, cache_dir: Path, manifest: Manifest,
                 embedder: Any | None, dense_error: str | None) -> None:
        self.config = config
        self.collection = collection
        self.index_dir = cache_dir
        self.build_dir = manifest.build_dir(cache_dir)
        self.manifest = manifest
        records = read_records(self.build_dir)
        self.chunks = records.chunks
        self.documents = records.documents
        self.outlines = records.outlines
        self.sections = records.sections
        self.glossary = records.glossary
        self.chunk_by_id = {c.id: c for c in self.chunks}
        self.chunk_pos = {c.id: i for i, c in enumerate(self.chunks)}
        self.tokenizer = Tokenizer.load(self.build_dir / "tokenizer")
        self.embedder = embedder
        self.faiss_index = None  # no local search structures: Milvus searches
        self.vectors = None
        self.dense_error = dense_error
        self._lookups = ChunkLookups(self.chunks)
        self._doc_of = np.array([c.doc_id for c in self.chunks], dtype=object)
        self._word_df: dict[str, int] = json.loads((self.build_dir / WORD_DF_FILE).read_text(encoding="utf-8"))
        self._client = client_for(config)
        ensure_loaded(self._client, collection)

    @property
    def arms(self) -> list[str]:
        arms = [a for a in self.manifest.arms if a != "dense"]
        if "dense" in self.manifest.arms and self.embedder is not None:
            arms.append("dense")
        return arms

    # ----- ranking ----------------------------------------------------------------------------------------------
    def rank_word(self, tokens: list[str], depth: int, mask: np.ndarray | None = None) -> list[int]:
        return self._rank_bm25("word", tokens, depth, mask)

    def rank_char(self, tokens: list[str], depth: int, mask: np.ndarray | None = None) -> list[int]:
        return self._rank_bm25("char", tokens, depth, mask)

    def rank_dense(self, text: str, depth: int, mask: np.ndarray | None = None) -> list[int]:
        if self.embedder is None or "dense" not in self.manifest.arms:
            return []
        vector = np.asarray(self.embedder.encode([text])[0], dtype=np.float32)
        return self._search("dense", vector.tolist(), depth, mask, {"metric_type": "IP"})

    def rank_rrf(self, word: list[str], char: list[str], text: str | None, depth: int, rrf_k: int,
                 mask: np.ndarray | None = None) -> list[int]:
        """The arms fused by Milvus in one request (`hybrid_search` with `RRFRanker(rrf_k)`): the same order as
        qa_service.fusion.weighted_rrf with equal weights, in one round trip instead of one per arm. Text None:
        lexical arms only. The Retriever does not call it: its weights differ per arm and it reports each arm's
        ranks (README, Store)."""
        from pymilvus import AnnSearchRequest, RRFRanker

        expr = "" if mask is None else self._mask_filter(mask)
        if expr is None or depth <= 0:
            return []
        limit = min(depth, FILTER_ROWS_MAX)
        reqs = []
        known = [t for t in word if t in self._word_df]
        for field, tokens in (("word_sparse", known), ("char_sparse", char)):
            if tokens:
                reqs.append(AnnSearchRequest(data=[" ".join(encode_token(t) for t in tokens)], anns_field=field,
                                             param={"metric_type": "BM25"}, limit=limit, expr=expr or None))
        if text is not None and self.embedder is not None and "dense" in self.manifest.arms:
            vector = np.asarray(self.embedder.encode([text])[0], dtype=np.float32).tolist()
            reqs.append(AnnSearchRequest(data=[vector], anns_field="dense", param={"metric_type": "IP"}, limit=limit,
                                         expr=expr or None))
        if not reqs:
            return []
        hits = self._client.hybrid_search(self.collection, reqs, RRFRanker(rrf_k), limit=limit, output_fields=["row"])
        return [int(h["row"]) for h in hits[0]]

    def _rank_bm25(self, arm: str, tokens: list[str], depth: int, mask: np.ndarray | None) -> list[int]:
        # Words the build never saw add nothing (as in bm25s); an all-unknown query ranks nothing.
        known = [t for t in tokens if arm != "word" or t in self._word_df]
        if not known:
            return []
        query = " ".join(encode_token(t) for t in known)
        return self._search(f"{arm}_sparse", query, depth, mask, {"metric_type": "BM25"})

    def _search(self, field: str, data: Any, depth: int, mask: np.ndarray | None, params: dict) -> list[int]:
        if depth <= 0 or not self.chunks:
            return []
        expr = ""
        if mask is not None:
            expr = self._mask_filter(mask)
            if expr is None:
                return []
        hits = self._client.search(self.collection, data=[data], anns_field=field, limit=min(depth, FILTER_ROWS_MAX),
                                   filter=expr, output_fields=["row"], search_params=params)
        return [int(h["row"]) for h in hits[0]]  # best first on lite and server alike (module docstring)

    def _mask_filter(self, mask: np.ndarray) -> str | None:
        """`doc_id in [...]` for documents the mask keeps whole, `row in [...]` for the rest; None: nothing allowed."""
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return None
        if rows.size == len(self.chunks):
            return ""
        docs, counts = np.unique(self._doc_of[rows], return_counts=True)
        whole = [d for d, n in zip(docs, counts) if n == self._lookups.chunk_counts.get(d, -1)]
        rest = rows[~np.isin(self._doc_of[rows], whole)] if whole else rows
        parts = []
        if whole:
            parts.append(f"doc_id in {json.dumps([str(d) for d in whole], ensure_ascii=False)}")
        if rest.size:
            parts.append(f"row in {json.dumps(rest.astype(int).tolist())}")
        return " or ".join(parts)

    # ----- word statistics --------------------------------------------------------------------------------------
    def has_word(self, term: str) -> bool:
        return term in self._word_df

    def idf(self, term: str) -> float:
        df = self._word_df.get(term, 0)
        n = len(self.chunks)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))


# ----------------------------------------------------------------------------------------------------------------
def load_milvus_index(config: MilvusConfig, cache_dir: str | Path, *, query_model: str | None = None,
                      load_dense: bool = True) -> MilvusIndexReader:
    """The build in service in Milvus, its files synced into `cache_dir` first. NothingPublished when none is."""
    from .index_reader import _load_embedder_for  # one way to load a build's model, the embedded reader's

    cache_dir = Path(cache_dir)
    collection, manifest = sync_cache(config, cache_dir)
    embedder, dense_error = None, None
    qm = (query_model or "").strip() or None
    if "dense" in manifest.arms and load_dense and qm != "none":
        from .embeddings import EmbedderUnavailable

        try:
            embedder = _load_embedder_for(manifest, manifest.build_dir(cache_dir), qm)
        except EmbedderUnavailable as exc:
            log.warning("dense arm off: %s", exc)
            dense_error = f"dense arm off: {exc}"
    return MilvusIndexReader(config, collection, cache_dir, manifest, embedder, dense_error)


def sync_cache(config: MilvusConfig, cache_dir: Path) -> tuple[str, Manifest]:
    """Make `cache_dir` hold the build in service (downloading its files when missing) and name it in its
    manifest.json. Returns (the build's collection, its manifest)."""
    client = client_for(config)
    collection = current_collection(client, config)
    key = config.build_of(collection or "")
    if collection is None or key is None:
        raise NothingPublished(f"no build published in Milvus at {config.uri} (prefix {config.prefix}); "
                               f"build one: REPORTQA_STORE=milvus reportqa ingest")
    manifest = _cached_manifest(cache_dir, key)
    if manifest is None:
        manifest = _download(client, config, key, cache_dir)
    return collection, manifest


def _cached_manifest(cache_dir: Path, key: str) -> Manifest | None:
    from .milvus_store import build_key

    try:
        current = parse_manifest(json.loads((cache_dir / MANIFEST_NAME).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
    if current is None or build_key(current.build_id) != key:
        return None
    build = current.build_dir(cache_dir)
    return current if (build / WORD_DF_FILE).is_file() or (build / "bm25_word").is_dir() and _add_word_df(build) else None


def _add_word_df(build: Path) -> bool:
    """A build made in this folder (it has the bm25 files): its word frequencies, as the store holds them."""
    from .milvus_publish import _word_df

    (build / WORD_DF_FILE).parent.mkdir(exist_ok=True)
    (build / WORD_DF_FILE).write_bytes(_word_df(build))
    return True


def _download(client: Any, config: MilvusConfig, key: str, cache_dir: Path) -> Manifest:
    ensure_loaded(client, config.files_collection)
    parts = client.query(config.files_collection, filter=f'build == "{key}"', output_fields=["id", "path", "part"],
                         limit=FILTER_ROWS_MAX)
    parts = sorted(parts, key=lambda r: (r["path"], r["part"]))
    data: dict[str, list[bytes]] = {}
    for start in range(0, len(parts), GET_BATCH):
        batch = parts[start:start + GET_BATCH]
        got = {r["id"]: r["data"] for r in client.get(config.files_collection, ids=[r["id"] for r in batch],
                                                     output_fields=["data"])}
        for r in batch:
            data.setdefault(r["path"], []).append(base64.b64decode(got[r["id"]]))
    manifest = parse_manifest(json.loads(b"".join(data[MANIFEST_NAME])))
    if manifest is None:
        raise NothingPublished(f"the build {key} in Milvus has no readable manifest")
    # The cache holds what the store holds: the manifest lists (and checksums) only those files, so a build made
    # from this cache (a document job) reuses its vectors and model as it would a complete build's.
    files = [f for f in (manifest.index_files or []) if not f.path.startswith(LOCAL_ONLY)]
    manifest = manifest.model_copy(update={"index_files": files})
    builds = cache_dir / BUILDS_DIR
    tmp = builds / f"{manifest.build_id}.{uuid.uuid4().hex[:6]}.tmp"
    for rel, pieces in data.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(pieces))
    (tmp / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    final = manifest.build_dir(cache_dir)
    try:
        os.replace(tmp, final)
    except OSError:  # another process of this replica synced it first
        shutil.rmtree(tmp, ignore_errors=True)
    fsync_dir(builds)
    write_json_atomic(cache_dir / MANIFEST_NAME, manifest.to_dict())
    sweep_builds(cache_dir, keep={final.name} | ({manifest.previous_build} if manifest.previous_build else set()))
    log.info("milvus: build %s synced into %s (%d files)", manifest.build_id, cache_dir, len(data))
    return manifest
