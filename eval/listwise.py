"""A listwise answer ranker: a conditional logit (softmax over one question's units) with an L2 penalty.

The pointwise ranker (eval.train_answerer.fit_logistic) learns P(a unit holds gold) over all units of all
questions at once, so it spends its capacity telling easy units of one question from hard units of another. The
answerer only ever compares units *of one question* (argmax), so the conditional logit fits that comparison:
for question q with units i and standardised features z_i, P(i | q) = exp(w·z_i) / sum_j exp(w·z_j), and the
likelihood of q is the probability mass of its gold-holding units (several units may hold the gold). Questions
without a gold unit carry no information about ranking and are skipped.

Hand-written because neither sklearn nor statsmodels fits a conditional logit with sample weights and an L2
penalty on thousands of variable-size groups; the objective and its gradient are a few lines of numpy and
scipy.optimize's L-BFGS minimises them (deterministic: zero start, fixed data order).
The result is linear in the features, so it is stored as a `Logistic` and scored unchanged; its scale and
intercept are then calibrated to P(a unit holds gold) (`calibrate`), which changes no ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize

from qa_service.answer_model import Logistic

DEFAULT_L2 = 1000.0  # (lambda/2)*|w|^2 against a loss summed over questions (weighing ~1 each): chosen out of fold (README)


def _group_logsumexp(s: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group (contiguous rows from each start): log sum exp(s), and each row's softmax within its group."""
    top = np.maximum.reduceat(s, starts)
    sizes = np.diff(np.append(starts, len(s)))
    e = np.exp(s - np.repeat(top, sizes))
    total = np.add.reduceat(e, starts)
    return top + np.log(total), e / np.repeat(total, sizes)


def fit_listwise(
    xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], weights: Sequence[float], names: tuple[str, ...],
    l2: float = DEFAULT_L2,
) -> Logistic:
    """The conditional logit over questions (units `xs[q]`, gold flags `ys[q]`, question weight `weights[q]`)."""
    keep = [q for q in range(len(xs)) if len(ys[q]) and np.any(np.asarray(ys[q]) > 0)]
    n = len(names)
    if not keep:
        return Logistic(names, np.zeros(n), np.ones(n), np.zeros(n), 0.0)
    x = np.vstack([xs[q] for q in keep]).astype(np.float64)
    gold = np.concatenate([np.asarray(ys[q]) > 0 for q in keep])
    sizes = np.array([len(ys[q]) for q in keep])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    wq = np.array([weights[q] for q in keep], dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    # the gold rows only, grouped by question: their log-sum-exp is the log of the gold mass's numerator
    g_rows = np.flatnonzero(gold)
    g_group = np.repeat(np.arange(len(keep)), sizes)[g_rows]
    g_starts = np.flatnonzero(np.r_[True, g_group[1:] != g_group[:-1]])
    unit_w = np.repeat(wq, sizes)
    gold_w = wq[g_group]

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ w
        lse_all, p_all = _group_logsumexp(s, starts)
        lse_gold, p_gold = _group_logsumexp(s[g_rows], g_starts)
        loss = float(wq @ (lse_all - lse_gold)) + 0.5 * l2 * float(w @ w)
        grad = (unit_w * p_all) @ z - (gold_w * p_gold) @ z[g_rows] + l2 * w
        return loss, grad

    res = minimize(objective, np.zeros(n), jac=True, method="L-BFGS-B", options={"maxiter": 1000, "gtol": 1e-8})
    # Calibrated on every unit of every question given (those without gold too): the order stays the softmax's
    all_x = np.vstack([np.atleast_2d(xq) for xq in xs if len(xq)])
    all_y = np.concatenate([np.asarray(yq, dtype=np.float64) for yq in ys if len(yq)])
    all_w = np.concatenate([np.full(len(ys[q]), weights[q], dtype=np.float64) for q in range(len(xs)) if len(ys[q])])
    a, b = calibrate(((all_x - mean) / scale) @ res.x, all_y, all_w)
    return Logistic(names, mean, scale, (a * res.x).astype(np.float64), b)


def calibrate(s: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(a, b) with sigmoid(a*s + b) ~ P(a unit holds gold), a > 0 (Platt scaling, sklearn's logistic regression).

    The conditional logit fixes only differences of scores within a question; the abstainer and the runner-up
    model read the best unit's score as a confidence across questions, as they read the pointwise ranker's log-odds."""
    from sklearn.linear_model import LogisticRegression

    if len(set(y.tolist())) < 2 or not np.ptp(s):
        return 1.0, 0.0
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(s[:, None], y, sample_weight=w)
    a = float(lr.coef_[0, 0])
    return (a, float(lr.intercept_[0])) if a > 0 else (1.0, 0.0)


def blend(a: Logistic, b: Logistic, weight: float) -> Logistic:
    """(1-weight)*a + weight*b as one linear scorer over `a`'s standardisation (both are log-odds of one event)."""
    raw = (1 - weight) * a.coef / a.scale + weight * b.coef / b.scale
    intercept = (1 - weight) * (a.intercept - a.mean / a.scale @ a.coef) + weight * (b.intercept - b.mean / b.scale @ b.coef)
    return Logistic(a.features, a.mean, a.scale, raw * a.scale, float(intercept + a.mean @ raw))
