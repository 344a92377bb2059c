"""Exact BM25 top-k without reading every posting: MaxScore pruning over the CSC arrays, vectorised in numpy.

Why: at 1M chunks a question's common characters (的, 年, 区) have posting lists as long as the corpus, and
scoring them all cost most of a query. Their contributions are small (a low idf), so a row that only has them
cannot reach the k-th best score: MaxScore (Turtle & Flood 1995) scores the high-idf ("essential") tokens'
lists, bounds every other row by the sum of the remaining tokens' largest contributions, and looks the
remaining tokens up only for the rows that survive the bound. No maintained library does this over bm25s's
arrays (bm25s scores every posting; pyserini needs a JVM and its own index), hence the hand-written pass.

The result is exactly the full pass's `top_rows`: bounds carry a margin larger than float32 rounding, and the
survivors' final scores are added in the query's token order in float32, as the full pass adds them
(`PostingLists._dense`), so scores and ties are bit-identical (tests compare them). When pruning does not pay
(half the postings scored and the rest could still lift an unscored row, or too few rows score), `top_pruned` returns None and the caller runs
the full pass.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy.sparse import csc_array

# The highest-bound tokens holding these shares of the postings are scored in full, in steps, until the rest cannot
# reach the k-th partial sum; past the last step the full pass is cheaper.
ESSENTIAL_SHARES = (0.1, 0.25, 0.5)
SEARCH_PER_SCATTER = 8  # a binary search per looked-up row costs about this many postings scattered


class ColumnStats:
    """Per token, computed on first use and kept: its largest contribution and whether its rows ascend."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray) -> None:
        self.data, self.indices, self.indptr = data, indices, indptr
        n = max(len(indptr) - 1, 0)
        self._max = np.full(n, np.nan, dtype=np.float64)
        self._sorted = np.zeros(n, dtype=np.int8)  # 0 unknown, 1 ascending, -1 not (then no pruning)

    def bound(self, t: int) -> float:
        """The largest contribution of token t, or NaN when its rows are not ascending (lookups need them)."""
        if np.isnan(self._max[t]):
            s, e = int(self.indptr[t]), int(self.indptr[t + 1])
            rows = self.indices[s:e]
            self._sorted[t] = 1 if rows.size < 2 or bool(np.all(rows[1:] > rows[:-1])) else -1
            self._max[t] = float(self.data[s:e].max()) if e > s else 0.0
        return float("nan") if self._sorted[t] < 0 else float(self._max[t])

    def lookup(self, t: int, rows: np.ndarray) -> np.ndarray:
        """Token t's float32 contribution for each of the ascending `rows` (0 where it does not occur)."""
        s, e = int(self.indptr[t]), int(self.indptr[t + 1])
        col = self.indices[s:e]
        out = np.zeros(rows.size, dtype=self.data.dtype)
        if e == s or rows.size == 0:
            return out
        if rows.size * SEARCH_PER_SCATTER > e - s:
            # many rows: scatter the list into a row-indexed array and gather (a pass over the list beats a
            # binary search per row)
            dense = np.zeros(int(max(col[-1], rows.max())) + 1, dtype=self.data.dtype)
            dense[col] = self.data[s:e]
            return dense[rows]
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
    lengths = np.array([int(stats.indptr[t + 1] - stats.indptr[t]) for t in tokens], dtype=np.int64)[order]
    # margin on every bound: more than float32's rounding of a sum of len(ids) terms (partial sums included)
    delta = (len(ids) + 2) * 2.0**-23
    first = _essential(stats, [tokens[o] for o in order], mult, rest, lengths, k, num_docs, mask, delta)
    if first is None:
        return None
    survivors, partial, start = first
    survivors = _refine(stats, [tokens[o] for o in order], mult, rest, start, survivors, partial, k, delta)
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


def _partial(stats: ColumnStats, tokens: list[int], mult: Counter, num_docs: int) -> np.ndarray:
    """Float32 partial sums of the tokens' contributions per row (any order: bounds only), one C pass."""
    indptr = stats.indptr
    spans = [(int(indptr[t]), int(indptr[t + 1])) for t in tokens]
    cols = np.concatenate([[0], np.cumsum([e - s for s, e in spans])]).astype(np.int64)
    rows = np.concatenate([stats.indices[s:e] for s, e in spans])
    vals = np.concatenate([stats.data[s:e] for s, e in spans])
    weights = np.array([mult[t] for t in tokens], dtype=stats.data.dtype)
    return np.asarray(csc_array((vals, rows, cols), shape=(num_docs, len(tokens))) @ weights, dtype=stats.data.dtype)


def _essential(stats: ColumnStats, tokens: list[int], mult: Counter, rest: np.ndarray, lengths: np.ndarray, k: int,
               num_docs: int, mask: np.ndarray | None, delta: float) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Score the highest-bound tokens (those holding the first ESSENTIAL_SHARES of the postings, in bound order),
    take the k-th partial sum as the threshold, and keep the rows the remaining tokens' bound could lift to it.
    Returns (surviving rows ascending, their partial sums, index of the first token not scored), or None."""
    cum = np.cumsum(lengths)
    i, j, theta, partial = 0, 0, 0.0, np.zeros(num_docs, dtype=stats.data.dtype)
    for share in ESSENTIAL_SHARES:
        # score up to the token holding this share of the postings; the rows touched so far give the threshold
        j = min(max(int(np.searchsorted(cum, share * float(cum[-1]))) + 1, j + 1), len(tokens))
        if j == i:
            break  # every token is scored: nothing to prune
        partial += _partial(stats, tokens[i:j], mult, num_docs)
        i = j
        touched = np.flatnonzero(partial)
        allowed = touched if mask is None else touched[mask[touched]]
        theta = _kth(partial[allowed], k) * (1 - delta)
        if theta > 0 and rest[j - 1] * (1 + delta) < theta:
            break  # the tokens left cannot lift an unscored row to the threshold
    if not (theta > 0 and rest[j - 1] * (1 + delta) < theta):
        return None  # the rarer tokens do not settle the threshold: the full pass is the cheaper one
    keep = (partial[allowed].astype(np.float64) + rest[j - 1]) * (1 + delta) >= theta
    survivors = allowed[keep]
    return survivors, partial[survivors].astype(np.float64), j


def _refine(stats: ColumnStats, tokens: list[int], mult: Counter, rest: np.ndarray, start: int,
            survivors: np.ndarray, partial: np.ndarray, k: int, delta: float) -> np.ndarray:
    """Add the remaining tokens (highest bound first) to the survivors' partial sums by lookup, dropping the
    rows whose partial sum plus the bound of what is left falls below the k-th partial sum."""
    for j in range(start, len(tokens)):
        t = tokens[j]
        partial = partial + stats.lookup(t, survivors).astype(np.float64) * mult[t]
        theta = _kth(partial, k) * (1 - delta)
        keep = (partial + rest[j]) * (1 + delta) >= theta
        survivors, partial = survivors[keep], partial[keep]
    return survivors
