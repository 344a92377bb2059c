"""Weighted reciprocal-rank fusion of ranked lists from the retrieval arms.

RRF rather than score mixing: BM25 scores and cosine similarities live on different scales, and
measurement on the tune split shows that a weak arm must be able to contribute only a little (weight 0.1), which a
rank-based fusion expresses directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


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
