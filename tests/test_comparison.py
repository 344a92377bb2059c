"""The comparison answerer and the computed clause (qa_service/comparison.py, citations.computation_holds) on
tiny in-memory passages."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ingest.models import Chunk
from ingest.tokenize import Tokenizer
from ingest.zh.comparison import compared, compute, is_comparison
from qa_service.analysis import QueryAnalyzer
from qa_service.citations import verify
from qa_service.claims import Claim, Computation, DraftAnswer, render
from qa_service.comparison import ComparisonAnswerer
from qa_service.config import Settings
from qa_service.retriever import RetrievedPassage, RetrievalResult


def chunk(cid: str, title: str, text: str) -> Chunk:
    return Chunk(id=cid, doc_id=cid, doc_title=title, heading_path=[title], kind="text", start=0, end=0, text=text)


BUDGET = chunk("budget", "关于青浦区2019年财政决算的报告", "2019年主要支出项目情况：教育支出288337万元，完成预算的98.3%；农林水支出311302万元，完成预算的127.1%。")
COURT = chunk("court", "青浦区人民法院2020年上半年工作报告", "1—6月，我院共受理各类案件20813件，同比增加7.28%；审结19567件，同比增加4.07%。")
PROSECUTOR = chunk("pros", "青浦区人民检察院2020年上半年工作报告", "上半年，我院向法院提起公诉714件1031人。")
CRIMINAL = chunk("crim", "青浦区人民法院2020年上半年工作报告", "上半年，共受理刑事案件630件，审结580件。")


@pytest.fixture(scope="module")
def tokenize():
    return Tokenizer().tokenize


def ask(question: str, passages: list[Chunk], tokenize) -> DraftAnswer | None:
    analysis = QueryAnalyzer(tokenize, None, None).analyze(question)
    ranked = RetrievalResult(passages=[RetrievedPassage(chunk=c, score=1.0) for c in passages])
    ctx = SimpleNamespace(analysis=analysis, passages=passages, retrieved=ranked, search=None)
    return ComparisonAnswerer().answer(ctx)


def test_two_figures_each_cited_with_their_difference(tokenize):
    draft = ask("2019年青浦区本级的教育支出和农林水支出，哪一项更多？", [BUDGET], tokenize)
    assert draft is not None
    text, citations = render(verify(draft, [BUDGET], tokenize, Settings().citation_min_support), {})
    assert "教育支出288337万元" in text and "农林水支出311302万元" in text
    assert "（据[1]计算：农林水支出更多，相差22965万元）" in text
    assert [c.chunk.id for c in citations] == ["budget"]


def test_figures_from_two_documents_cite_both(tokenize):
    question = "上半年青浦检察院向法院提起公诉的案件数和青浦法院受理的刑事案件数，哪个更多？"
    draft = ask(question, [PROSECUTOR, CRIMINAL], tokenize)
    assert draft is not None
    text, citations = render(verify(draft, [PROSECUTOR, CRIMINAL], tokenize, Settings().citation_min_support), {})
    assert text == "我院向法院提起公诉714件[1]；共受理刑事案件630件[2]（据[1][2]计算：上半年青浦检察院向法院提起公诉的案件数更多，相差84件）。"
    assert [c.chunk.id for c in citations] == ["pros", "crim"]


def test_a_ratio_of_two_stated_figures(tokenize):
    draft = ask("青浦法院上半年审结的案件，占受理的各类案件的几成？", [COURT], tokenize)
    assert draft is not None
    text, _ = render(verify(draft, [COURT], tokenize, Settings().citation_min_support), {})
    assert "19567件" in text and "20813件" in text and "前者约为后者的94.0%" in text


def test_not_a_comparison_or_no_two_figures_passes(tokenize):
    assert ask("青浦法院上半年审结了多少件案件？", [COURT], tokenize) is None
    assert ask("2019年教育支出和科学技术支出哪个多？", [COURT], tokenize) is None  # no such figures here


def test_figures_of_different_kinds_or_a_request_for_both_values_pass(tokenize):
    plea = chunk("plea", "青浦区人民法院2020年上半年工作报告", "共计审结认罪认罚案件520件，占同期刑事案件的89.81%。")
    # The share is stated: 520件 and 89.81% are not two figures to compare.
    assert ask("青浦法院上半年审结的认罪认罚案件占同期刑事案件的比例是多少？", [plea], tokenize) is None
    stops = chunk("bus", "计划执行情况", "新建公交候车亭305座（其中新建205座，更新100座）。")
    assert ask("公交候车亭新建和更新各多少座？", [stops], tokenize) is None  # asks for both, compares nothing


def test_computed_clause_is_checked_against_its_operands(tokenize):
    def draft(result: str, operands=("311302", "288337")) -> DraftAnswer:
        calc = Claim(text=f"相差{result}万元", sources=[BUDGET], quotes=[""], computed=Computation("difference", operands, result))
        figure = Claim(text="农林水支出311302万元", sources=[BUDGET], quotes=["农林水支出311302万元"])
        return DraftAnswer(claims=[figure, calc])

    kept = verify(draft("22965"), [BUDGET], tokenize, Settings().citation_min_support)
    assert [c.computed is not None for c in kept.claims] == [False, True] and not kept.unsupported
    wrong = verify(draft("22966"), [BUDGET], tokenize, Settings().citation_min_support)
    assert len(wrong.claims) == 1 and wrong.unsupported == ["相差22966万元"]
    absent = verify(draft("22964", ("311302", "288338")), [BUDGET], tokenize, Settings().citation_min_support)
    assert len(absent.claims) == 1


def test_question_reading():
    pair = compared("上半年农村生活污水改造的户数，川沙新镇和青浦区实事工程（表2）相比哪个多？")
    assert pair is not None and (pair.first, pair.second) == ("川沙新镇", "青浦区实事工程(表2)")
    ratio = compared("2020年上半年青浦区级一般公共预算收入，相当于2019年全区一般公共预算收入的几成？")
    assert ratio is not None and ratio.op == "ratio" and ratio.second == "2019年全区一般公共预算收入"
    assert not is_comparison("青浦区上半年财政收入是多少？")
    assert compute("ratio", "120.6", "207.19") == "58.2" and compute("difference", "12.42", "3.23") == "9.19"
    assert compute("sum", "70", "14") == "84"


LOANS = chunk("loans", "青浦区人民法院2020年上半年工作报告", "妥善审理各类民事纠纷，其中，审结涉人身、财产等各类侵权案件733件，审结民间借贷案件677件。")


def test_a_follow_up_figure_is_read_with_its_sentence_scope(tokenize):
    from qa_service.follow_up_answer import FollowUpFigureAnswerer

    passages = [CRIMINAL, LOANS, COURT]
    analysis = QueryAnalyzer(tokenize, None, None).analyze("青浦区法院上半年审结各类案件多少件？")
    ranked = RetrievalResult(passages=[RetrievedPassage(chunk=c, score=1.0) for c in passages])
    answerer = FollowUpFigureAnswerer()
    draft = answerer.answer(SimpleNamespace(analysis=analysis, passages=passages, retrieved=ranked, follow_up=True))
    assert draft is not None and [c.text for c in draft.claims] == ["审结19567件"]
    assert draft.claims[0].sources == [COURT]
    # A first question is the extractive answerer's.
    assert answerer.answer(SimpleNamespace(analysis=analysis, passages=passages, retrieved=ranked, follow_up=False)) is None


def test_a_follow_up_about_another_place_is_not_answered_from_this_one(tokenize):
    from qa_service.follow_up_answer import FollowUpFigureAnswerer

    town = chunk("town", "川沙新镇政府上半年工作情况报告", "1-7月，川沙新镇财政总收入12.42亿元，同比下降13.2%。")
    ranked = RetrievalResult(passages=[RetrievedPassage(chunk=town, score=1.0)])
    answerer = FollowUpFigureAnswerer()
    for question, answered in (("高桥镇1-7月财政总收入是多少？", False), ("川沙新镇1-7月财政总收入是多少？", True)):
        analysis = QueryAnalyzer(tokenize, None, None).analyze(question)
        draft = answerer.answer(SimpleNamespace(analysis=analysis, passages=[town], retrieved=ranked, follow_up=True))
        assert (draft is not None) == answered


def _follow_up(question: str, passages: list[Chunk], tokenize, place_docs=None) -> DraftAnswer | None:
    from qa_service.follow_up_answer import FollowUpFigureAnswerer

    analysis = QueryAnalyzer(tokenize, None, None).analyze(question)
    ranked = RetrievalResult(passages=[RetrievedPassage(chunk=c, score=1.0) for c in passages])
    ctx = SimpleNamespace(analysis=analysis, passages=passages, retrieved=ranked, follow_up=True)
    return FollowUpFigureAnswerer(place_docs).answer(ctx)


TRANSFER = chunk("transfer", "关于青浦区2019年财政决算的报告",
                 "2019年，区对镇转移支付136096万元，完成预算的96.6%，增长4.3%；其中：生态补偿转移支付68520万元，增长7.7%。")
TOWN = chunk("town", "政府上半年工作情况报告", "1-7月，财政总收入12.42亿元，同比下降13.2%，一般公共预算收入3.23亿元，同比下降17.7%。")


def test_a_follow_up_about_a_change_takes_the_figure_its_predicate_states(tokenize):
    # The measure is named two clauses before its change; the later `生态补偿转移支付` is another measure.
    draft = _follow_up("青浦区2019年区对镇转移支付增长了多少？", [TRANSFER], tokenize)
    assert draft is not None and draft.claims[0].text.endswith("增长4.3%")
    assert draft.claims[0].text.startswith("区对镇转移支付136096万元")
    # A change against last year is any change the clause states (`同比下降`); `去年` dates no figure here.
    draft = _follow_up("川沙新镇1-7月财政总收入比去年同期增长多少？", [TOWN], tokenize, lambda place: {"town"})
    assert draft is not None and draft.claims[0].text == "财政总收入12.42亿元，同比下降13.2%"
    # Asked for the amount, the amount is still the figure.
    draft = _follow_up("川沙新镇1-7月财政总收入是多少？", [TOWN], tokenize, lambda place: {"town"})
    assert draft is not None and draft.claims[0].text == "财政总收入12.42亿元"


def test_a_follow_up_reads_a_document_naming_its_place_in_the_opening_lines(tokenize):
    # The town report names 川沙新镇 only in its opening lines: the index's place lookup says it is the town's.
    assert _follow_up("川沙新镇1-7月一般公共预算收入是多少？", [TOWN], tokenize) is None
    draft = _follow_up("川沙新镇1-7月一般公共预算收入是多少？", [TOWN], tokenize, lambda place: {"town"})
    assert draft is not None and draft.claims[0].text == "一般公共预算收入3.23亿元"
    assert _follow_up("高桥镇1-7月一般公共预算收入是多少？", [TOWN], tokenize, lambda place: set()) is None


def test_a_follow_up_about_another_body_is_not_answered_from_this_ones_report(tokenize):
    # `那检察院呢？` after a court question: the court's report says 我院 too.
    assert _follow_up("青浦检察院上半年受理各类案件多少件？", [COURT], tokenize) is None
    draft = _follow_up("青浦法院上半年受理各类案件多少件？", [COURT], tokenize)
    assert draft is not None and draft.claims[0].text == "我院共受理各类案件20813件"


def test_a_measure_a_table_row_names_is_left_to_the_ranked_answerer(tokenize):
    # The row's figures are a target and an actual, told apart by their column headers: the clause reader would
    # take the target's `确保完成 18000 个`, or a sentence's clause.
    title = "关于青浦区2020年上半年国民经济和社会发展计划执行情况的报告"
    row = Chunk(id="row", doc_id="plan", doc_title=title, heading_path=[title], kind="table_row", start=0, end=0,
                text="序号：11；指标名称：新增就业岗位；年初预期目标：确保完成 18000 个；上半年完成·绝对数：8452")
    text = Chunk(id="text", doc_id="plan", doc_title=title, heading_path=[title], kind="text", start=0, end=0,
                 text="上半年，青浦区新增就业岗位8452个。")
    assert _follow_up("青浦区上半年新增就业岗位多少个？", [text, row], tokenize) is None
    draft = _follow_up("青浦区上半年新增就业岗位多少个？", [text], tokenize)
    assert draft is not None and draft.claims[0].text == "青浦区新增就业岗位8452个"  # without the row, the clause is read


def test_readings_of_a_part_against_its_whole():
    share = compared("2019年区本级“三公”经费中，公务接待费占多大比例？")
    assert share is not None and (share.first, share.second, share.op) == ("公务接待费", "2019年区本级“三公”经费", "ratio")
    remain = compared("上半年受理的刑事案件中，还有多少件没有审结？")
    assert remain is not None and (remain.first, remain.second, remain.op) == ("上半年受理的刑事案件", "审结", "difference")
    gap = compared("截至年底，区级债务余额离债务限额还差多少？")
    assert gap is not None and (gap.first, gap.second, gap.op) == ("区级债务余额", "债务限额", "difference")
    assert gap.shared == "截至年底"
    # `购置及运行费` is one thing: the part-of-whole reading comes before the join words.
    cars = compared("“三公”经费中，公务用车购置及运行费占了多大比例？")
    assert cars is not None and cars.first == "公务用车购置及运行费"
    assert all(is_comparison(q) for q in ("上半年受理的刑事案件中，还有多少件没有审结？", "区级债务余额离债务限额还差多少？"))
    assert not is_comparison("上半年受理的案件中，有多少件是刑事案件？")  # one figure asked, nothing left over


def test_a_hedge_before_the_join_is_not_a_mention():
    pair = compared("2020年上半年区级一般公共预算收入，大约相当于2019年全区一般公共预算收入的几成？")
    assert pair is not None and pair.first == "2020年上半年区级一般公共预算收入"


DEBT = chunk("debt", "关于青浦区2019年财政决算的报告", "市财政局核定本区2019年政府债务限额为135.40亿元。截至2019年底，本区地方政府债务余额为74.43亿元。")
FEES = chunk("fees", "关于青浦区2019年财政决算的报告", "2019年，区本级“三公”经费财政拨款支出合计4752万元。其中，公务接待费375万元。")


@pytest.mark.parametrize(
    ("question", "passages", "computed"),
    [
        ("上半年受理的刑事案件中，还有多少件没有审结？", [CRIMINAL], "（据[1]计算：相差50件）"),
        ("2019年区本级“三公”经费中，公务接待费占多大比例？", [FEES], "（据[1]计算：前者约为后者的7.9%）"),
        ("截至2019年底，区地方政府债务余额离核定的债务限额还有多大空间？", [DEBT], "（据[1]计算：相差60.97亿元）"),
    ],
)
def test_what_is_left_a_share_or_a_gap_is_computed(tokenize, question, passages, computed):
    draft = ask(question, passages, tokenize)
    assert draft is not None
    text, _ = render(verify(draft, passages, tokenize, Settings().citation_min_support), {})
    assert text.endswith(computed + "。")


def test_a_year_without_a_period_is_its_whole_year(tokenize):
    enforcement = chunk("exec", "青浦区人民法院2020年上半年工作报告", "上半年，我院共受理各类执行案件5807件。")
    last_year = chunk("last", "区人民法院代表建议办理情况的报告", "2019年执行收案11937件，结案12023件。")
    question = "2020年上半年受理的执行案件数，相当于2019年全年执行收案数的百分之多少？"
    draft = ask(question, [enforcement, last_year], tokenize)
    assert draft is not None
    text, _ = render(verify(draft, [enforcement, last_year], tokenize, Settings().citation_min_support), {})
    assert "5807件[1]" in text and "11937件[2]" in text and "前者约为后者的48.6%" in text
