"""The listwise (conditional logit) answer ranker of eval.listwise."""

from __future__ import annotations

import numpy as np
import pytest

from eval.listwise import blend, fit_listwise
from eval.train_answerer import fit_ranker

NAMES = ("signal", "noise", "level")


def _toy(n_questions: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Questions of 6 units; the gold unit has the highest `signal` of its question, but `signal` levels differ
    so much between questions (column `level` shifts a whole question) that many non-gold units of one question
    outscore the gold units of another: only the within-question comparison separates them."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(n_questions):
        shift = rng.uniform(-5, 5)
        signal = rng.uniform(0, 1, 6) + shift
        gold = int(rng.integers(6))
        signal[gold] = signal.max() + 0.2
        xs.append(np.column_stack([signal, rng.normal(size=6), np.full(6, shift)]))
        y = np.zeros(6)
        y[gold] = 1.0
        ys.append(y)
    return xs, ys


def test_listwise_ranks_a_separable_toy_set_right_out_of_sample():
    xs, ys = _toy(200, seed=1)
    model = fit_listwise(xs, ys, [1.0] * len(xs), NAMES, l2=1.0)
    test_x, test_y = _toy(100, seed=2)
    top = [y[int(np.argmax(model.logit(x)))] for x, y in zip(test_x, test_y)]
    assert np.mean(top) == 1.0
    assert model.coef[NAMES.index("signal")] > abs(model.coef[NAMES.index("noise")])


def test_listwise_fit_is_deterministic_and_skips_questions_without_gold():
    xs, ys = _toy(60, seed=3)
    w = [1.0] * len(xs)
    a = fit_listwise(xs, ys, w, NAMES)
    b = fit_listwise(xs, ys, w, NAMES)
    assert np.array_equal(a.coef, b.coef) and a.intercept == b.intercept
    # a question with no gold unit tells nothing about ranking: the direction of the scorer is unchanged
    no_gold = fit_listwise([*xs, np.ones((4, 3))], [*ys, np.zeros(4)], [*w, 1.0], NAMES)
    assert np.allclose(no_gold.coef / np.linalg.norm(no_gold.coef), a.coef / np.linalg.norm(a.coef), atol=1e-3)


def test_listwise_scores_are_calibrated_log_odds():
    xs, ys = _toy(200, seed=4)
    model = fit_listwise(xs, ys, [1.0] * len(xs), NAMES)
    p = np.concatenate([model.probability(x) for x in xs])
    y = np.concatenate(ys)
    # one gold unit in six: the calibrated probabilities average to about the base rate, and gold units score higher
    assert abs(p.mean() - y.mean()) < 0.05
    assert p[y > 0].mean() > p[y == 0].mean()


def test_an_unknown_ranker_is_refused():
    with pytest.raises(ValueError, match="unknown ranker"):
        fit_ranker([], {}, "gradient")


def test_a_blend_scores_as_the_weighted_mean_of_both_models():
    xs, ys = _toy(50, seed=5)
    listwise = fit_listwise(xs, ys, [1.0] * len(xs), NAMES)
    x = np.vstack(xs)
    other = type(listwise)(NAMES, x.mean(axis=0), x.std(axis=0), np.array([0.5, -1.0, 2.0]), -1.5)
    mixed = blend(other, listwise, 0.75)
    assert np.allclose(mixed.logit(x), 0.25 * other.logit(x) + 0.75 * listwise.logit(x))
