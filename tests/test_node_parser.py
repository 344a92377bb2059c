"""ReportSectionParser as a llama-index NodeParser."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core import Document as LIDocument
from llama_index.core.schema import MetadataMode, NodeRelationship, TextNode
from llama_index.core.node_parser import NodeParser

from ingest.chunking import chunk_document
from ingest.models import Document
from ingest.node_parser import ReportSectionParser, chunk_to_node, node_to_chunk
from ingest.sections import parse_sections
from qa_service.config import Settings

CHUNKING = Settings().chunking_config()


def production_parser() -> ReportSectionParser:
    """The parser with the chunk size and overlap production uses."""
    return ReportSectionParser(chunk_size=CHUNKING.chunk_size, chunk_overlap=CHUNKING.overlap)

GAZETTE = Path(__file__).resolve().parents[1] / "ingest" / "data" / "reports" / "000_20d7c97a3767f276.txt"


def _plan_report_text() -> str:
    raw = GAZETTE.read_text(encoding="utf-8")
    body_from = raw.index("\n", raw.index("(132)"))
    a = raw.index("关于青浦区 2020 年上半年国民经济和社会 发展计划执行情况的报告", body_from)
    text = raw[a:raw.index("青浦区人民代表大会常务委员会任免名单（一）", a)].strip()
    for furniture in ("上海市青浦区人民代表大会常务委员会公报", "2020 年公报第四号（总第 154 号）"):
        text = text.replace(furniture + "\n", "")
    return text


@pytest.fixture(scope="module")
def nodes() -> list[TextNode]:
    parser = production_parser()
    doc = LIDocument(text=_plan_report_text(), metadata={"doc_id": "plan", "title": "计划执行情况的报告", "page": 109})
    return parser.get_nodes_from_documents([doc])


def test_is_a_node_parser() -> None:
    assert isinstance(production_parser(), NodeParser)


def test_nodes_carry_chunk_metadata(nodes: list[TextNode]) -> None:
    kinds = {n.metadata["kind"] for n in nodes}
    assert kinds == {"text", "table", "table_row"}
    n = nodes[1]
    for key in ("doc_id", "doc_title", "heading_path", "kind", "start", "end", "page", "prev_id", "next_id",
                "parent_id", "section_id"):
        assert key in n.metadata
    assert n.metadata["doc_id"] == "plan" and n.metadata["page"] == 109
    assert n.id_.startswith("plan.")
    assert isinstance(n.metadata["heading_path"], str)  # flat metadata for vector stores


def test_offsets_and_relationships(nodes: list[TextNode]) -> None:
    text = _plan_report_text()
    for n in nodes:
        if n.metadata["kind"] != "table_row":
            assert text[n.start_char_idx:n.end_char_idx] == n.text
        assert n.relationships[NodeRelationship.SOURCE].node_id
    rows = [n for n in nodes if n.metadata["kind"] == "table_row"]
    assert rows[0].relationships[NodeRelationship.PARENT].node_id == rows[0].metadata["parent_id"]
    # table rows link among themselves, not into the reading order
    texts = [n for n in nodes if n.metadata["kind"] == "text"]
    assert texts[0].relationships[NodeRelationship.NEXT].node_id == texts[0].metadata["next_id"]


def test_embed_text_has_headings_not_offsets(nodes: list[TextNode]) -> None:
    embed = nodes[1].get_content(metadata_mode=MetadataMode.EMBED)
    assert "heading_path" in embed and "start:" not in embed and "section_id" not in embed


def test_chunk_node_round_trip() -> None:
    doc = Document(doc_id="d", title="报告", source_file="x", text="报告\n\n一、甲\n\n正文一句。正文二句。")
    chunks, _ = chunk_document(doc, parse_sections(doc), CHUNKING)
    for c in chunks:
        assert node_to_chunk(chunk_to_node(c)) == c


def test_stable_ids_across_runs() -> None:
    doc = LIDocument(text=_plan_report_text(), metadata={"doc_id": "plan", "title": "计划"})
    a = [n.id_ for n in production_parser().get_nodes_from_documents([doc])]
    b = [n.id_ for n in production_parser().get_nodes_from_documents([doc])]
    assert a == b


def test_defaults_without_metadata() -> None:
    nodes = ReportSectionParser(chunk_size=200, chunk_overlap=20).get_nodes_from_documents(
        [LIDocument(text="某报告\n\n一、概况\n\n" + "这是一句很长的正文，用来测试切分。" * 30)]
    )
    assert len(nodes) > 1 and all(len(n.text) <= 200 for n in nodes)
    assert nodes[0].metadata["doc_title"] == "某报告"


def test_rejects_bad_overlap() -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        ReportSectionParser(chunk_size=100, chunk_overlap=100)
