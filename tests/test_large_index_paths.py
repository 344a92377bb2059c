"""The paths a large index takes, forced on a tiny one and compared with the small-index paths:

* chunks read by row from chunks.jsonl (ChunkStore) and ids looked up in a sorted array (ChunkIds);
* the masked dense arm on an HNSW index: scored inside faiss, ordered as the numpy scan, the scan on a tie.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

from ingest import chunk_store, index_records
from ingest.chunk_store import ChunkIds, ChunkStore, line_spans
from ingest.index_reader import IndexReader, _masked_flat_search, load_index
from tiny_index import build_tiny_index



@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("tiny") / "ix")


@pytest.fixture(scope="module")
def eager(built) -> IndexReader:
    return load_index(built)


@pytest.fixture()
def lazy(built, monkeypatch) -> IndexReader:
    monkeypatch.setattr(index_records, "load_chunks", lambda p: chunk_store.load_chunks(p, eager_max=0))
    return load_index(built)


def test_lazy_chunks_are_the_eager_ones(eager, lazy):
    assert isinstance(eager.chunks, list) and isinstance(lazy.chunks, ChunkStore)
    assert len(lazy.chunks) == len(eager.chunks) and list(lazy.chunks) == eager.chunks
    assert lazy.chunks[-1] == eager.chunks[-1] and lazy.chunks[1:4] == eager.chunks[1:4]
    with pytest.raises(IndexError):
        lazy.chunks[len(eager.chunks)]
    assert isinstance(lazy.chunk_pos, ChunkIds)
    assert dict(lazy.chunk_pos) == dict(eager.chunk_pos) and list(lazy.chunk_pos) == list(eager.chunk_pos)
    assert all(lazy.chunk_by_id[c.id] == c for c in eager.chunks)
    assert lazy.chunk_pos.get("no-such-id") is None and "no-such-id" not in lazy.chunk_pos
    assert lazy.first_chunk("a") == eager.first_chunk("a") and lazy.doc_rows("b").tolist() == eager.doc_rows("b").tolist()


def test_chunk_ids_last_duplicate_wins_and_odd_keys_miss():
    ids = ChunkIds(["b", "a", "b", "长的编号-1"])
    assert ids["a"] == 1 and ids["b"] == 2 and ids["长的编号-1"] == 3 and len(ids) == 3
    assert ids.get("a" * 100) is None and ids.get("") is None and 5 not in ids
    assert list(ids) == ["a", "b", "长的编号-1"]  # row order of each id's kept row
    assert len(ChunkIds([])) == 0 and ChunkIds([]).get("a") is None


def test_line_spans_skip_blank_lines_and_keep_a_last_line_without_newline():
    buf = b'{"a":1}\n\n{"b":2}\n{"c":3}'
    starts, ends = line_spans(buf, len(buf))
    assert [buf[s:e] for s, e in zip(starts, ends)] == [b'{"a":1}', b'{"b":2}', b'{"c":3}']
    assert line_spans(b"", 0)[0].size == 0


def test_masked_flat_search_orders_as_the_numpy_scan_and_declines_ties():
    import faiss

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((400, 8)).astype(np.float32)
    hnsw = faiss.IndexHNSWFlat(8, 8, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(vectors)
    mask = rng.random(400) < 0.3
    q = vectors[:1].copy()
    rows = np.flatnonzero(mask)
    scores = vectors[rows] @ q[0]
    assert _masked_flat_search(hnsw, vectors, q, 10, mask) == rows[np.lexsort((rows, -scores))[:10]].tolist()
    tied = np.tile(vectors[:1], (400, 1))  # every row scores the same: the top 10 may lie past faiss's candidates
    flat_tied = faiss.IndexHNSWFlat(8, 8, faiss.METRIC_INNER_PRODUCT)
    flat_tied.add(tied)
    assert _masked_flat_search(flat_tied, tied, q, 10, mask) is None


def test_masked_dense_on_hnsw_scores_inside_faiss_above_the_exact_limit(eager, monkeypatch):
    import faiss

    from ingest import index_reader

    n = len(eager.chunks)
    vectors = np.linspace(0.1, 0.9, n, dtype=np.float32).reshape(-1, 1) * np.array([[1.0, 0.0]], np.float32)
    hnsw = faiss.IndexHNSWFlat(2, 4, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(vectors)

    class Embed:
        def encode(self, texts):
            return np.tile(np.array([1.0, 0.0], np.float32), (len(texts), 1))

    monkeypatch.setattr(eager, "faiss_index", hnsw)
    monkeypatch.setattr(eager, "embedder", Embed())
    monkeypatch.setattr(eager, "vectors", vectors)
    mask = np.array([c.doc_id == "b" for c in eager.chunks])
    exact = eager.rank_dense("问题", 10, mask)
    assert exact == sorted(np.flatnonzero(mask).tolist(), reverse=True)  # larger vectors score higher
    monkeypatch.setattr(index_reader, "DENSE_EXACT_MAX", 0)
    assert eager.rank_dense("问题", 10, mask) == exact  # scored inside faiss: the same rows, same order
