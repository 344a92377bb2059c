"""The Retriever (qa_service.retriever) on a tiny index built from hand-made Documents and Chunks.

The index is built by the public build function with the lexical arms only (no model), so the test
needs no torch and knows every passage: which one answers, which are a table and its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from ingest.index_build import build_index
from ingest.index_reader import load_index
from ingest.models import Chunk, Document, GlossaryEntry, ParsedCorpus
from qa_service.config import Settings
from qa_service.analysis import QueryAnalyzer
from qa_service.retriever import RetrievalQuery, RetrievedPassage, Retriever
from qa_service.scope import ScopeDetector

TOWN, COURT, PLAN = "town", "court", "plan"
TITLES = {
    TOWN: "川沙新镇2020年1-7月工作情况",
    COURT: "青浦区人民法院2020年上半年工作报告",
    PLAN: "关于青浦区2020年上半年国民经济和社会发展计划执行情况的报告",
}
# (id, doc, kind, heading below the title, text, parent)
PASSAGES = [
    ("t-open", TOWN, "text", None, "川沙新镇2020年1-7月工作情况\n镇长 宦勇", None),
    ("t-finance", TOWN, "text", "一、经济运行", "1-7月，财政总收入12.42亿元，同比下降13.2%，一般公共预算收入3.23亿元。", None),
    ("t-sixes", TOWN, "text", "二、六保工作", "全镇扎实做好“六稳”“六保”工作，六保工作成效明显，六保任务全面完成。", None),
    ("t-def", TOWN, "definition", "注释", "六保：保居民就业、保基本民生、保市场主体、保粮食能源安全、保产业链供应链稳定、保基层运转。", None),
    ("c-cases", COURT, "text", "一、审判执行", "上半年，共受理各类案件20813件，审结18000件。", None),
    ("c-plans", COURT, "text", "二、下半年工作", "下半年，将继续深化司法改革，推进繁简分流。", None),
    ("p-table", PLAN, "table", "表1 主要指标", "表1 主要指标\n指标名称\t完成\n合同外资\t8.8亿美元\n财政总收入\t240亿元", None),
    ("p-row-fdi", PLAN, "table_row", "表1 主要指标", "指标名称：合同外资；完成：8.8亿美元", "p-table"),
    ("p-row-fin", PLAN, "table_row", "表1 主要指标", "指标名称：财政总收入；完成：240亿元", "p-table"),
    ("p-text", PLAN, "text", "一、总体情况", "上半年全区合同外资8.8亿美元，实到外资4.5亿美元。", None),
]


def tiny_corpus() -> ParsedCorpus:
    """Documents whose text is their passages in order, with offsets, reading-order links and the glossary entry."""
    documents, chunks = [], []
    for doc_id, title in TITLES.items():
        rows = [p for p in PASSAGES if p[1] == doc_id]
        text, offsets = "", []
        for _, _, _, _, body, _ in rows:
            text += "\n" if text else ""
            offsets.append(len(text))
            text += body
        documents.append(Document(doc_id=doc_id, title=title, source_file=f"{doc_id}.txt", text=text))
        for i, (pid, _, kind, heading, body, parent) in enumerate(rows):
            chunks.append(Chunk(
                id=pid, doc_id=doc_id, doc_title=title, heading_path=[title] + ([heading] if heading else []),
                kind=kind, text=body, start=offsets[i], end=offsets[i] + len(body), parent_id=parent,
                prev_id=rows[i - 1][0] if i else None, next_id=rows[i + 1][0] if i + 1 < len(rows) else None,
            ))
    glossary = [GlossaryEntry(term="六保", definition=PASSAGES[3][4].split("：", 1)[1], doc_id=TOWN, source="footnote", chunk_id="t-def")]
    return ParsedCorpus(documents=documents, sections=[], chunks=chunks, glossary=glossary, files=[])


@dataclass
class Ranked:
    passages: list[RetrievedPassage]
    scope: list[str]  # the documents the question was found to name

    @property
    def ids(self) -> list[str]:
        return [p.chunk.id for p in self.passages]


class TinyRetrieval:
    """The Retriever over the tiny index with the production settings (as QAService builds it), or with
    another scope minimum or scope detection off; `(query, **RetrievalQuery fields)` ranks once."""

    def __init__(self, index, scope_min_score: float | None = None, use_scope: bool = True):
        s = Settings() if scope_min_score is None else Settings(scope_min_score=scope_min_score)
        self.retriever = Retriever(index, replace(s.retriever_config(), use_scope=use_scope))
        self.analyzer = QueryAnalyzer(index.tokenizer.tokenize, None, ScopeDetector.for_index(index, s.scope_config()))

    def __call__(self, query: str, **kwargs) -> Ranked:
        analysis = self.analyzer.analyze(query, kwargs.get("doc_ids"))
        result = self.retriever.retrieve(RetrievalQuery(query=query, **kwargs), analysis)
        return Ranked(result.passages, analysis.scope.doc_ids)


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    """The tiny corpus built by the public build function, lexical arms only, and loaded."""
    index_dir = tmp_path_factory.mktemp("tiny") / "index"
    build_index(tiny_corpus(), Settings(index=index_dir).build_config(embed_model="none"))
    return load_index(index_dir)


@pytest.fixture(scope="module")
def rank(tiny_index) -> TinyRetrieval:
    return TinyRetrieval(tiny_index)


def test_the_answer_passage_ranks_first(rank):
    result = rank("川沙新镇1-7月财政总收入是多少？", top_k=5)
    first = result.passages[0]
    assert first.chunk.id == "t-finance"
    assert [p.score for p in result.passages] == sorted((p.score for p in result.passages), reverse=True)
    # The index has no dense arm: its rank is None; both lexical arms found the passage.
    assert first.ranks["dense"] is None and first.ranks["word"] >= 1 and first.ranks["char"] >= 1


def test_top_k_bounds_the_result(rank):
    assert len(rank("上半年", top_k=2).passages) == 2
    assert len(rank("上半年", top_k=1000).passages) <= len(PASSAGES)


def test_a_definition_question_puts_the_definition_first(rank):
    # t-sixes says 六保 three times; the definition passage is what `什么是` asks for.
    assert rank("什么是六保？", top_k=3).ids[0] == "t-def"


def test_table_and_its_rows_count_once(rank):
    found = rank("合同外资8.8亿美元", top_k=10).ids
    family = [pid for pid in found if pid in {"p-table", "p-row-fdi", "p-row-fin"}]
    assert len(family) == 1, found
    assert "p-text" in found


@pytest.mark.parametrize("query", ["川沙新镇1-7月财政总收入是多少？", "上半年", "什么是六保？", "合同外资8.8亿美元", "2020年上半年审结率"])
def test_a_shorter_result_is_the_head_of_a_longer_one(rank, query):
    """The retriever boosts and collapses only as many candidates as the result needs: every top_k gives the head
    of the full ranking, with the same scores and ranks."""
    full = rank(query, top_k=1000).passages
    for k in (1, 2, 3, 5, 10):
        head = rank(query, top_k=k).passages
        assert [(p.chunk.id, p.score, p.ranks) for p in head] == [(p.chunk.id, p.score, p.ranks) for p in full[:k]]


def test_doc_filter_keeps_only_those_documents(rank):
    found = rank("财政总收入", top_k=10, doc_ids=[PLAN]).passages
    assert found and {p.chunk.doc_id for p in found} == {PLAN}
    both = rank("上半年", top_k=10, doc_ids=[COURT, PLAN]).passages
    assert {p.chunk.doc_id for p in both} == {COURT, PLAN}


def test_heading_prefix_filter(rank):
    found = rank("下半年工作", top_k=10, heading_prefix="二、")
    assert "c-plans" in found.ids and set(found.ids) <= {"t-sixes", "c-plans"}
    assert all(p.chunk.heading_path[1].startswith("二、") for p in found.passages)


def test_a_named_report_scopes_the_ranking(rank, tiny_index):
    result = rank("国民经济和社会发展计划执行情况的报告里财政总收入是多少", top_k=3)
    assert result.scope == [PLAN]
    assert result.ids[0] == "p-row-fin"
    # Three documents give small scope scores: a lower minimum lets the town report's title name it.
    question = "川沙新镇2020年1-7月工作情况中上半年有什么？"
    scoped = TinyRetrieval(tiny_index, scope_min_score=3.0)(question, top_k=6)
    assert scoped.scope == [TOWN]
    assert [p.chunk.doc_id for p in scoped.passages[:4]] == [TOWN] * 4
    # Without scope detection, the other reports' 上半年 passages come in between.
    unscoped = TinyRetrieval(tiny_index, use_scope=False)(question, top_k=6)
    assert {p.chunk.doc_id for p in unscoped.passages[:4]} != {TOWN}
    # A document filter overrides scope detection.
    filtered = rank("国民经济和社会发展计划执行情况的报告里财政总收入是多少", top_k=3, doc_ids=[TOWN])
    assert filtered.scope == [] and {p.chunk.doc_id for p in filtered.passages} == {TOWN}


def test_same_query_same_ranking(rank):
    first = rank("上半年财政总收入和合同外资", top_k=10).passages
    again = rank("上半年财政总收入和合同外资", top_k=10).passages
    assert [(p.chunk.id, p.score) for p in first] == [(p.chunk.id, p.score) for p in again]


def test_passage_lookup(rank):
    assert rank.retriever.chunk("c-cases").text.startswith("上半年，共受理各类案件20813件")
    assert rank.retriever.chunk("nope") is None


@pytest.mark.parametrize("kwargs,message", [({"query": "  "}, "empty"), ({"query": "财政", "top_k": 0}, "top_k")])
def test_bad_queries_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetrievalQuery(**kwargs)
