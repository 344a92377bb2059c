"""Which of two figures a comparison question picks, and whether two figures agree: the question's reading
(ingest.zh.comparison), the computed clause's verdict (qa_service.comparison) and its re-check by the verifier
(citations.computation_holds), on tiny passages and through POST /v1/ask over the shipped reports."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ingest.zh.comparison import Asked, agrees, asked_verdict, change_sign, is_change, winner
from qa_service.citations import computation_holds, verify
from qa_service.claims import Claim, Computation, Verdict, render, verdict_text
from qa_service.config import Settings
from tests.test_comparison import BUDGET, CRIMINAL, PROSECUTOR, ask, chunk, tokenize  # noqa: F401 (fixture)


def test_which_and_whether_questions_are_read():
    more = asked_verdict("A和B，哪个更多？")
    assert more is not None and more.kind == "which" and more.larger and more.wording == "更多" and not more.change
    spent = asked_verdict("A和B哪个花得多？")
    assert spent is not None and spent.wording == "花得更多"  # the comparative marker is added
    fall = asked_verdict("A和B，哪个同比降得更多？")
    assert fall is not None and fall.change == "fall" and fall.larger
    low = asked_verdict("A和B谁的降幅小？")
    assert low is not None and not low.larger and low.wording == "降幅更小"
    for question in ("两份报告说的一样吗？", "两份报告的数字是否一致？", "A和B相同吗"):
        found = asked_verdict(question)
        assert found is not None and found.kind == "agree", question
    assert asked_verdict("青浦区上半年财政收入是多少？") is None
    assert asked_verdict("A和B加起来有多少？") is None


def test_the_winner_follows_the_direction_and_the_changes_sign():
    more, less = Asked("which", "更多"), Asked("which", "更少", larger=False)
    assert winner(more, "714", "630", Decimal(1)) == 0 and winner(less, "714", "630", Decimal(1)) == 1
    assert winner(more, "12.42", "2071889", Decimal("0.0001")) == 1  # 12.42亿元 < 207.19亿元
    assert winner(more, "5", "5", Decimal(1)) is None
    fall = Asked("which", "降得更多", change="fall")
    assert winner(fall, "17.7", "8.1", Decimal(1), (-1, -1)) == 0  # the larger of two declines
    assert winner(fall, "17.7", "8.1", Decimal(1), (1, -1)) == 1  # a rise is no decline
    assert change_sign("同比下降") == -1 and change_sign("同比增长") == 1 and change_sign("完成") == 1


def test_agreement_after_unit_normalisation():
    assert agrees("207.19", "2071889", Decimal("0.0001"))  # 207.19亿元 and 2071889万元
    assert not agrees("2.3", "2.38", Decimal(1))
    assert not agrees("44.8", "38.5", Decimal(1))


def test_a_which_answer_names_the_mention_with_the_larger_figure(tokenize):
    question = "上半年青浦检察院向法院提起公诉的案件数和青浦法院受理的刑事案件数，哪个更多？"
    draft = ask(question, [PROSECUTOR, CRIMINAL], tokenize)
    assert draft is not None
    text, _ = render(verify(draft, [PROSECUTOR, CRIMINAL], tokenize, Settings().citation_min_support), {})
    assert "（据[1][2]计算：上半年青浦检察院向法院提起公诉的案件数更多，相差84件）" in text
    fewer = ask("青浦检察院向法院提起公诉的案件数和青浦法院受理的刑事案件数，哪个更少？", [PROSECUTOR, CRIMINAL], tokenize)
    assert fewer is not None
    text, _ = render(verify(fewer, [PROSECUTOR, CRIMINAL], tokenize, Settings().citation_min_support), {})
    assert "青浦法院受理的刑事案件数更少" in text


def test_two_figures_in_one_sentence_compared_as_changes(tokenize):
    income = chunk("inc", "川沙新镇政府上半年工作情况报告", "1-7月，财政总收入12.42亿元，同比下降13.2%，一般公共预算收入3.23亿元，同比下降17.7%。")
    draft = ask("1-7月财政总收入和一般公共预算收入，哪个同比降得更多？", [income], tokenize)
    assert draft is not None
    text, _ = render(verify(draft, [income], tokenize, Settings().citation_min_support), {})
    assert "13.2%" in text and "17.7%" in text
    assert "一般公共预算收入同比降得更多，相差4.5个百分点" in text


def test_changes_are_compared_only_with_changes(tokenize):
    town = chunk("town", "川沙新镇政府上半年工作情况报告", "1-7月，一般公共预算收入3.23亿元，同比下降17.7%。")
    district = chunk("dist", "青浦区2019年财政决算报告", "2019年，全区一般公共预算收入2071889万元，为预算的94.5%。")
    question = "1-7月一般公共预算收入和2019年全区一般公共预算收入，哪个同比降得更多？"
    draft = ask(question, [town, district], tokenize)
    # 94.5% of the budget is no change: no verdict, no difference of a decline and a share
    text = render(verify(draft, [town, district], tokenize, Settings().citation_min_support), {})[0] if draft else ""
    assert "降得更多" not in text and "76.8" not in text
    assert is_change("同比下降") and is_change("增长") and not is_change("全区一般公共预算收入2071889万元，为预算的")


def test_an_agreement_question_says_whether_they_agree(tokenize):
    draft = ask("2019年青浦区本级的教育支出和农林水支出一样吗？", [BUDGET], tokenize)
    assert draft is not None
    text, _ = render(verify(draft, [BUDGET], tokenize, Settings().citation_min_support), {})
    assert "两者不一致，相差22965万元" in text


AUDIT = chunk("audit", "审计工作报告", "2019年，全区一般公共预算收入207.19亿元，增长2.01%。")
FINAL = chunk("final", "财政决算报告", "2019年，全区一般公共预算收入2071889万元，增长2.0%。")


def agreement_claim(agree: bool, text: str | None = None) -> Claim:
    verdict = Verdict(Asked("agree"), agree=agree)
    calc = Computation("difference", ("207.19", "2071889"), "", "0.0001", verdict)
    return Claim(text=text or verdict_text(verdict), sources=[AUDIT, FINAL], quotes=["", ""], computed=calc)


def which_claim(picked: int, signs=(1, 1), asked: Asked = Asked("which", "更多"), text: str | None = None) -> Claim:
    verdict = Verdict(asked, ("公诉案件数", "刑事案件数"), signs, winner=picked)
    body = text or f"{verdict_text(verdict)}，相差84件"
    calc = Computation("difference", ("714", "630"), "84", "1", verdict)
    return Claim(text=body, sources=[PROSECUTOR, CRIMINAL], quotes=["", ""], computed=calc)


def test_the_verifier_accepts_a_right_verdict_and_rejects_a_wrong_one():
    assert computation_holds(which_claim(0))
    assert not computation_holds(which_claim(1))  # 630 is not the larger
    assert computation_holds(which_claim(1, asked=Asked("which", "更少", larger=False)))
    assert not computation_holds(which_claim(0, text="刑事案件数更多，相差84件"))  # the text names the other
    assert computation_holds(agreement_claim(True))
    assert not computation_holds(agreement_claim(False))
    assert not computation_holds(agreement_claim(True, text="两者不一致"))
    # A wrong verdict is dropped from the answer and reported unsupported.
    figure = Claim(text="向法院提起公诉714件", sources=[PROSECUTOR], quotes=["向法院提起公诉714件"])
    from qa_service.claims import DraftAnswer

    tok = lambda s: list(s)  # noqa: E731 (the figure claim's support is not what is tested)
    kept = verify(DraftAnswer(claims=[figure, which_claim(1)]), [PROSECUTOR, CRIMINAL], tok, 0.0)
    assert [c.computed for c in kept.claims] == [None] and kept.unsupported == [which_claim(1).text]


def test_which_and_agreement_through_the_api(api):
    with api.client() as c:
        fewer = c.post("/v1/ask", json={"question": "2019年青浦区本级的公务接待费和因公出国（境）费，哪个更少？"})
        differ = c.post("/v1/ask", json={"question": "2019年青浦区本级的教育支出和农林水支出一样吗？"})
    assert fewer.status_code == 200 and differ.status_code == 200
    body = fewer.json()
    computed = re.search(r"（据(\[\d\])+计算：([^）]*)）", body["answer"])
    assert computed is not None and "公务接待费更少" in computed.group(2)
    figures = {m for c in body["citations"] for m in re.findall(r"(\d+)万元", c["quote"])}
    assert {"375", "399"} <= figures  # both figures quoted, each one from a cited passage
    assert "两者不一致" in differ.json()["answer"]


def test_a_computed_clause_follows_a_figure_recited_to_another_passage(tokenize):
    from qa_service.claims import DraftAnswer

    row = chunk("row", "计划执行情况报告", "表1 序号5 指标 450")  # holds the number, not the figure's words
    target = chunk("target", "计划执行情况报告", "全社会固定资产投资年初预期目标450亿元。")
    done = chunk("done", "区政府工作报告", "全社会固定资产投资241.5亿元，增长1.4%。")
    first = Claim(text="全社会固定资产投资年初预期目标450亿元", sources=[row], quotes=[""])
    second = Claim(text="全社会固定资产投资241.5亿元", sources=[done], quotes=["全社会固定资产投资241.5亿元"])
    calc = Claim(text="相差208.5亿元", sources=[row, done], quotes=["", ""],
                 computed=Computation("difference", ("450", "241.5"), "208.5"))
    kept = verify(DraftAnswer(claims=[first, second, calc]), [target, row, done], tokenize, Settings().citation_min_support)
    assert [c.id for c in kept.claims[0].sources] == ["target"]
    assert [c.id for c in kept.claims[2].sources] == ["target", "done"]
    text, citations = render(kept, {})
    assert "（据[1][2]计算：相差208.5亿元）" in text and len(citations) == 2


ARRESTS = chunk("arr", "青浦区人民检察院2020年上半年工作报告",
                "上半年，我院共受理移送审查批捕案件500件730人，同比分别下降41.7%、40.7%，批准逮捕638人，同比下降33.5%。")


def test_figures_after_respectively_pair_with_the_figures_before():
    from ingest.zh.comparison import respective_figures

    text = ARRESTS.text
    paired = {text[k : k + 5]: f"{v.value}{v.unit}" for k, v in respective_figures(text, 0, len(text)).items()}
    assert paired == {"41.7%": "500件", "40.7%": "730人"}
    single = "批准逮捕638人，同比下降33.5%。"
    assert respective_figures(single, 0, len(single)) == {}


def test_a_change_is_read_for_the_count_the_question_names(tokenize):
    draft = ask("受理移送审查批捕的人数和批准逮捕的人数，哪个同比降得更少？", [ARRESTS], tokenize)
    assert draft is not None
    text, _ = render(verify(draft, [ARRESTS], tokenize, Settings().citation_min_support), {})
    assert "40.7%" in text and "33.5%" in text
    assert "批准逮捕的人数同比降得更少，相差7.2个百分点" in text  # 40.7 − 33.5, not 41.7 (the 件's change)
