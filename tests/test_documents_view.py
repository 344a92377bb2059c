"""The documents API view (qa_service.documents_view) and QAService's index helpers over a tiny index."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from ingest.index_reader import IndexReader, load_index
from ingest.zh import match_key
from qa_service.config import Settings
from qa_service.documents_view import document_detail, document_summaries
from qa_service.errors import NotFound
from qa_service.schemas import DocumentDetail, DocumentSummary
from qa_service.scope import ScopeDetector
from qa_service.service import QAService
from tiny_index import DOC_A_TEXT, TITLE_A, TITLE_B, build_tiny_index


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("tiny") / "ix")


@pytest.fixture(scope="module")
def reader(index_dir) -> IndexReader:
    return load_index(index_dir)


def test_document_summaries(reader):
    rows = document_summaries(reader)
    assert all(isinstance(r, DocumentSummary) for r in rows)
    assert [r.model_dump() for r in rows] == [
        {"id": "a", "title": TITLE_A, "source_file": "a.txt", "page": None, "date": "2020年8月18日", "reporter": None,
         "n_sections": 1, "n_chunks": 4},  # the level-0 section (the document itself) is not counted
        {"id": "b", "title": TITLE_B, "source_file": "b.txt", "page": None, "date": None, "reporter": "院长 张三",
         "n_sections": 2, "n_chunks": 3},
    ]


def test_document_detail(reader):
    a = document_detail(reader, "a", with_text=True)
    assert isinstance(a, DocumentDetail) and a.text == DOC_A_TEXT and a.n_chunks == 4
    assert a.outline == [{"heading": "一、上半年工作回顾", "level": 1, "children": []}]  # the stored outline
    b = document_detail(reader, "b")
    assert b.text is None
    # no outline stored: the document's headings, flat
    assert [(o["section_id"], o["heading"], o["level"], o["parent_id"]) for o in b.outline] == [
        ("b-1", "一、审判工作", 1, None), ("b-2", "二、队伍建设", 1, None)]
    assert document_detail(reader, "nope") is None


def test_service_documents_and_ready(index_dir):
    service = QAService(Settings(index=index_dir))
    assert [d.id for d in service.documents()] == ["a", "b"]
    assert service.document("b", with_text=True).reporter == "院长 张三"
    with pytest.raises(NotFound):
        service.document("nope")
    ready = service.ready()
    manifest = service.loaded().index.manifest
    assert ready.build_id == manifest.build_id and ready.counts == manifest.counts and ready.counts["chunks"] == 7
    assert ready.embedding_model is None and ready.arms == ["word", "char"]


def test_loaded_helpers(index_dir):
    loaded = QAService(Settings(index=index_dir)).loaded()
    unseen = "从未出现的词"
    assert loaded.term_weight(unseen) == 0.0  # paraphrase words the reports never use weigh nothing
    word = loaded.index.tokenizer.tokenize("全院共受理各类案件")[0]
    assert loaded.term_weight(word) == loaded.index.idf(word) > 0
    assert loaded.retriever.opening("a").id == "a.2" and loaded.retriever.opening("nope") is None
    assert loaded.place_docs("川沙新镇") == {"a", "b"} and loaded.place_docs("法院") == {"b"}


def test_scope_place_filter_uses_the_shared_lookup(reader):
    docs = [{"doc_id": d.doc_id, "title": d.title, "reporter": d.reporter, "text": d.text} for d in reader.documents.values()]
    config = Settings().scope_config()
    own = ScopeDetector(docs, config)  # its own lookup over the same texts
    shared = ScopeDetector.for_index(reader, config)
    assert shared.mentions is reader.mentions and own.mentions is not reader.mentions
    expected = {
        "朱家角镇审结了多少案件？": {1},  # only b mentions 朱家角
        "川沙新镇上半年财政收入是多少？": {0, 1},  # b mentions 川 沙 新镇 too (whitespace ignored)
        "嘉定区的情况": {0, 1},  # a place no document mentions is no signal
        "法院工作": {0, 1},  # no place named
    }
    for question, allowed in expected.items():
        q = match_key(question)
        assert own._place_filter(q) == shared._place_filter(q) == allowed, question


def test_search_filters_by_heading_prefix(index_dir):
    service = QAService(Settings(index=index_dir))
    hits = service.search("案件", top_k=10, heading_prefix="一、 审判").results
    assert hits and all("一、审判工作" in h.heading_path for h in hits)
    assert service.search("案件", top_k=10, heading_prefix="三、").results == []
