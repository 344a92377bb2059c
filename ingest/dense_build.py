"""The dense arm of a build: choosing the embedding model, embedding with reuse, and the FAISS index.

Index choice: exact ``IndexFlatIP`` up to ``hnsw_threshold`` chunks (Settings.hnsw_threshold, 50,000: an exact
scan of 50k 256/512-d vectors is a few ms), above it ``IndexHNSWFlat`` with inner product, M=32 (graph degree:
~256 B/vector of links), efConstruction=200 (build-time beam) and efSearch=256 (query beam). Measured by
`reportqa bench` on 100k synthetic chunks with the 256-d offline model: recall@10 against an exact scan 0.70 with
200/256 vs 0.43 with the earlier 80/64, at 0.27 ms per query. The corpus-trained static embeddings have many
near-ties, so the graph needs the wider beams to find the true top 10; the query cost stays far below the BM25
arms'.

Reuse policy:
  * vectors are reused for a chunk when its file's sha256 is unchanged since the previous build, the chunk id and
    its search text are the same, and the embedding model's sha256 equals the previous manifest's (and not
    ``rebuild``);
  * ``auto`` with an offline model in the previous build and no ``rebuild``: the previous offline model is copied
    and reused, EVEN IF files were added/changed (new chunks are embedded with it), so the vectors of unchanged
    files stay valid. ``rebuild`` retrains the model and re-embeds everything. (A real pretrained model found
    on disk always wins over the offline model in ``auto``.)
  * an offline model given by folder (``embed_model=<path>``) is copied into the build as ``model/``, like a
    trained one, so the index loads its dense arm from itself.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .manifest import DenseInfo, Manifest
from .models import Chunk, ParsedCorpus

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256


def text_key(text: str) -> str:
    """What identifies a chunk's search text in vector_keys.json."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def file_shas(corpus: ParsedCorpus) -> dict[str, str]:
    return {f.path: f.sha256 or hashlib.sha256((f.text or "").encode("utf-8")).hexdigest() for f in corpus.files}


def faiss_index(vectors: np.ndarray, hnsw_threshold: int) -> tuple[Any, DenseInfo]:
    """An exact index up to `hnsw_threshold` vectors, HNSW above it, with `vectors` added."""
    import faiss

    n, dim = vectors.shape
    if n <= hnsw_threshold:
        index = faiss.IndexFlatIP(dim)
        info = DenseInfo(index="flat-ip", hnsw_threshold=hnsw_threshold)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        info = DenseInfo(index="hnsw-ip", M=HNSW_M, efConstruction=HNSW_EF_CONSTRUCTION, efSearch=HNSW_EF_SEARCH,
                         hnsw_threshold=hnsw_threshold)
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, info


def resolve_embedder(
    embed_model: str, corpus: ParsedCorpus, model_dir: Path, prev_build: Path | None, rebuild: bool
) -> tuple[Any, str | None]:
    """(embedder or None, source) for the embed_model setting ("auto", "offline", "none", a name or a path)."""
    from . import embeddings as E

    spec = (embed_model or "none").strip()
    if spec.lower() == "none":
        return None, None
    prev_model = prev_build / "model" if prev_build is not None else None
    if spec == "auto" or spec == "offline" or spec.startswith(E.OFFLINE_PREFIX):
        candidates = (E.DEFAULT_AUTO_MODEL,) if spec == "auto" else ()
        return E.resolve_auto(
            corpus.chunks,
            model_dir,
            glossary=corpus.glossary,
            previous_model_dir=prev_model,
            rebuild=rebuild,
            candidates=candidates,
        )
    embedder = E.load_embedder(spec)
    if embedder is not None and embedder.kind == E.KIND_OFFLINE and embedder.path is not None:
        # The reader looks for an offline model only inside the build (build/model): copy it there, so the index
        # is self-contained (the folder given may be another index's build, which a later ingest deletes).
        if model_dir.exists():
            shutil.rmtree(model_dir)
        shutil.copytree(embedder.path, model_dir)
        embedder.path = model_dir
    return embedder, "named"


def embed_with_reuse(
    embedder: Any,
    chunks: list[Chunk],
    texts: list[str],
    corpus: ParsedCorpus,
    prev: Manifest | None,
    prev_build: Path | None,
    rebuild: bool,
) -> tuple[np.ndarray, list[str], int]:
    """(vectors row i = chunk i, files whose every vector was reused, number of reused vectors)."""
    n = len(chunks)
    vectors = np.zeros((n, embedder.dim), dtype=np.float32)
    todo = np.ones(n, dtype=bool)
    reused_files: list[str] = []
    old = _previous_vectors(embedder, prev, prev_build) if not rebuild else None
    if old is not None and prev is not None:
        old_vecs, old_keys = old
        src_rows, dst_rows, reused_files = _reusable_rows(chunks, texts, corpus, prev, old_keys)
        if dst_rows:
            vectors[dst_rows] = old_vecs[src_rows]
            todo[dst_rows] = False
    idx = np.flatnonzero(todo)
    if idx.size:
        vectors[idx] = embedder.encode([texts[i] for i in idx])
    return vectors, reused_files, int(n - idx.size)


def _previous_vectors(
    embedder: Any, prev: Manifest | None, prev_build: Path | None
) -> tuple[np.ndarray, list[list[str]]] | None:
    """The previous build's vectors and their [chunk id, text key] rows, when they were made by this model."""
    if prev is None or prev_build is None:
        return None
    if prev.embedding.sha256 != embedder.sha256 or prev.embedding.dim != embedder.dim:
        return None
    if not (prev_build / "vectors.npy").is_file() or not (prev_build / "vector_keys.json").is_file():
        return None
    try:
        old_vecs = np.load(prev_build / "vectors.npy")
        old_keys = json.loads((prev_build / "vector_keys.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if len(old_keys) != len(old_vecs) or old_vecs.shape[1:] != (embedder.dim,):
        return None
    return old_vecs, old_keys


def _reusable_rows(
    chunks: list[Chunk], texts: list[str], corpus: ParsedCorpus, prev: Manifest, old_keys: list[list[str]]
) -> tuple[list[int], list[int], list[str]]:
    """(rows in the old vectors, rows in the new ones, files whose every chunk is reused)."""
    old_row = {cid: (i, key) for i, (cid, key) in enumerate(old_keys)}
    old_files = prev.file_shas
    new_files = file_shas(corpus)
    doc_file = {d.doc_id: d.source_file for d in corpus.documents}
    unchanged = {p for p, s in new_files.items() if old_files.get(p) == s}
    # A document's source_file may be spelled differently from RawFile.path; fall back to the base name.
    base = {Path(p).name: p for p in new_files}
    file_of = [
        (lambda f: f if f in new_files else base.get(Path(f).name, f))(doc_file.get(c.doc_id, "")) for c in chunks
    ]
    src_rows, dst_rows = [], []
    per_file_total: dict[str, int] = {}
    per_file_reused: dict[str, int] = {}
    for i, (c, t) in enumerate(zip(chunks, texts)):
        f = file_of[i]
        per_file_total[f] = per_file_total.get(f, 0) + 1
        hit = old_row.get(c.id)
        if f in unchanged and hit is not None and hit[1] == text_key(t):
            src_rows.append(hit[0])
            dst_rows.append(i)
            per_file_reused[f] = per_file_reused.get(f, 0) + 1
    reused_files = sorted(f for f, k in per_file_reused.items() if k == per_file_total.get(f))
    return src_rows, dst_rows, reused_files
