"""Question-level features for the one answerability decision, and the reason given for an abstention.

`QUESTION_FEATURES` summarise the evidence for a question's best answer: the ranker's score of the best unit
and its margin over the runner-up, coverage, answer-type match, time/place agreement, figures of the question
found, intent fit and semantic similarity (of the best unit and the best over all units), whether the best
unit names another year or period than the question's and whether it defines a term the question names,
the retrieval's lead
of its top passage and whether its arms agree on it, the share of question words the corpus never uses, and the
best-sentence yardstick's signals (the best unit's word/dense ranks and shared question bigrams, the most any
unit shares, whether the yardstick would pick the same unit): counts of shared bigrams do not depend on the
corpus's size, where idf-weighted coverage does.
The abstainer (qa_service.answer_model) turns them into P(wrong or unanswerable); the feature that pushed it
furthest towards abstaining is named in `abstain_reason`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from difflib import SequenceMatcher

from ingest.zh import match_key

from .answer_features import UNIT_FEATURES, Featurized, QuestionView, best_sentence_pick, shared_bigrams
from .answer_model import Abstainer, Logistic
from .candidates import AnswerCandidate

QUESTION_FEATURES: tuple[str, ...] = (
    "best_logit", "best_margin", "best_rank_inv",
    "cov_best", "cov_max", "cov_ctx_best", "bigram_best", "bigram_max",
    "type_asked", "type_match_best", "type_any",
    "time_agree_best", "time_agree_max", "place_agree_best", "place_agree_max",
    "figures_best", "figures_max", "intent_fit_best", "intent_fit_any",
    "semantic_best", "semantic_max",
    "ret_margin_top", "arm_agree", "arm_rank_top", "unknown_share", "log_terms",
    "passage_cov_top", "rarest_in_top", "rarest_in_best", "common_run_best", "missing_max_best", "missing_top",
    "gate_place", "gate_figures", "gate_intent", "gate_coverage",
    "word_inv_best", "dense_inv_best", "bigram_log_best", "bigram_log_max", "bs_agree",
    "year_clash_best", "period_clash_best", "defines_asked_best",
)

_COL = {name: i for i, name in enumerate(UNIT_FEATURES)}
_BEST_ONLY = ("year_clash", "period_clash", "defines_asked")  # unit features the abstainer reads of the best unit

_REASONS: dict[str, str] = {
    "best": "no candidate answer scores well",
    "cov": "the passages cover little of the question",
    "bigram": "the passages cover little of the question",
    "type": "no passage states an answer of the asked type",
    "time": "the question's period is not in the passages",
    "place": "the place the question names is not in the passages",
    "figures": "question figures not in the passages",
    "intent": "the passages state no figure for it",
    "semantic": "the passages are not close in meaning to the question",
    "ret": "retrieval found no clearly matching passage",
    "arm": "retrieval found no clearly matching passage",
    "unknown": "the question's words are not in the documents",
    "log": "the question's words are not in the documents",
    "passage": "the passages cover little of the question",
    "rarest": "the question's most specific word is not in the passages",
    "missing": "a specific word of the question is not in the passages",
    "common": "no passage shares a phrase with the question",
    "word": "retrieval found no clearly matching passage",
    "dense": "the passages are not close in meaning to the question",
    "bs": "no passage shares a phrase with the question",
    "year": "the passage states another year than the question's",
    "period": "the passage states another period than the question's",
    "defines": "no candidate answer scores well",
}
_REASONS_BY_NAME: dict[str, str] = {
    "gate_place": "the place the question names is not in the passages",
    "gate_figures": "question figures not in the passages",
    "gate_intent": "the passages state no figure for it",
    "gate_coverage": "the passages cover little of the question",
}
NO_PASSAGE_REASON = "no passage was retrieved"


def question_features(f: Featurized, logits: np.ndarray, best: int) -> np.ndarray:
    """The QUESTION_FEATURES row for one question, given its units' features and ranker log-odds."""
    return np.concatenate([
        _summary(f.qv, f.x, logits, best, f.scores, f.top_ranks),
        _lexical(f.qv, f.units, best),
        np.asarray(f.gates, dtype=np.float64),
        _yardstick(f.qv, f.units, f.x, best),
        f.x[best, [_COL[name] for name in _BEST_ONLY]],
    ])


