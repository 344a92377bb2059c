"""Weighted reciprocal-rank fusion (qa_service.fusion.weighted_rrf) on hand-made rankings."""

from __future__ import annotations

import pytest

from qa_service.config import Settings
from qa_service.fusion import weighted_rrf

K = Settings().rrf_k  # the k production fuses with


def test_single_arm_keeps_its_order_and_scores_are_weight_over_k_plus_rank():
    order, scores, ranks = weighted_rrf({"word": [7, 3, 9]}, {"word": 2.0}, K)
    assert order == [7, 3, 9]
    assert scores == {7: 2.0 / (K + 1), 3: 2.0 / (K + 2), 9: 2.0 / (K + 3)}
    assert ranks == {7: {"word": 1}, 3: {"word": 2}, 9: {"word": 3}}


def test_ranks_are_one_based_per_arm():
    _, _, ranks = weighted_rrf({"word": [1, 2], "char": [2, 3], "dense": [3]}, {"word": 1, "char": 1, "dense": 1}, K)
    assert ranks == {1: {"word": 1}, 2: {"word": 2, "char": 1}, 3: {"char": 2, "dense": 1}}


def test_agreement_between_arms_beats_one_arm_first_place():
    order, scores, _ = weighted_rrf({"word": [1, 2], "char": [2, 3]}, {"word": 1.0, "char": 1.0}, K)
    assert order == [2, 1, 3]
    assert scores[2] == pytest.approx(1 / (K + 2) + 1 / (K + 1))


def test_weights_decide_which_arm_leads():
    rankings = {"word": [1, 2], "char": [2, 1]}
    assert weighted_rrf(rankings, {"word": 1.0, "char": 0.5}, K)[0] == [1, 2]
    assert weighted_rrf(rankings, {"word": 0.5, "char": 1.0}, K)[0] == [2, 1]


def test_smaller_k_favours_the_top_ranks():
    # 1 is first in one arm; 2 is fourth in both. A large k flattens ranks, so agreement wins; k=1 does not.
    rankings = {"word": [1, 10, 11, 2], "char": [3, 12, 13, 2]}
    weights = {"word": 1.0, "char": 1.0}
    assert weighted_rrf(rankings, weights, 60)[0][0] == 2
    assert weighted_rrf(rankings, weights, 1)[0][:3] == [1, 3, 2]


def test_zero_weight_arm_adds_nothing_but_its_ranks_are_reported():
    order, scores, ranks = weighted_rrf({"word": [1, 2], "dense": [3, 2]}, {"word": 1.0, "dense": 0.0}, K)
    assert scores == {1: 1 / (K + 1), 2: 1 / (K + 2), 3: 0.0}
    # A candidate only the zero-weight arm found comes last, with its rank kept for the caller.
    assert order == [1, 2, 3]
    assert ranks[3] == {"dense": 1} and ranks[2] == {"word": 2, "dense": 2}


def test_arm_missing_from_weights_counts_as_weight_zero():
    with_zero = weighted_rrf({"word": [1], "char": [2, 1]}, {"word": 1.0, "char": 0.0}, K)
    missing = weighted_rrf({"word": [1], "char": [2, 1]}, {"word": 1.0}, K)
    assert missing == with_zero


def test_ties_break_by_best_single_arm_rank_then_by_id():
    # 2/(K+K+2) == 1/(K+1): id 4, ranked K+2 in a double-weight arm, ties id 9, first in the other arm.
    order, scores, _ = weighted_rrf({"word": [9], "char": [*range(100, 100 + K + 1), 4]}, {"word": 1.0, "char": 2.0}, K)
    assert scores[4] == scores[9]
    assert order.index(9) < order.index(4)  # 9's best rank is 1, 4's is K+2
    # Same score and same best rank: the smaller id first, whatever the input order.
    for rankings in ({"word": [5, 8], "char": [8, 5]}, {"word": [8, 5], "char": [5, 8]}):
        assert weighted_rrf(rankings, {"word": 1.0, "char": 1.0}, K)[0] == [5, 8]


def test_all_zero_scores_order_by_best_rank():
    order, scores, _ = weighted_rrf({"dense": [4, 2, 8]}, {"dense": 0.0}, K)
    assert set(scores.values()) == {0.0}
    assert order == [4, 2, 8]


def test_no_rankings_fuse_to_nothing():
    assert weighted_rrf({}, {"word": 1.0}, K) == ([], {}, {})
    assert weighted_rrf({"word": []}, {"word": 1.0}, K) == ([], {}, {})


def test_the_array_fusion_is_weighted_rrf_bit_for_bit():
    """qa_service.fusion.fuse (the retriever's) gives weighted_rrf's order, scores and ranks exactly, ties included."""
    import random

    from qa_service.fusion import fuse

    rng = random.Random(0)
    for case in range(200):
        arms = rng.sample(["word", "char", "dense", "base", "scope"], rng.randint(1, 3))
        pool = list(range(rng.choice([5, 40, 400])))
        rankings = {a: rng.sample(pool, rng.randint(0, len(pool))) for a in arms}
        weights = {a: rng.choice([0.0, 0.05, 0.5, 1.0, 1.0, 2.0]) for a in arms}
        k = rng.choice([1, 60])
        order, scores, ranks = weighted_rrf(rankings, weights, k)
        f = fuse(rankings, weights, k)
        assert f.rows.tolist() == order, case
        assert f.scores.tolist() == [scores[i] for i in order], case  # equal floats, not approximately
        assert {i: f.ranks_of(i) for i in order} == ranks, case


def test_the_array_fusion_of_an_id_listed_twice_follows_weighted_rrf():
    from qa_service.fusion import fuse

    rankings, weights = {"word": [3, 1, 3], "char": [1]}, {"word": 1.0, "char": 1.0}
    order, scores, ranks = weighted_rrf(rankings, weights, K)
    f = fuse(rankings, weights, K)
    assert f.rows.tolist() == order and f.scores.tolist() == [scores[i] for i in order]
    assert {i: f.ranks_of(i) for i in order} == ranks
