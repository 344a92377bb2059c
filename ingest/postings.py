"""BM25 ranking straight from a bm25s index's memory-mapped CSC arrays: `PostingLists.top(tokens, depth, mask)`.

Why not bm25s's `get_scores_from_ids`: it adds each token's posting list with `np.add.at` into an array over every
chunk and slices np.memmap objects (a Python-level __array_finalize__ per slice). At 1M chunks the character arm's
common characters have posting lists as long as the corpus, so that is work proportional to the corpus per query.

Scores here are bit-identical to bm25s's: per row, the tokens' float32 contributions are added in the query's token
order (a repeated token again), starting from 0, exactly as `np.add.at` adds them (tests compare the arrays).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import csc_array

SPARSE_MIN_POSTINGS = 20_000  # from this many postings per query on, one sparse product beats a loop per token


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k best positive scores, best first, ties by lower row (no Python loops)."""
    scores = np.asarray(scores)
    if k <= 0 or scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    pos = np.flatnonzero(scores > 0)
    if pos.size > k:
        vals = scores[pos]
        kth = np.partition(vals, vals.size - k)[vals.size - k]
        above = pos[vals > kth]
        equal = pos[vals == kth][: k - above.size]
        pos = np.concatenate([above, equal])
    order = np.lexsort((pos, -scores[pos]))
    return pos[order].astype(np.int64)


class PostingLists:
    """One BM25 arm of a loaded bm25s index (column t of the CSC arrays = the rows containing token t)."""

    def __init__(self, bm25: Any) -> None:
        self.vocab = bm25.vocab_dict
        self.data = np.asarray(bm25.scores["data"])  # plain ndarray views of the memory maps: no copy
        self.indices = np.asarray(bm25.scores["indices"])
        self.indptr = np.asarray(bm25.scores["indptr"])
        self.num_docs = int(bm25.scores["num_docs"])
        self.dtype = np.dtype(bm25.dtype)
        if getattr(bm25, "nonoccurrence_array", None) is not None:  # BM25L/BM25+: not what ingest builds
            raise ValueError("bm25 variants with a non-occurrence score are not supported")

    def token_ids(self, tokens: list[str]) -> list[int]:
        vocab = self.vocab
        return [vocab[t] for t in tokens if t in vocab]

    def scores(self, tokens: list[str]) -> np.ndarray | None:
        """Score per row for the query tokens (repeats count again, as in bm25s); None when none is known."""
        ids = self.token_ids(tokens)
        return self._dense(ids) if ids else None

    def top(self, tokens: list[str], depth: int, mask: np.ndarray | None = None) -> list[int]:
        """Rows of the `depth` best positive scores among the allowed rows, best first, ties by lower row."""
        ids = self.token_ids(tokens)
        if not ids or depth <= 0:
            return []
        scores = self._dense(ids)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        return top_rows(scores, depth).tolist()

    # ----- one pass over every posting ------------------------------------------------------------------------------
    def _dense(self, ids: list[int]) -> np.ndarray:
        """Short lists: `+=` per token (within one list every row occurs once, so it adds what np.add.at adds, in
        the same order). Long ones: the query's columns, in token order, as a sparse matrix times ones: scipy's
        csc_matvec adds column by column in one C loop (`y[row] += value * 1`), np.add.at's order, at a third less
        time, once the postings outweigh building the matrix."""
        indptr, indices, data = self.indptr, self.indices, self.data
        spans = [(int(indptr[t]), int(indptr[t + 1])) for t in ids]
        lengths = np.array([e - s for s, e in spans], dtype=np.int64)
        if lengths.sum() < SPARSE_MIN_POSTINGS:
            scores = np.zeros(self.num_docs, dtype=self.dtype)
            for s, e in spans:
                scores[indices[s:e]] += data[s:e]
            return scores
        columns = np.concatenate([[0], np.cumsum(lengths)])
        if columns[-1] < np.iinfo(np.int32).max:
            columns = columns.astype(self.indices.dtype)  # scipy would otherwise copy the rows to int64
        rows = np.concatenate([self.indices[s:e] for s, e in spans])
        values = np.concatenate([self.data[s:e] for s, e in spans])
        matrix = csc_array((values, rows, columns), shape=(self.num_docs, len(ids)))
        return np.asarray(matrix @ np.ones(len(ids), dtype=self.dtype), dtype=self.dtype)
