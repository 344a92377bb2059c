"""The learned answer models at query time: logistic regressions read from a JSON file, scored with numpy.

The file (`qa_service/data/answer_model.json`, written by `reportqa train-answerer`) holds three models, each
as its feature names, the feature means and scales of the fit, coefficients and intercept:
  ranker     P(a unit holds a gold answer)             over qa_service.answer_features.UNIT_FEATURES
  trimmer    P(a clause window holds the gold answer)  over the same features, windows of the chosen unit
  abstainer  P(the answer is wrong or unanswerable)    over qa_service.answerability.QUESTION_FEATURES,
             with `threshold`: the probability from which the answerer abstains
No sklearn is imported here: scoring is a dot product.
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
class AnswerModel:
    ranker: Logistic
    trimmer: Logistic
    abstainer: Logistic
    threshold: float  # abstain when P(wrong or unanswerable) >= threshold
    fit: dict  # how it was fitted (data, sizes, held-out figures): documentation only

    def to_dict(self) -> dict:
        return {
            "version": MODEL_VERSION,
            "ranker": self.ranker.to_dict(),
            "trimmer": self.trimmer.to_dict(),
            "abstainer": {**self.abstainer.to_dict(), "threshold": round(self.threshold, 6)},
            "fit": self.fit,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def parse_model(data: dict, unit_features: tuple[str, ...], question_features: tuple[str, ...]) -> AnswerModel:
    if data.get("version") != MODEL_VERSION:
        raise AnswerModelError(f"model version {data.get('version')!r}, expected {MODEL_VERSION}")
    try:
        return AnswerModel(
            ranker=Logistic.from_dict(data["ranker"], unit_features),
            trimmer=Logistic.from_dict(data["trimmer"], unit_features),
            abstainer=Logistic.from_dict(data["abstainer"], question_features),
            threshold=float(data["abstainer"]["threshold"]),
            fit=dict(data.get("fit") or {}),
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
