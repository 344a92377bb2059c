"""The learned answer models at query time: logistic regressions read from a JSON file, scored with numpy.

The file (`qa_service/data/answer_model.json`, written by `reportqa train-answerer`) holds three models, each
as its feature names, the feature means and scales of the fit, coefficients and intercept:
  ranker     P(a unit holds a gold answer)             over qa_service.answer_features.UNIT_FEATURES
  trimmer    P(a clause window holds the gold answer)  over the same features, windows of the chosen unit
  second     P(the ranker's runner-up holds the answer its best unit does not) over SECOND_FEATURES (optional:
             a file without it never shows a runner-up)
  abstainer  P(the answer is wrong or unanswerable)    over qa_service.answerability.QUESTION_FEATURES,
             with `threshold`: the probability from which the answerer abstains. When it holds `trees` (gradient-
             boosted trees fitted by sklearn's HistGradientBoostingClassifier, exported as arrays), they give the
             probability and its logistic coefficients only name the reason of an abstention. With `stack` as
             well, terms for a few rare yes/no features that the trees' leaves are too large to isolate are added
             to the trees' log-odds (eval.train_answerer.STACKED_FEATURES).
No sklearn is imported here: scoring is a dot product, or a walk down every tree at once with numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

MODEL_VERSION = 1
_PACKAGED = "answer_model.json"


class AnswerModelError(ValueError):
    """A model file that cannot be used: missing, not JSON, or fitted over other features."""


@dataclass(frozen=True)
class Logistic:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of each row of `x` (rows in `features` order)."""
        return ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(x)))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Each feature's share of one row's log-odds (positive: towards the positive class)."""
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.scale * self.coef

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "mean": self.mean.round(6).tolist(),
            "scale": self.scale.round(6).tolist(),
            "coef": self.coef.round(6).tolist(),
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_dict(cls, d: dict, expected: tuple[str, ...]) -> Logistic:
        if tuple(d.get("features", ())) != expected:
            raise AnswerModelError(f"model fitted over features {d.get('features')}, expected {list(expected)}")
        arrays = [np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
        if any(a.shape != (len(expected),) for a in arrays):
            raise AnswerModelError("model arrays do not match its feature list")
        scale = np.where(arrays[1] > 0, arrays[1], 1.0)
        return cls(expected, arrays[0], scale, arrays[2], float(d["intercept"]))


@dataclass(frozen=True)
class Trees:
    """A boosted tree ensemble's log-odds: a baseline plus one leaf value per tree (trees padded to one size;
    a row goes left when its feature is <= the node's threshold)."""

    feature: np.ndarray  # (trees, nodes) int
    threshold: np.ndarray  # (trees, nodes)
    left: np.ndarray  # (trees, nodes) int
    right: np.ndarray  # (trees, nodes) int
    leaf: np.ndarray  # (trees, nodes) bool
    value: np.ndarray  # (trees, nodes)
    baseline: float
    depth: int

    def logit(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        trees = np.arange(self.feature.shape[0])
        node = np.zeros((x.shape[0], trees.size), dtype=np.int64)
        rows = np.arange(x.shape[0])[:, None]
        for _ in range(self.depth):
            go_left = x[rows, self.feature[trees, node]] <= self.threshold[trees, node]
            nxt = np.where(go_left, self.left[trees, node], self.right[trees, node])
            node = np.where(self.leaf[trees, node], node, nxt)
        return self.baseline + self.value[trees, node].sum(axis=1)

    def to_dict(self) -> dict:
        return {
            "baseline": round(self.baseline, 8), "depth": self.depth,
            "feature": self.feature.tolist(), "threshold": self.threshold.tolist(),  # unrounded: a row can equal a threshold
            "left": self.left.tolist(), "right": self.right.tolist(),
            "leaf": self.leaf.astype(int).tolist(), "value": np.round(self.value, 8).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict, n_features: int) -> Trees:
        arrays = {k: np.asarray(d[k]) for k in ("feature", "threshold", "left", "right", "leaf", "value")}
        shape = arrays["feature"].shape
        if len(shape) != 2 or any(a.shape != shape for a in arrays.values()):
            raise AnswerModelError("tree arrays of different shapes")
        if shape[1] and (arrays["feature"].min() < 0 or arrays["feature"].max() >= n_features):
            raise AnswerModelError("a tree reads a feature the model does not have")
        return cls(arrays["feature"].astype(np.int64), arrays["threshold"].astype(np.float64),
                   arrays["left"].astype(np.int64), arrays["right"].astype(np.int64), arrays["leaf"].astype(bool),
                   arrays["value"].astype(np.float64), float(d["baseline"]), int(d["depth"]))


@dataclass(frozen=True)
class Stack:
    """Terms added to the trees' log-odds: log-odds = trees + coef . x[features], for a few rare yes/no features.

    Why: a tree leaf holds at least TREE_PARAMS' min_samples_leaf questions, and a question whose best answer
    states another year than the one asked (`year_clash_best`) is rare in the fitting data (31 of 3,265) though
    five in six of them are unanswerable; no leaf can hold them alone, so the trees ignore the signal. The terms
    leave every other question's probability as the trees give it, so the threshold keeps its meaning."""

    features: tuple[str, ...]
    index: np.ndarray  # the features' columns in the abstainer's feature order
    coef: np.ndarray

    def logit(self, tree_logit: np.ndarray, x: np.ndarray) -> np.ndarray:
        return tree_logit + np.atleast_2d(x)[:, self.index] @ self.coef

    def to_dict(self) -> dict:
        return {"features": list(self.features), "coef": self.coef.round(6).tolist()}

    @classmethod
    def from_dict(cls, d: dict, question_features: tuple[str, ...]) -> Stack:
        features = tuple(d["features"])
        if any(f not in question_features for f in features) or len(d["coef"]) != len(features):
            raise AnswerModelError(f"stacked features {list(features)} do not match the abstainer's")
        index = np.array([question_features.index(f) for f in features], dtype=np.int64)
        return cls(features, index, np.asarray(d["coef"], dtype=np.float64))


@dataclass(frozen=True)
class Abstainer:
    """P(wrong or unanswerable): from the trees when there are any, else from the logistic model, whose
    per-feature contributions name the reason either way."""

    linear: Logistic
    trees: Trees | None = None
    stack: Stack | None = None  # only with trees

    @property
    def features(self) -> tuple[str, ...]:
        return self.linear.features

    def base_logit(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of the trees when there are any, else of the logistic model (without added terms)."""
        return self.linear.logit(x) if self.trees is None else self.trees.logit(x)

    def probability(self, x: np.ndarray) -> np.ndarray:
        if self.trees is None:
            return self.linear.probability(x)
        logit = self.trees.logit(x)
        if self.stack is not None:
            logit = self.stack.logit(logit, x)
        return 1.0 / (1.0 + np.exp(-logit))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        return self.linear.contributions(x)

    def to_dict(self) -> dict:
        return {**self.linear.to_dict(), **({"trees": self.trees.to_dict()} if self.trees is not None else {}),
                **({"stack": self.stack.to_dict()} if self.stack is not None else {})}


@dataclass(frozen=True)
class AnswerModel:
    ranker: Logistic
    trimmer: Logistic
    abstainer: Abstainer
    threshold: float  # abstain when P(wrong or unanswerable) >= threshold
    fit: dict  # how it was fitted (data, sizes, held-out figures): documentation only
    second: Logistic | None = None  # P(the runner-up is needed); None: never show one

    def to_dict(self) -> dict:
        return {
            "version": MODEL_VERSION,
            "ranker": self.ranker.to_dict(),
            "trimmer": self.trimmer.to_dict(),
            **({"second": self.second.to_dict()} if self.second is not None else {}),
            "abstainer": {**self.abstainer.to_dict(), "threshold": round(self.threshold, 6)},
            "fit": self.fit,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def parse_model(data: dict, unit_features: tuple[str, ...], question_features: tuple[str, ...],
                second_features: tuple[str, ...] | None = None) -> AnswerModel:
    if second_features is None:
        from .answer_features import SECOND_FEATURES  # imported here as load_answer_model does: no cycle

        second_features = SECOND_FEATURES
    if data.get("version") != MODEL_VERSION:
        raise AnswerModelError(f"model version {data.get('version')!r}, expected {MODEL_VERSION}")
    if "stack" in data.get("abstainer", {}) and "trees" not in data["abstainer"]:
        raise AnswerModelError("the abstainer's added terms need trees the model does not have")
    try:
        return AnswerModel(
            ranker=Logistic.from_dict(data["ranker"], unit_features),
            trimmer=Logistic.from_dict(data["trimmer"], unit_features),
            abstainer=Abstainer(
                Logistic.from_dict(data["abstainer"], question_features),
                Trees.from_dict(data["abstainer"]["trees"], len(question_features)) if "trees" in data["abstainer"] else None,
                Stack.from_dict(data["abstainer"]["stack"], question_features) if "stack" in data["abstainer"] else None,
            ),
            threshold=float(data["abstainer"]["threshold"]),
            fit=dict(data.get("fit") or {}),
            second=Logistic.from_dict(data["second"], second_features) if "second" in data else None,
        )
    except KeyError as exc:
        raise AnswerModelError(f"model file lacks {exc}") from None


@lru_cache(maxsize=4)
def load_answer_model(path: Path | None) -> AnswerModel:
    """The model in `path` (None: the packaged one), read once per process."""
    from .answer_features import UNIT_FEATURES
    from .answerability import QUESTION_FEATURES

    return parse_model(read_model_json(path), UNIT_FEATURES, QUESTION_FEATURES)


def read_model_json(path: Path | None) -> dict:
    """The JSON of a model file, or of the packaged model when `path` is None."""
    try:
        if path is None:
            text = resources.files("qa_service").joinpath("data", _PACKAGED).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnswerModelError(f"no answer model at {path or 'qa_service/data/' + _PACKAGED}; train one with "
                               "`reportqa train-answerer`") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnswerModelError(f"answer model {path}: not valid JSON ({exc.msg})") from None
