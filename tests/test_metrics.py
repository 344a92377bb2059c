"""Each evaluation metric on hand-computed cases (pure functions, no index)."""

from __future__ import annotations

import pytest

from eval.metrics import (
    AbstentionCounts,
    abstention_auc,
    abstention_counts,
    abstention_summary,
    bigram_share,
    citation_scores,
    citation_supports,
    cited_sentences,
    contains_gold,
    exact,
    f1_char,
    f1_jieba,
    f1_tokens,
    gate_failures,
    hit_at,
    hit_rank,
    latency_summary,
    longest_common_substring,
    mrr,
    normalize_answer,
    percentile,
    quotes_held_whole,
    retrieval_summary,
    strip_markers,
    thresholds_from,
)

PASSAGE = "1-7月，财政总收入12.42 亿元，同比下降13.2%；一般公共预算收入3.23亿元，同比下降17.7%。"


# -- retrieval (existing behaviour) ----------------------------------------------------------------------------


def test_hit_rank_whole_quote_and_bigram_fallback():
    quotes = ["财政总收入12.42亿元"]
    held = quotes_held_whole(quotes, [PASSAGE, "别的"])
    assert held == {"财政总收入12.42亿元"}
    ranked = [("无关内容", "text"), (PASSAGE, "text")]
    assert hit_rank(ranked, quotes, held) == 2
    # a quote no chunk holds whole: >= 60% of its bigrams suffice
    assert hit_rank([("财政总收入12.4", "text")], ["财政总收入12.42亿元X"], set()) == 1
    assert bigram_share("abcd", "abxx") == pytest.approx(1 / 3)


def test_hit_at_and_mrr():
    ranks = [1, 3, None, 10]
    assert hit_at(ranks, 1) == 0.25
    assert hit_at(ranks, 3) == 0.5
    assert hit_at(ranks, 10) == 0.75
    assert mrr(ranks) == pytest.approx((1 + 1 / 3 + 0.1) / 4)
    s = retrieval_summary(ranks, [100, 200, 300, 400])
    assert s["hit@5"] == 0.5 and s["context_chars"] == 250.0


# -- answers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("１２.４２ 亿元", "12.42亿"),
        ("12.42亿", "12.42亿"),
        ("13.2％", "13.2%"),
        ("12,748 人", "12748人"),
        ("百分之5", "5%"),
        ("合同外资\t8 亿美元", "合同外资8亿美元"),
        ("答案[1][2]。", "答案。"),
    ],
)
def test_normalize_answer(raw, norm):
    assert normalize_answer(raw) == norm


def test_contains_gold_units_and_width():
    assert contains_gold("1-7月，财政总收入12.42亿元[1]。", ["12.42亿"]) == 1.0
    assert contains_gold("财政总收入12.42亿[1]", ["12.42亿元"]) == 1.0
    assert contains_gold("同比下降１３.２％", ["13.2%"]) == 1.0
    assert contains_gold("累计新增 12 748 人", ["12748人"]) == 1.0
    assert contains_gold("财政总收入12.4亿元", ["12.42亿元"]) == 0.0
    assert contains_gold("anything", []) == 0.0
    assert contains_gold("anything", [""]) == 0.0


def test_lcs_and_f1_char_hand_computed():
    assert longest_common_substring(list("abcde"), list("xbcdy")) == 3
    # gold 12.42亿 (6 chars); answer 财政总收入12.42亿 (11 chars): P=6/11, R=1 -> F1=12/17
    assert f1_char("财政总收入12.42亿元", ["12.42亿元"]) == pytest.approx(12 / 17)
    # punctuation does not count: "“六稳”。" equals "六稳"
    assert f1_char("“六稳”。", ["六稳"]) == 1.0
    # best over gold answers
    assert f1_char("下降17.7%", ["12.42亿元", "17.7%"]) == pytest.approx(2 * (5 / 7) / (5 / 7 + 1))
    assert f1_char("", ["x"]) == 0.0


def test_exact_strips_punctuation_not_decimals():
    assert exact("“六稳”。", ["六稳"]) == 1.0
    assert exact("13.2%", ["13.2％"]) == 1.0
    assert exact("132%", ["13.2%"]) == 0.0
    assert exact("稳就业、稳金融", ["稳就业稳金融"]) == 1.0


def test_f1_tokens_and_jieba():
    assert f1_tokens(["a", "b", "b"], ["b", "c"]) == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert f1_tokens([], ["a"]) == 0.0
    split = lambda s: s.split()  # noqa: E731 - an injected tokenizer keeps the case hand-computable
    assert f1_jieba("x y z", ["y z", "q"], tokenize=split) == pytest.approx(0.8)
    assert f1_jieba("稳就业、稳金融、稳外贸", ["稳就业、稳金融、稳外贸"]) == 1.0


# -- citations -------------------------------------------------------------------------------------------------


def test_cited_sentences_split_on_claims_not_inner_semicolons():
    s = cited_sentences("《甲报告》：问从哪里来；外地返沪必登记[1]；B有2件[2][3]。\n无引用的一句。")
    assert [c.cites for c in s] == [[1], [2, 3], []]
    assert s[0].text.startswith("《甲报告》：问从哪里来；外地返沪必登记")
    assert "[" not in s[1].text
    assert strip_markers("a[1]b【2, 3】") == "ab"


