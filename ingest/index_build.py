"""Building the on-disk index from a parsed corpus: `build_index(corpus, config, progress)`.

Layout::

    DIR/manifest.json            names the current build (ingest.manifest); replaced atomically, LAST
    DIR/.build.lock              flock held while a build runs (ingest.publish)
    DIR/builds/<build_id>/       one complete build:
        chunks.jsonl, documents.json, glossary.json   the records (ingest.index_records)
        tokenizer/               Tokenizer.save(): user words + settings (query-time cut == index-time cut)
        bm25_word/ bm25_char/    bm25s indexes over Tokenizer.tokenize / char_tokens of the chunk search text
        dense.faiss              FAISS inner-product index over vectors.npy (absent with --model none)
        vectors.npy              float32 L2-normalised vectors, row i = chunk i (kept for incremental reuse)
        vector_keys.json         [chunk id, sha1 of its search text] per row of vectors.npy
        model/                   the offline model, when one is used (trained or carried over)
        manifest.json            a copy of the manifest (the build folder describes itself)

BM25 arms (ingest.bm25_build): tokens are turned into (token id, count) pairs one batch at a time and the CSC
score matrix is filled from spill files, so a build never holds the corpus's token strings; from
``parallel_min_chunks`` chunks on, tokenising runs in spawned worker processes that re-create the tokenizer from
``tokenizer/``. Scores are bit-identical to ``bm25s.BM25().index(token_lists)``. The tokenizer dictionary and both
BM25 arms are always rebuilt (≈ 1 s for the shipped corpus); the dense arm reuses what it can (ingest.dense_build).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .bm25_build import build_bm25_arm
from .chunking import make_search_text
from .config import BuildConfig
from .dense_build import embed_with_reuse, faiss_index, file_shas, resolve_embedder, text_key
from .index_records import write_records
from .integrity import build_is_intact, checksum_build
from .manifest import (
    BUILDS_DIR,
    SCHEMA_VERSION,
    Bm25Info,
    ChunkingInfo,
    DenseInfo,
    EmbeddingInfo,
    FileEntry,
    IncrementalInfo,
    Manifest,
    SearchTextInfo,
    TokenizerInfo,
    read_manifest,
)
from .models import CHUNK_KINDS, ParsedCorpus
from .publish import build_lock, new_build_id, publish, staging_dir, sweep_builds
from .tokenize import TOKENIZER_KIND, Tokenizer, corpus_terms

ProgressFn = Callable[[str, int, int], Any]  # (stage, done, total)


@dataclass
class BuildResult:
    manifest: Manifest
    stage_seconds: dict[str, float]
    embedding_model: str | None
    reused_files: list[str] = field(default_factory=list)
    build_dir: Path | None = None
    reused_vectors: int = 0
    embedding_source: str | None = None  # pretrained | named | trained | reused | None


@dataclass
class _DenseResult:
    embedding: EmbeddingInfo
    dense: DenseInfo | None
    reused_files: list[str]
    reused_vectors: int
    source: str | None


class _Stages:
    """Times each stage and reports it to `progress` as it starts (0, 1) and ends (1, 1).

    A failing callback stops the build: a progress function that cannot be called is a bug to see, not hide.
    """

    def __init__(self, progress: ProgressFn | None) -> None:
        self.seconds: dict[str, float] = {}
        self.progress = progress

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.report(name, 0, 1)
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t, 4)
        self.report(name, 1, 1)

    def report(self, name: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(name, done, total)


def tokenize_workers(n_chunks: int, config: BuildConfig) -> int:
    """Processes to tokenise in: 1 below `parallel_min_chunks` (spawning costs ~1 s per worker), else up to
    `tokenize_workers` (jieba is pure Python, so processes, not threads)."""
    if n_chunks < config.parallel_min_chunks:
        return 1
    return max(1, min(config.tokenize_workers, os.cpu_count() or 1))


def build_index(corpus: ParsedCorpus, config: BuildConfig, progress: ProgressFn | None = None) -> BuildResult:
    """Build (or incrementally rebuild) the index for `corpus` in `config.index_dir`, publish it atomically.

    `progress(stage, done, total)` is called as each stage starts and ends, and
    at each step of the publication (ingest.publish.PUBLISH_STAGE). An exception it raises stops the build and
    leaves the previous index in service.
    """
    if not corpus.chunks:
        raise ValueError("build_index: the corpus has no chunks (nothing to index)")
    index_dir = Path(config.index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    stage = _Stages(progress)
    t_all = time.perf_counter()
    with build_lock(index_dir):
        prev = read_manifest(index_dir)
        prev_build = prev.build_dir(index_dir) if prev else None
        sweep_builds(index_dir, keep={b for b in (prev_build and prev_build.name, prev and prev.previous_build) if b})
        # A damaged previous build lends nothing (no vectors, no model) but is still the one the new build replaces.
        reuse = prev if build_is_intact(index_dir, prev) else None
        build_id = new_build_id()
        with staging_dir(index_dir, build_id) as tmp:
            tokenizer, dense = _build_arms(corpus, config, tmp, stage, reuse)
            stage_seconds = stage.seconds | {"total_index": round(time.perf_counter() - t_all, 4)}
            manifest = _manifest(corpus, config, build_id, tokenizer, dense, stage_seconds).model_copy(
                update={"index_files": checksum_build(tmp), "previous_build": prev.build_id if prev else None}
            )
            final = publish(index_dir, tmp, manifest, stage.report)
    return BuildResult(
        manifest=manifest,
        stage_seconds=stage_seconds,
        embedding_model=dense.embedding.model,
        reused_files=dense.reused_files,
        build_dir=final,
        reused_vectors=dense.reused_vectors,
        embedding_source=dense.source,
    )


def _build_arms(
    corpus: ParsedCorpus, config: BuildConfig, tmp: Path, stage: _Stages, prev: Manifest | None
) -> tuple[Tokenizer, _DenseResult]:
    chunks = corpus.chunks
    text_of = make_search_text(config.search_with_heading)
    texts = [text_of(c) for c in chunks]
    with stage("write_records"):
        write_records(tmp, corpus)
    with stage("tokenizer"):
        tokenizer = Tokenizer()
        tokenizer.add_words(corpus_terms(corpus, tokenizer))
        tokenizer.save(tmp / "tokenizer")
    # Streamed: token strings of a batch become (id, count) pairs at once, never the whole corpus's strings.
    workers = tokenize_workers(len(chunks), config)
    for arm in ("word", "char"):
        with stage(f"bm25_{arm}"):
            build_bm25_arm(texts, arm, tokenizer, tmp / f"bm25_{arm}", tokenizer_dir=tmp / "tokenizer",
                           workers=workers)
    return tokenizer, _build_dense(corpus, config, tmp, stage, prev, texts)


def _build_dense(
    corpus: ParsedCorpus, config: BuildConfig, tmp: Path, stage: _Stages, prev: Manifest | None, texts: list[str]
) -> _DenseResult:
    prev_build = prev.build_dir(config.index_dir) if prev else None
    with stage("embed_model"):
        embedder, source = resolve_embedder(config.embed_model, corpus, tmp / "model", prev_build, config.rebuild)
    if embedder is None:
        return _DenseResult(EmbeddingInfo(model=None, dim=None, kind=None, sha256=None), None, [], 0, None)
    with stage("embed"):
        vectors, reused_files, reused_vectors = embed_with_reuse(
            embedder, corpus.chunks, texts, corpus, prev, prev_build, config.rebuild
        )
        np.save(tmp / "vectors.npy", vectors)
        keys = [[c.id, text_key(t)] for c, t in zip(corpus.chunks, texts)]
        (tmp / "vector_keys.json").write_text(json.dumps(keys, ensure_ascii=False), encoding="utf-8")
    with stage("faiss"):
        import faiss

        index, dense = faiss_index(vectors, config.hnsw_threshold)
        faiss.write_index(index, str(tmp / "dense.faiss"))
    embedding = EmbeddingInfo(
        **embedder.manifest_entry(), path="model" if (tmp / "model").is_dir() else None, source=source
    )
    return _DenseResult(embedding, dense, reused_files, reused_vectors, source)


def _manifest(
    corpus: ParsedCorpus,
    config: BuildConfig,
    build_id: str,
    tokenizer: Tokenizer,
    dense: _DenseResult,
    stage_seconds: dict[str, float],
) -> Manifest:
    kinds = {k: 0 for k in CHUNK_KINDS}
    for c in corpus.chunks:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    files = file_shas(corpus)
    counts = {"documents": len(corpus.documents), "sections": len(corpus.sections), "chunks": len(corpus.chunks),
              **kinds, "glossary": len(corpus.glossary), "files": len(files), "skipped": len(corpus.skipped)}
    return Manifest(
        schema_version=SCHEMA_VERSION,
        build_id=build_id,
        build_path=f"{BUILDS_DIR}/{build_id}",
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        embedding=dense.embedding,
        tokenizer=TokenizerInfo(kind=TOKENIZER_KIND, user_words=len(tokenizer.user_words), sha256=tokenizer.sha256),
        files=[FileEntry(path=p, sha256=s) for p, s in files.items()],
        counts=counts,
        arms=["word", "char"] + (["dense"] if dense.dense is not None else []),
        search_text=SearchTextInfo(with_heading=config.search_with_heading),
        chunking=ChunkingInfo(**asdict(config.chunking)),
        bm25=Bm25Info(method="lucene", k1=1.5, b=0.75),
        dense=dense.dense,
        incremental=IncrementalInfo(reused_files=dense.reused_files, reused_vectors=dense.reused_vectors),
        stage_seconds=stage_seconds,
    )
