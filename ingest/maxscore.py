"""Exact BM25 top-k without reading every posting: MaxScore pruning over the CSC arrays, vectorised in numpy.

Why: at 1M chunks a question's common characters (的, 年, 区) have posting lists as long as the corpus, and
scoring them all cost most of a query. Their contributions are small (a low idf), so a row that only has them
cannot reach the k-th best score: MaxScore (Turtle & Flood 1995) scores the high-idf ("essential") tokens'
lists, bounds every other row by the sum of the remaining tokens' largest contributions, and looks the
remaining tokens up only for the rows that survive the bound. No maintained library does this over bm25s's
arrays (bm25s scores every posting; pyserini needs a JVM and its own index), hence the hand-written pass.

The result is exactly `top_rows` of the full scores: bounds carry a margin larger than float32 rounding, and the
survivors' final scores are added in the query's token order in float32, as the full pass adds them
(`PostingLists._dense`), so scores and ties are bit-identical (tests compare them). When pruning does not pay
(the essential lists hold most postings, or too few rows score), `top_pruned` returns None and the caller runs
the full pass.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import numpy as np

ESSENTIAL_SHARE_MAX = 0.5  # give up (full pass) once the scored lists hold more than this share of the postings


class ColumnStats:
    """Per token, computed on first use and kept: its largest contribution and whether its rows ascend."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray) -> None:
        self.data, self.indices, self.indptr = data, indices, indptr
        n = max(len(indptr) - 1, 0)
        self._max = np.full(n, np.nan, dtype=np.float64)
        self._sorted = np.zeros(n, dtype=np.int8)  # 0 unknown, 1 ascending, -1 not (then no pruning)
        self._local = threading.local()  # a scratch score array per thread (the service answers in a pool)

    def bound(self, t: int) -> float:
        """The largest contribution of token t, or NaN when its rows are not ascending (lookups need them)."""
        if np.isnan(self._max[t]):
            s, e = int(self.indptr[t]), int(self.indptr[t + 1])
            rows = self.indices[s:e]
            self._sorted[t] = 1 if rows.size < 2 or bool(np.all(rows[1:] > rows[:-1])) else -1
            self._max[t] = float(self.data[s:e].max()) if e > s else 0.0
        return float("nan") if self._sorted[t] < 0 else float(self._max[t])

    def scratch(self, n: int) -> np.ndarray:
        """A float64 zero array of n rows for this thread; callers zero what they set before returning."""
        arr = getattr(self._local, "arr", None)
        if arr is None or arr.size != n:
            arr = np.zeros(n, dtype=np.float64)
            self._local.arr = arr
        return arr

    def lookup(self, t: int, rows: np.ndarray) -> np.ndarray:
        """Token t's float32 contribution for each of the ascending `rows` (0 where it does not occur)."""
        s, e = int(self.indptr[t]), int(self.indptr[t + 1])
        col = self.indices[s:e]
        out = np.zeros(rows.size, dtype=self.data.dtype)
        if e == s or rows.size == 0:
            return out
        pos = np.minimum(np.searchsorted(col, rows), e - s - 1)
        found = col[pos] == rows
        out[found] = self.data[s + pos[found]]
        return out


def _kth(values: np.ndarray, k: int) -> float:
    """The k-th largest value (0.0 when there are fewer than k)."""
    if values.size < k:
        return 0.0
    return float(np.partition(values, values.size - k)[values.size - k])


