"""The learned answerer's runner-up: shown beside the best unit when the ranker is unsure, never a repeat of it."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from qa_service.answer_features import SECOND_FEATURES, UNIT_FEATURES, Evidence, Featurized, question_view, runner_up, second_features
from qa_service.answer_model import Logistic, load_answer_model, parse_model
from qa_service.answerability import QUESTION_FEATURES
from qa_service.candidates import units
from qa_service.config import Settings
from qa_service.question import analyze
from qa_service.ranked import RankedAnswerer

from test_answer_model import chunk, tokenize  # noqa: F401  (the fixture)

BODY = "黄浦江全长113公里。淀山湖是上海最大的淡水湖。苏州河全长125公里。"


def _second_model(intercept: float) -> Logistic:
    n = len(SECOND_FEATURES)
    coef = np.zeros(n)
    coef[SECOND_FEATURES.index("margin")] = -1.0  # a small margin: the runner-up is more likely needed
    return Logistic(SECOND_FEATURES, np.zeros(n), np.ones(n), coef, intercept)


def _answerer(intercept: float, second_at: float = 0.1, other_at: float = 0.25) -> RankedAnswerer:
    packaged = load_answer_model(None)
    model = dataclasses.replace(packaged, second=_second_model(intercept))
    config = dataclasses.replace(Settings().ranked_config(), second_at=second_at, second_other_at=other_at)
    return RankedAnswerer(model, config, None, None)


def _featurized(tokenize, logits: np.ndarray) -> Featurized:  # noqa: F811
    qv = question_view(analyze("黄浦江和苏州河全长多少公里？", tokenize))
    cands = units([chunk(BODY)])
    assert len(cands) == 3
    # the fitted ranker is replaced by one reading the first feature: x[:, 0] is each unit's log-odds
    x = np.zeros((len(cands), len(UNIT_FEATURES)))
    x[:, 0] = logits
    return Featurized(qv, cands, x, Evidence([1.0], {}, {}, {}), [1.0], {}, (0.0, 0.0, 0.0, 0.0))


def _identity_ranker(answerer: RankedAnswerer) -> RankedAnswerer:
    n = len(UNIT_FEATURES)
    coef = np.zeros(n)
    coef[0] = 1.0
    ranker = Logistic(UNIT_FEATURES, np.zeros(n), np.ones(n), coef, 0.0)
    answerer.model = dataclasses.replace(answerer.model, ranker=ranker)
    return answerer


def test_runner_up_skips_units_that_repeat_the_best():
    passage = chunk(BODY)
    cands = units([passage, chunk(BODY, start=100)])  # an overlapping chunk repeats the same sentences
    logits = np.array([3.0, 1.0, 2.0, 2.9, 0.5, 0.4])
    # unit 3 is unit 0's sentence again (another chunk): the runner-up is the next distinct sentence, unit 2
    assert runner_up(cands, logits, 0) == 2
    assert runner_up(cands[:1], logits[:1], 0) is None


def test_an_unsure_ranker_shows_its_runner_up_in_text_order(tokenize):  # noqa: F811
    f = _featurized(tokenize, np.array([0.0, -3.0, 0.2]))  # the last sentence narrowly first
    unsure = _identity_ranker(_answerer(intercept=0.0))
    shown = unsure._shown_units(f, 2)
    # two units of one passage read in text order
    assert [u.text for u in shown] == ["黄浦江全长113公里。", "苏州河全长125公里。"]
    sure = _identity_ranker(_answerer(intercept=-10.0))
    assert [u.text for u in sure._shown_units(f, 2)] == ["苏州河全长125公里。"]
    off = _identity_ranker(_answerer(intercept=0.0, second_at=1.0, other_at=1.0))
    assert len(off._shown_units(f, 2)) == 1


def test_a_runner_up_of_another_passage_has_its_own_threshold(tokenize):  # noqa: F811
    f = _featurized(tokenize, np.array([0.0, -3.0, 0.2]))
    moved = units([chunk("黄浦江全长113公里。", start=900), chunk("苏州河全长125公里。", start=100)])
    f = dataclasses.replace(f, units=moved, x=f.x[[0, 2]])
    # P(runner-up needed) = 1/(1+e^0.2) ~ 0.45: under a 0.5 threshold for another passage, over a 0.4 one
    assert len(_identity_ranker(_answerer(intercept=0.0, other_at=0.5))._shown_units(f, 1)) == 1
    shown = _identity_ranker(_answerer(intercept=0.0, other_at=0.4))._shown_units(f, 1)
    assert [u.text for u in shown] == ["苏州河全长125公里。", "黄浦江全长113公里。"]  # passages in the ranker's order


def test_second_features_and_the_model_file_round_trip(tokenize, tmp_path):  # noqa: F811
    f = _featurized(tokenize, np.array([2.0, -1.0, 0.5]))
    row = dict(zip(SECOND_FEATURES, second_features(f.units, np.array([2.0, -1.0, 0.5]), 0, 2)))
    assert row["margin"] == 1.5 and row["same_passage"] == 1.0 and row["top_p"] > row["second_p"]
    model = dataclasses.replace(load_answer_model(None), second=_second_model(-1.0))
    path = tmp_path / "model.json"
    model.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    again = parse_model(data, UNIT_FEATURES, QUESTION_FEATURES)
    assert again.second is not None and again.second.intercept == -1.0
    del data["second"]  # a model file from before the runner-up: it never shows one
    assert parse_model(data, UNIT_FEATURES, QUESTION_FEATURES).second is None
