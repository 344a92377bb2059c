"""What qa_service needs from a loaded index: masked per-arm rankings, term rarity, document listings.

A thin layer over `ingest.index_store.LoadedIndex`; the on-disk format stays ingest's business.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np

from ingest.index_store import LoadedIndex, load_index


def _top(scores: np.ndarray, k: int, mask: np.ndarray | None) -> list[int]:
    """Rows of the k best positive scores (ties by row), honouring an optional boolean mask."""
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    pos = np.flatnonzero(scores > 0)
    if pos.size > k:
        pos = pos[np.argpartition(-scores[pos], k - 1)[:k]]
    order = np.lexsort((pos, -scores[pos]))
    return pos[order].tolist()


class IndexView:
    def __init__(self, index: LoadedIndex):
        self.index = index
        self.chunks = index.chunks
        self.tokenizer = index.tokenizer
        self.manifest = index.manifest

    @classmethod
    def open(cls, index_dir, load_dense: bool = True) -> "IndexView":
        return cls(load_index(index_dir, load_dense=load_dense))

    @property
    def arms(self) -> list[str]:
        return self.index.arms

    # -- rankings -------------------------------------------------------------------------------

    @staticmethod
    def _bm25_scores(bm25: Any, tokens: list[str]) -> np.ndarray | None:
        ids = bm25.get_tokens_ids(list(tokens)) if tokens else []
        return bm25.get_scores_from_ids(ids) if ids else None

    def rank_word(self, tokens: list[str], k: int, mask: np.ndarray | None = None) -> list[int]:
        scores = self._bm25_scores(self.index.bm25_word, tokens)
        return [] if scores is None else _top(scores, k, mask)

    def rank_char(self, tokens: list[str], k: int, mask: np.ndarray | None = None) -> list[int]:
        scores = self._bm25_scores(self.index.bm25_char, tokens)
        return [] if scores is None else _top(scores, k, mask)

    def rank_dense(self, text: str, k: int, mask: np.ndarray | None = None) -> list[int]:
        if "dense" not in self.arms:
            return []
        n = self.index.faiss_index.ntotal
        if mask is None:
            rows, _ = self.index.search_dense(text, k)
            return rows.tolist()
        # Filtered search: widen the beam until enough allowed rows come back (or all rows are seen).
        vector = self.index.embedder.encode([text])[0]
        want = k * 8
        while True:
            rows, _ = self.index.search_dense_vector(vector, min(want, n))
            kept = [int(r) for r in rows if mask[r]]
            if len(kept) >= k or want >= n:
                return kept[:k]
            want *= 4

    @cached_property
    def _doc_freq(self) -> tuple[dict[str, int], int]:
        bm25 = self.index.bm25_word
        matrix = bm25.scores  # bm25s keeps a CSC matrix: column per vocabulary id
        indptr = np.asarray(matrix["indptr"])
        df = np.diff(indptr)
        vocab = bm25.vocab_dict
        return {tok: int(df[i]) for tok, i in vocab.items() if i < df.size}, len(self.chunks)

    def idf(self, term: str) -> float:
        """BM25-style inverse document frequency of a word token (rare terms count more in answers)."""
        df_map, n = self._doc_freq
        df = df_map.get(term, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    # -- documents --------------------------------------------------------------------------------

    def document_dicts(self) -> list[dict[str, Any]]:
        return [d.to_dict() for d in self.index.documents.values()]

    def glossary_dicts(self) -> list[dict[str, Any]]:
        return [g.to_dict() for g in self.index.glossary]

    @cached_property
    def _chunk_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return counts

    def _summary(self, doc) -> dict[str, Any]:
        return {
            "id": doc.doc_id,
            "title": doc.title,
            "source_file": doc.source_file,
            "page": doc.page,
            "date": doc.date,
            "reporter": doc.reporter,
            "n_sections": len(self.index.sections.get(doc.doc_id, [])),
            "n_chunks": self._chunk_counts.get(doc.doc_id, 0),
        }

    def document_list(self) -> list[dict[str, Any]]:
        return [self._summary(d) for d in self.index.documents.values()]

    def document_detail(self, doc_id: str, with_text: bool = False) -> dict[str, Any] | None:
        doc = self.index.documents.get(doc_id)
        if doc is None:
            return None
        detail = self._summary(doc)
        detail["outline"] = self.index.outlines.get(doc_id) or []
        detail["text"] = doc.text if with_text else None
        return detail
