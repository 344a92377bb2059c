"""Comparisons whose two figures live in different documents: each mention retrieved on its own, a place read from
the documents naming it (qa_service.comparison), on tiny passages and through POST /v1/ask over the shipped reports."""

from __future__ import annotations

import re
from types import SimpleNamespace

from ingest.models import Chunk
from ingest.zh.comparison import compared, measured
from ingest.zh.places import scope_place_names
from qa_service.analysis import QueryAnalyzer
from qa_service.citations import verify
from qa_service.claims import render
from qa_service.comparison import ComparisonAnswerer
from qa_service.config import Settings
from qa_service.retriever import RetrievalResult, RetrievedPassage
from tests.test_comparison import tokenize  # noqa: F401 (fixture)

TOWN = Chunk(id="town", doc_id="town", doc_title="政府上半年工作情况报告", heading_path=["政府上半年工作情况报告", "一、经济"],
             kind="text", start=0, end=0, text="1-7月，财政总收入12.42亿元，同比下降13.2%，一般公共预算收入3.23亿元，同比下降17.7%。")
DISTRICT = Chunk(id="district", doc_id="district", doc_title="青浦区人民政府关于上半年工作情况的报告", heading_path=["青浦区人民政府关于上半年工作情况的报告"],
                 kind="text", start=0, end=0, text="上半年，青浦区区级一般公共预算收入120.6亿元、同比下降8.1%。")
PLACES = {"川沙新镇": {"town"}, "川沙": {"town"}, "青浦区": {"district"}, "青浦": {"district"}}
QUESTION = "川沙新镇1-7月一般公共预算收入和青浦区上半年区级一般公共预算收入，哪个同比降得更多？"


def ranking(chunks: list[Chunk]) -> RetrievalResult:
    return RetrievalResult(passages=[RetrievedPassage(chunk=c, score=1.0) for c in chunks])


def answer(question: str, common: list[Chunk], corpus: list[Chunk], tokenize):
    """The comparison answerer over `common` as the question's ranking; `search` ranks `corpus` within its
    documents and records each call."""
    calls: list[tuple[str, frozenset[str] | None]] = []

    def search(query: str, top_k: int, within=None) -> RetrievalResult:
        calls.append((query, None if within is None else frozenset(within)))
        return ranking([c for c in corpus if within is None or c.doc_id in within][:top_k])

    analysis = QueryAnalyzer(tokenize, None, None).analyze(question)
    ctx = SimpleNamespace(analysis=analysis, passages=common, retrieved=ranking(common), search=search)
    place_docs = lambda place: PLACES.get(place, set())  # noqa: E731
    return ComparisonAnswerer(place_docs).answer(ctx), calls


def test_a_mention_missing_from_the_ranking_is_retrieved_on_its_own(tokenize):
    draft, calls = answer(QUESTION, [DISTRICT], [TOWN, DISTRICT], tokenize)
    assert draft is not None
    text, citations = render(verify(draft, [TOWN, DISTRICT], tokenize, Settings().citation_min_support), {})
    # Only the town's mention was retrieved again, within the documents naming 川沙新镇.
    assert len(calls) == 1 and calls[0][1] == frozenset({"town"}) and calls[0][0].startswith("川沙新镇")
    assert [c.chunk.id for c in citations] == ["town", "district"]
    assert "17.7%[1]" in text and "8.1%[2]" in text
    assert "（据[1][2]计算：川沙新镇1-7月一般公共预算收入同比降得更多，相差9.6个百分点）" in text


def test_no_more_retrieval_when_the_ranking_holds_both(tokenize):
    draft, calls = answer(QUESTION, [TOWN, DISTRICT], [TOWN, DISTRICT], tokenize)
    assert draft is not None and calls == []
    assert [c.sources[0].id for c in draft.claims[:2]] == ["town", "district"]


def test_a_place_is_read_from_the_documents_naming_it_not_from_others(tokenize):
    # The town's passage never names 川沙新镇; the district's names its own place: without the town's passage
    # the town's figure is not taken from the district's report.
    draft, calls = answer(QUESTION, [DISTRICT], [DISTRICT], tokenize)
    assert draft is None
    assert [within for _, within in calls] == [frozenset({"town"})]  # the town's mention, within its documents


def test_a_bare_place_measures_what_the_other_mention_does():
    pair = compared("川沙新镇和青浦区的财政收入哪个降得多？")
    assert pair is not None
    whole = measured(pair)
    assert (whole.first, whole.second) == ("川沙新镇的财政收入", "青浦区的财政收入")
    named = compared("上半年农村生活污水改造的户数，川沙新镇和青浦区实事工程(表2)相比哪个多？")
    assert named is not None and measured(named) == named  # the measure is named before: nothing borrowed


def test_a_cross_document_comparison_through_the_api(api):
    with api.client() as c:
        r = c.post("/v1/ask", json={"question": "川沙新镇1-7月财政总收入和青浦区上半年区级一般公共预算收入相比，哪个降得多？"})
    assert r.status_code == 200
    body = r.json()
    assert len({c["doc_id"] for c in body["citations"]}) == 2  # one figure from each report, each cited
    quotes = " ".join(c["quote"] for c in body["citations"])
    assert "13.2%" in quotes and "8.1%" in quotes
    # a passage only the mention's own retrieval found carries that retrieval's score, not 0
    assert all(c["score"] > 0 for c in body["citations"])
    computed = re.search(r"（据\[1\]\[2\]计算：([^）]*)）", body["answer"])
    assert computed is not None and "川沙新镇" in computed.group(1) and "降得更多" in computed.group(1)


def test_two_reports_named_by_short_names_are_compared(api):
    # `2019年全区` names no place (年全 is no place name): the two reports are each found by their title words.
    assert scope_place_names("财政决算报告中2019年全区一般公共预算收入") == set()
    with api.client() as c:
        r = c.post("/v1/ask", json={"question": "审计报告和财政决算报告中2019年全区一般公共预算收入的数额一致吗？"})
    assert r.status_code == 200
    body = r.json()
    assert len({c["doc_id"] for c in body["citations"]}) == 2
    quotes = " ".join(c["quote"] for c in body["citations"])
    assert "207.19" in quotes and "2071889" in quotes
    assert "两者一致" in body["answer"]


def test_a_mention_retrieved_on_its_own_stays_inside_the_request_filter(api):
    # Filtered to the district's work report, 川沙新镇's mention reads the documents naming 川沙新镇: none of them is
    # allowed, so it finds nothing there rather than searching the whole corpus.
    with api.client() as c:
        titles = {d["title"]: d["id"] for d in c.get("/v1/documents").json()}
        district = titles["青浦区人民政府关于上半年工作情况和下半年重点工作安排的报告"]
        r = c.post("/v1/ask", json={"question": "川沙新镇1-7月财政总收入和青浦区上半年区级一般公共预算收入相比，哪个降得多？",
                                    "filters": {"doc_ids": [district]}})
    assert r.status_code == 200
    assert {cite["doc_id"] for cite in r.json()["citations"]} <= {district}
