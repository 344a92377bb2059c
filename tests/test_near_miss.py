"""Near-miss questions for the abstainer's fit (eval.near_miss), their folds and weights, and eval.abstain_sweep."""

from __future__ import annotations

import numpy as np
import pytest

from eval.abstain_sweep import sweep
from eval.dataset import EvalItem
from eval.near_miss import Corpus, Passage, near_misses
from eval.train_answerer import NEAR_MISS, QuestionExample, _fold_of, _source_weights, choose_threshold
from qa_service.answer_features import UNIT_FEATURES
from ingest.zh import match_key

TOWN_TEXT = "2020年1-7月，川沙新镇财政总收入12.42亿元，同比下降13.2%。"
DISTRICT_TEXT = "2020年上半年，青浦区区级一般公共预算收入50.1亿元。全区税收收入下降。"


def corpus() -> Corpus:
    return Corpus([
        Passage("town", match_key(TOWN_TEXT), "川沙新镇2020年1-7月工作情况报告"),
        Passage("district", match_key(DISTRICT_TEXT), "青浦区2020年上半年计划执行情况的报告"),
    ])


def items() -> list[EvalItem]:
    return [
        EvalItem("a", "川沙新镇2020年1-7月财政总收入是多少？", ["12.42亿元"], [], "numeric"),
        EvalItem("b", "青浦区上半年区级一般公共预算收入是多少？", ["50.1亿元"], [], "numeric"),
        EvalItem("c", "川沙新镇财政总收入同比下降了多少？", ["13.2%"], [], "numeric"),
        EvalItem("d", "青浦区常住人口有多少？", [], [], "unanswerable"),
    ]


def weights(question: str) -> dict[str, float]:
    terms = ("财政总收入", "一般公共预算收入", "川沙新镇", "青浦区", "常住人口")
    return {t: float(len(t)) for t in terms if t in question}


def made() -> dict[str, list[EvalItem]]:
    out: dict[str, list[EvalItem]] = {}
    for n in near_misses(items(), corpus(), weights):
        out.setdefault(n.kind, []).append(n.item)
        assert n.item.id.startswith(n.origin + "~")
    return out


def test_a_changed_year_is_unanswerable_and_absent_from_the_gold_document():
    (year,) = made()["year"]
    assert year.answers == [] and year.id == "a~year"
    new = year.question.replace("川沙新镇", "")[:4]
    assert new != "2020" and new not in TOWN_TEXT


def test_a_changed_period_never_names_the_same_months():
    periods = made()["period"]
    for item in periods:
        assert item.answers == []
    changed = {i.id: i.question for i in periods}
    # 上半年 is never swapped for 1-6月 or the other way round, and 1-7月 not for a month range the report states
    assert "1-6月" not in changed.get("b~period", "") and "上半年" not in changed.get("b~period", "")
    assert "1-7月" not in changed.get("a~period", "1-8月")


def test_only_answerable_questions_are_changed_and_restating_the_title_year_stays_answerable():
    kinds = made()
    assert all(not i.id.startswith("d~") for v in kinds.values() for i in v)
    restated = {i.id: i for i in kinds.get("restate", [])}
    assert "a~restate" not in restated  # it names a year already
    assert restated["c~restate"].question.startswith("2020年") and restated["c~restate"].answers == ["13.2%"]


def _example(source: str, item_id: str, unanswerable: bool, group: str = "") -> QuestionExample:
    empty = np.zeros((0, len(UNIT_FEATURES)))
    return QuestionExample(source, item_id, unanswerable, None, np.zeros(0), empty, np.zeros(0), group)


def test_near_misses_share_their_origins_fold_and_never_choose_the_threshold():
    base = [_example("s", f"q{i}", i % 3 == 0) for i in range(10)]
    near = [_example("s" + NEAR_MISS, f"q{i}~year", True, group=f"q{i}") for i in range(10)]
    restate = [_example("s" + NEAR_MISS, "q1~restate", False, group="q1")]
    examples = base + near + restate
    n, fold_of = _fold_of(examples)
    assert n == 5 and list(fold_of[:10]) == [i % 5 for i in range(10)]  # as before near misses existed
    assert list(fold_of[10:20]) == list(fold_of[:10]) and fold_of[20] == fold_of[1]
    w = _source_weights(examples, near_miss_weight=0.5)
    assert w["s"] * 10 == pytest.approx(2 * w["s" + NEAR_MISS] * 11)
    p = np.array([0.1] * 10 + [0.9] * 10 + [0.95])
    # the restated near miss at 0.95 would need a threshold above it; the fitting source's answerable are at 0.1
    assert choose_threshold(examples, p, 0.10) < 0.2


def test_sweep_scores_a_threshold_from_never_abstaining_rows():
    rows = [
        {"answers": ["1"], "abstain_probability": 0.2, "metrics": {"contains_gold": 1.0}},
        {"answers": ["2"], "abstain_probability": 0.7, "metrics": {"contains_gold": 1.0}},
        {"answers": [], "abstain_probability": 0.8, "metrics": {}},
        {"answers": [], "abstain_probability": 0.1, "metrics": {}},
    ]
    at_half = sweep(rows, 0.5)
    assert at_half["contains_gold"] == 0.5 and at_half["false_abstention"] == 0.5
    assert at_half["declined_recall"] == 0.5 and at_half["declined_precision"] == 0.5
    assert sweep(rows, 0.9)["contains_gold"] == 1.0