def _yardstick(qv: QuestionView, units: Sequence[AnswerCandidate], unit_x: np.ndarray, best: int) -> np.ndarray:
    """The best unit's word and dense ranks, its shared question bigrams against the most any unit shares, and
    whether it is the best-sentence yardstick's own pick (two different choices: one of them is likely wrong)."""
    b = unit_x[best]
    shared = np.log1p(shared_bigrams(qv, units))
    return np.array([
        b[_COL["word_inv"]], b[_COL["dense_inv"]], shared[best], shared.max(),
        float(best_sentence_pick(units, unit_x, shared) == best),
    ], dtype=np.float64)


def _lexical(qv: QuestionView, units: Sequence[AnswerCandidate], best: int) -> np.ndarray:
    """How much of the question the top passage holds, whether it and the best unit hold the question's rarest
    term, and the longest run of characters the best unit shares with the question (as a share of it)."""
    q = qv.q
    top = units[0].chunk if units and units[0].rank == 0 else None
    top_text = match_key(" ".join(top.heading_path) + top.text) if top is not None else ""
    unit = units[best]
    best_text = match_key(" ".join(unit.chunk.heading_path) + unit.text)
    rarest = max(q.weights, key=lambda t: q.weights[t]) if q.weights else None
    run = SequenceMatcher(None, q.norm, match_key(unit.text), autojunk=False)
    longest = run.find_longest_match(0, len(q.norm), 0, len(match_key(unit.text))).size
    top_weight = max(q.weights.values(), default=1.0)
    return np.array([
        sum(w for t, w in q.weights.items() if t in top_text) / qv.total,
        float(rarest is not None and rarest in top_text),
        float(rarest is not None and rarest in best_text),
        longest / max(len(q.norm), 1),
        max((w for t, w in q.weights.items() if t not in best_text), default=0.0) / top_weight,
        sum(1 for t in q.weights if t not in top_text) / max(len(q.weights), 1),
    ], dtype=np.float64)


def _summary(
    qv: QuestionView,
    unit_x: np.ndarray,
    logits: np.ndarray,
    best: int,
    scores: Sequence[float],
    top_ranks: dict[str, int | None],
) -> np.ndarray:
    b = unit_x[best]

    def col(name: str) -> np.ndarray:
        return unit_x[:, _COL[name]]

    others = np.delete(logits, best)
    ranks = [r for r in top_ranks.values() if r is not None]
    return np.array([
        logits[best],
        logits[best] - (others.max() if others.size else logits[best] - 5.0),
        b[_COL["rank_inv"]],
        b[_COL["cov_unit"]], col("cov_unit").max(), b[_COL["cov_ctx"]], b[_COL["bigram"]], col("bigram").max(),
        float(qv.atype is not None), b[_COL["type_match"]], col("type_match").max(),
        b[_COL["time_agree"]], col("time_agree").max(), b[_COL["place_agree"]], col("place_agree").max(),
        b[_COL["figures"]], col("figures").max(), b[_COL["intent_fit"]], col("intent_fit").max(),
        b[_COL["semantic"]], col("semantic").max(),
        (scores[0] - scores[1]) if len(scores) > 1 else (scores[0] if scores else 0.0),
        float(bool(ranks) and all(r == 1 for r in ranks)),
        float(np.mean([1.0 / r for r in ranks])) if ranks else 0.0,
        qv.unknown_share,
        math.log1p(len(qv.q.terms)),
    ], dtype=np.float64)


def abstain_reason(model: Abstainer | Logistic, x: np.ndarray) -> str:
    """The feature that pushed P(wrong or unanswerable) up the most, in words."""
    contrib = model.contributions(x)
    name = model.features[int(np.argmax(contrib))]
    return _REASONS_BY_NAME.get(name) or _REASONS.get(name.split("_")[0], "the evidence is weak")