def test_citation_scores_hand_computed():
    passages = {1: PASSAGE, 2: "与此无关的段落。"}
    # sentence 1 cites the right passage (recall ok, precision ok); sentence 2 cites an unrelated one (neither)
    recall, precision = citation_scores("财政总收入12.42亿元[1]；一般公共预算收入3.23亿元[2]。", passages, ["12.42亿元"], [])
    assert (recall, precision) == (0.5, 0.5)
    # evidence quotes count for recall and precision, whitespace deleted
    recall, precision = citation_scores("收入下降了[1]。", {1: "一般公共预算收入 3.23 亿元，同比下降17.7%"}, ["17.7%"],
                                        ["一般公共预算收入3.23亿元，同比下降17.7%"])
    assert (recall, precision) == (1.0, 1.0)
    # a sentence without markers is unsupported; a marker naming no passage is a wrong citation
    assert citation_scores("没有引用。", passages, ["x"], []) == (0.0, 0.0)
    assert citation_scores("财政总收入12.42亿元[9]。", passages, ["12.42亿元"], []) == (0.0, 0.0)
    assert citation_scores("", passages, ["x"], []) == (0.0, 0.0)


def test_citation_supports_needs_figures_and_terms():
    assert citation_supports("财政总收入12.42亿元", PASSAGE, [])
    assert not citation_supports("财政总收入99亿元", PASSAGE, [])  # a figure the passage lacks
    assert not citation_supports("法院受理执行案件", PASSAGE, [])  # no key term there
    assert citation_supports("《某报告》：财政总收入12.42亿元", PASSAGE, [])  # a title prefix is not a claim term


# -- abstention ------------------------------------------------------------------------------------------------


def test_abstention_confusion_counts():
    # (unanswerable, abstained)
    pairs = [(True, True), (True, True), (True, False), (False, True), (False, False), (False, False), (False, False)]
    counts = abstention_counts(pairs)
    assert counts == AbstentionCounts(tp=2, fp=1, fn=1, tn=3)
    s = abstention_summary(counts)
    assert s["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["false_abstain_rate"] == 0.25


def test_abstention_auc_orders_unanswerable_above_answerable_whatever_the_threshold():
    # every unanswerable item above every answerable one: 1.0; one pair out of order of 2 x 2: 0.75
    assert abstention_auc([(True, True, 0.9), (True, False, 0.6), (False, False, 0.5), (False, False, 0.1)]) == 1.0
    assert abstention_auc([(True, True, 0.9), (True, False, 0.3), (False, False, 0.5), (False, False, 0.1)]) == 0.75
    # answered without the abstainer (a comparison): 0; declined without it: 1
    assert abstention_auc([(True, True, None), (True, False, 0.3), (False, False, None), (False, False, 0.5)]) == 0.75
    # undefined without both kinds, or when no item has a probability (a baseline that never abstains)
    assert abstention_auc([(False, False, 0.5), (False, True, 0.9)]) is None
    assert abstention_auc([(True, False, None), (False, False, None)]) is None


def test_abstention_empty_denominators_are_zero():
    assert abstention_summary(abstention_counts([(False, False)])) == {"precision": 0.0, "recall": 0.0, "false_abstain_rate": 0.0}


# -- latency ---------------------------------------------------------------------------------------------------


def test_percentiles_linear_interpolation():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)
    assert percentile([7], 95) == 7
    assert percentile([], 50) == 0.0
    s = latency_summary([10, 20, 30, 40, 50], [1, 2, 3, 4, 5])
    assert s == {"p50": 30.0, "p95": 48.0, "retrieve_p50": 3.0, "retrieve_p95": 4.8}


# -- gate ------------------------------------------------------------------------------------------------------


def test_gate_floors_ceilings_and_missing():
    summary = {"retrieval": {"hit@1": 0.5, "hit@5": 0.9}, "answer": None, "abstention": {"false_abstain_rate": 0.2}}
    thresholds = {
        "_comment": "ignored",
        "retrieval": {"hit@1": 0.6, "hit@5": 0.8},
        "answer": {"contains_gold": 0.4},
        "ceilings": {"abstention": {"false_abstain_rate": 0.1}},
    }
    failures = gate_failures(summary, thresholds)
    assert len(failures) == 3
    assert any("retrieval.hit@1 = 0.5 is under its floor 0.6" in f for f in failures)
    assert any("answer.contains_gold: not measured" in f for f in failures)
    assert any("false_abstain_rate = 0.2 is over its ceiling 0.1" in f for f in failures)
    assert gate_failures(summary, {"retrieval": {"hit@5": 0.85}}) == []


def test_thresholds_from_a_run():
    summary = {"retrieval": {"hit@1": 0.7852, "hit@5": 0.9453, "context_chars": 1700.0}, "answer": None,
               "abstention": {"precision": 0.02, "recall": 0.5, "false_abstain_rate": 0.1406}}
    t = thresholds_from(summary)
    assert t["retrieval"] == {"hit@1": 0.75, "hit@5": 0.91}  # 0.03 below, rounded down; context_chars not gated
    assert "answer" not in t
    assert t["abstention"] == {"precision": 0.0, "recall": 0.47}
    assert t["ceilings"] == {"abstention": {"false_abstain_rate": 0.18}}
    assert gate_failures(summary, t) == []
