"""Weighted reciprocal-rank fusion of ranked lists from the retrieval arms.

RRF rather than score mixing: BM25 scores and cosine similarities live on different scales, and
measurement on the tune split shows that a weak arm must be able to contribute only a little (weight 0.1), which a
rank-based fusion expresses directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

_NO_RANK = np.iinfo(np.int64).max  # the best rank of an id no arm has yet


def weighted_rrf(
    rankings: Mapping[str, Sequence[int]],
    weights: Mapping[str, float],
    k: int,
) -> tuple[list[int], dict[int, float], dict[int, dict[str, int]]]:
    """Fuse ranked id lists. Returns (ids best first, fused score per id, 1-based rank per arm per id)."""
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for arm, ids in rankings.items():
        w = weights.get(arm, 0.0)
        for rank, idx in enumerate(ids, start=1):
            ranks.setdefault(idx, {})[arm] = rank
            if w > 0:
                scores[idx] = scores.get(idx, 0.0) + w / (k + rank)
            else:
                scores.setdefault(idx, 0.0)
    # Ties (same fused score) are broken by the best single-arm rank, then by id for determinism.
    order = sorted(scores, key=lambda i: (-scores[i], min(ranks[i].values()), i))
    return order, scores, ranks


@dataclass(frozen=True)
class Fusion:
    """`weighted_rrf`'s result as arrays, for the retriever's hot path: the same order and the same scores.

    rows: ids best first; scores: their fused scores (float64, aligned with rows); ranks: 1-based rank per arm per
    id, looked up only for the passages a query returns."""

    rows: np.ndarray
    scores: np.ndarray
    ranks: Mapping[str, Mapping[int, int]]

    def ranks_of(self, row: int) -> dict[str, int]:
        return {arm: r[row] for arm, r in self.ranks.items() if row in r}


def fuse(rankings: Mapping[str, Sequence[int]], weights: Mapping[str, float], k: int) -> Fusion:
    """`weighted_rrf` in numpy (it was a third of a query's Python work): per id, the arms' w/(k+rank) are added
    in the arms' order starting from 0.0, as weighted_rrf adds them, so scores, ties and order are bit-identical."""
    if any(len(set(ids)) != len(ids) for ids in rankings.values()):  # an id listed twice: weighted_rrf's own rules
        order, scores, ranks = weighted_rrf(rankings, weights, k)
        return Fusion(np.asarray(order, dtype=np.int64), np.array([scores[i] for i in order], dtype=np.float64), ranks_by_arm(ranks))
    lists = {arm: np.asarray(ids, dtype=np.int64) for arm, ids in rankings.items()}
    allids = np.concatenate(list(lists.values())) if lists else np.zeros(0, dtype=np.int64)
    rows = np.unique(allids)
    scores = np.zeros(rows.size, dtype=np.float64)
    best = np.full(rows.size, _NO_RANK, dtype=np.int64)
    for arm, ids in lists.items():
        at = np.searchsorted(rows, ids)
        rank = np.arange(1, ids.size + 1, dtype=np.int64)
        w = weights.get(arm, 0.0)
        if w > 0:
            scores[at] += w / (k + rank)
        best[at] = np.minimum(best[at], rank)
    order = np.lexsort((rows, best, -scores))
    ranks = {arm: dict(zip(ids.tolist(), range(1, ids.size + 1))) for arm, ids in lists.items()}
    return Fusion(rows[order], scores[order], ranks)


def ranks_by_arm(ranks: Mapping[int, Mapping[str, int]]) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = {}
    for idx, per_arm in ranks.items():
        for arm, r in per_arm.items():
            out.setdefault(arm, {})[idx] = r
    return out