def top_pruned(stats: ColumnStats, ids: list[int], k: int, num_docs: int, mask: np.ndarray | None) -> list[int] | None:
    """Rows of the k best positive scores among the allowed rows, best first, ties by lower row; None when pruning
    would not pay (see the module docstring). `ids`: the query's token ids in order, repeats included."""
    mult = Counter(ids)
    tokens = list(mult)
    bounds = np.array([mult[t] * stats.bound(t) for t in tokens], dtype=np.float64)
    if np.isnan(bounds).any():
        return None
    order = np.argsort(-bounds, kind="stable")  # highest bound (rarest) first
    rest = np.concatenate([np.cumsum(bounds[order][::-1])[::-1][1:], [0.0]])  # bound of the tokens after each
    lengths = np.array([int(stats.indptr[t + 1] - stats.indptr[t]) for t in tokens], dtype=np.int64)
    # margin on every bound: more than float32's rounding of a sum of len(ids) terms, and float64's
    delta = (len(ids) + 2) * 2.0**-23
    scratch = stats.scratch(num_docs)
    parts: list[np.ndarray] = []
    try:
        survivors, partial, remaining = _essential(stats, tokens, mult, order, rest, lengths, k, mask, delta, scratch, parts)
    finally:
        for rows in parts:
            scratch[rows] = 0.0
    if survivors is None:
        return None
    survivors = _refine(stats, tokens, mult, order, rest, remaining, survivors, partial, k, delta)
    scores = np.zeros(survivors.size, dtype=stats.data.dtype)
    contrib: dict[int, np.ndarray] = {}
    for t in ids:  # in the query's order, in float32: the full pass's sums exactly
        if t not in contrib:
            contrib[t] = stats.lookup(t, survivors)
        scores += contrib[t]
    keep = scores > 0
    rows, scores = survivors[keep], scores[keep]
    top = np.lexsort((rows, -scores))[:k]
    return rows[top].astype(np.int64).tolist()


def _essential(stats: ColumnStats, tokens: list[int], mult: Counter, order: np.ndarray, rest: np.ndarray,
               lengths: np.ndarray, k: int, mask: np.ndarray | None, delta: float, scratch: np.ndarray,
               parts: list[np.ndarray]) -> tuple[Any, Any, int]:
    """Score the highest-bound tokens' lists (float64 partial sums in `scratch`) until the rest's bound cannot
    reach the k-th partial sum. Returns (surviving rows ascending, their partial sums, index in `order` of the
    first token not scored), or (None, None, 0) when pruning does not pay."""
    budget = ESSENTIAL_SHARE_MAX * float(lengths.sum())
    scored, theta, best = 0, 0.0, 0.0
    for j, o in enumerate(order):
        t = tokens[o]
        s, e = int(stats.indptr[t]), int(stats.indptr[t + 1])
        rows = stats.indices[s:e]
        parts.append(rows[scratch[rows] == 0])  # rows first reached by this list (contributions are > 0)
        scratch[rows] += stats.data[s:e].astype(np.float64) * mult[t]
        scored += e - s
        best = max(best, float(scratch[rows].max())) if e > s else best
        if rest[j] * (1 + delta) < best * (1 - delta):  # the bound may now stop: find the k-th partial sum
            cand = np.concatenate(parts)
            allowed = cand if mask is None else cand[mask[cand]]
            theta = _kth(scratch[allowed], k) * (1 - delta)
            if theta > 0 and rest[j] * (1 + delta) < theta:
                keep = (scratch[allowed] + rest[j]) * (1 + delta) >= theta
                survivors = np.sort(allowed[keep])
                return survivors, scratch[survivors].copy(), j + 1
        if scored > budget:
            break
    return None, None, 0


def _refine(stats: ColumnStats, tokens: list[int], mult: Counter, order: np.ndarray, rest: np.ndarray,
            start: int, survivors: np.ndarray, partial: np.ndarray, k: int, delta: float) -> np.ndarray:
    """Add the remaining tokens (highest bound first) to the survivors' partial sums by lookup, dropping the
    rows whose partial sum plus the bound of what is left falls below the k-th partial sum."""
    for j in range(start, len(order)):
        t = tokens[order[j]]
        partial = partial + stats.lookup(t, survivors).astype(np.float64) * mult[t]
        theta = _kth(partial, k) * (1 - delta)
        keep = (partial + rest[j]) * (1 + delta) >= theta
        survivors, partial = survivors[keep], partial[keep]
    return survivors
