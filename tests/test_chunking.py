"""Chunking over the real reports at the production setting (Settings: 500/80): offsets, sizes, kinds,
links, ids."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest

from ingest.chunking import chunk_document, search_text
from ingest.config import ChunkingConfig
from ingest.models import Chunk, Document, Footnote, GlossaryEntry
from ingest.sections import parse_sections
from ingest.zh import strip_ws
from qa_service.config import Settings

REPORTS = Path(__file__).resolve().parents[1] / "ingest" / "data" / "reports"
CHUNKING = Settings().chunking_config()  # the chunk size and overlap `reportqa ingest` uses
CHUNK_SIZE, OVERLAP = CHUNKING.chunk_size, CHUNKING.overlap
# Running page headers that cleaning removes (one of each leaked into the gazette's tables).
FURNITURE = {"上海市青浦区人民代表大会常务委员会公报", "2020 年公报第四号（总第 154 号）"}


def gazette_documents() -> list[Document]:
    """The gazette cut into its 20 documents by the titles in its contents page (what documents.py does)."""
    raw = (REPORTS / "000_20d7c97a3767f276.txt").read_text(encoding="utf-8")
    lines = [line for line in raw.split("\n") if line.strip() not in FURNITURE]
    toc_end = max(i for i, line in enumerate(lines[:30]) if "\t" in line) + 1
    titles = [line.split("\t")[0] for line in lines[:toc_end] if "\t" in line]
    starts, i = [], toc_end
    for title in titles:
        key = strip_ws(title)[:12]
        while not strip_ws(lines[i]).startswith(key):
            i += 1
        starts.append(i)
        i += 1
    docs = []
    for n, (a, b) in enumerate(zip(starts, starts[1:] + [len(lines)])):
        text = "\n".join(lines[a:b]).strip("\n")
        docs.append(Document(doc_id=f"gz{n:02d}", title=titles[n], source_file="000.txt", text=text, page=n + 1))
    return docs


_DEF_RE = re.compile(r"\s*\[(\d+): 、?(.*?)\]\s*", re.S)
_REF_RE = re.compile(r"\[footnoteRef:(\d+)\]")


def town_document() -> Document:
    """The town report as cleaning leaves it: definitions moved under `注释`, references removed."""
    raw = (REPORTS / "004_1aa96ab411d029c6.txt").read_text(encoding="utf-8").replace("[bookmark: _GoBack]", "")
    defs: dict[int, str] = {}

    def take(m: re.Match[str]) -> str:
        defs[int(m.group(1))] = " ".join(m.group(2).split())
        return "\n" if "\n" in m.group(0) else ""

    body = _DEF_RE.sub(take, raw)
    refs: dict[int, list[int]] = {}
    parts: list[str] = []
    pos = 0
    for m in _REF_RE.finditer(body):
        parts.append(body[pos:m.start()])
        pos = m.end()
        refs.setdefault(int(m.group(1)), []).append(sum(map(len, parts)))
    parts.append(body[pos:])
    text = "".join(parts).rstrip() + "\n\n注释"
    footnotes = []
    for n in sorted(defs):
        term, _, definition = defs[n].partition("：")
        text += f"\n{term}：{definition}"
        footnotes.append(Footnote(n=n, term=term, definition=definition, ref_offsets=refs.get(n, [])))
    return Document(doc_id="town", title="政府上半年工作情况报告", source_file="004.txt", text=text, footnotes=footnotes)


def chunk(doc: Document) -> tuple[list[Chunk], list[GlossaryEntry]]:
    """`doc` chunked as production chunks it."""
    return chunk_document(doc, parse_sections(doc), CHUNKING)


@lru_cache(maxsize=1)
def _all_chunked() -> tuple[tuple[Document, list[Chunk], list[GlossaryEntry]], ...]:
    out = []
    for doc in gazette_documents() + [town_document()]:
        chunks, glossary = chunk(doc)
        out.append((doc, chunks, glossary))
    return tuple(out)


def _doc_chunks(doc_id: str) -> tuple[Document, list[Chunk], list[GlossaryEntry]]:
    return next(t for t in _all_chunked() if t[0].doc_id == doc_id)


def test_slicing_finds_twenty_documents() -> None:
    docs = gazette_documents()
    assert len(docs) == 20 and docs[1].text.startswith("履 职 报 告")


def test_offset_rule_on_every_text_table_and_definition_chunk() -> None:
    for doc, chunks, _ in _all_chunked():
        for c in chunks:
            if c.kind in ("text", "definition", "table"):
                assert doc.text[c.start:c.end] == c.text, (doc.doc_id, c.id)
                assert c.text == c.text.strip()


def test_text_chunks_respect_chunk_size_and_are_never_heading_only() -> None:
    for doc, chunks, _ in _all_chunked():
        heads = {s.heading for s in parse_sections(doc)}
        for c in chunks:
            if c.kind == "text":
                assert 0 < len(c.text) <= CHUNK_SIZE
                assert c.text.strip("。 ") not in heads, c.text


def test_every_document_character_is_covered() -> None:
    # Outside tables and glossary items, no body sentence is lost (headings may be dropped).
    for doc, chunks, _ in _all_chunked():
        covered = bytearray(len(doc.text))
        for c in chunks:
            if c.kind != "table_row":
                covered[c.start:c.end] = b"\x01" * (c.end - c.start)
        lost = "".join(ch for ch, hit in zip(doc.text, covered) if not hit and not ch.isspace())
        lost = re.sub(r"\d{1,2}\.|名词解释|注释", "", lost)  # glossary item numbers and back-matter headings
        assert len(lost) < 60, (doc.doc_id, lost[:80])


def test_text_chunks_exclude_tables_and_glossary_items() -> None:
    for doc, chunks, _ in _all_chunked():
        for c in chunks:
            if c.kind == "text":
                assert "\t序号" not in c.text and "合同外资\t" not in c.text
                assert "**“四早”**" not in c.text and "六稳：稳就业" not in c.text


def test_preamble_is_a_root_chunk() -> None:
    doc, chunks, _ = _doc_chunks("gz01")
    first = chunks[0]
    assert first.kind == "text" and first.heading_path == ["履职报告"]
    assert "青浦区经济委员会主任 朱要武" in first.text and "主任、各位副主任、各位委员：" in first.text


def test_heading_path_and_small_section_keeps_its_heading_line() -> None:
    _, chunks, _ = _doc_chunks("gz06")
    c = next(c for c in chunks if "推进繁简分流改革试点" in c.text)
    assert c.heading_path[:3] == ["青浦区人民法院 2020 年上半年工作报告", "第一部分 上半年工作总结",
                                  "三、全面深化司法改革，稳妥开展试点工作"]
    assert c.text.startswith("三、全面深化司法改革") or c.text.startswith("2. 推进繁简分流改革试点")


def test_long_sections_split_with_overlap() -> None:
    doc = town_document()
    chunks, _ = chunk(doc)
    texts = [c for c in chunks if c.kind == "text"]
    assert all(len(c.text) <= CHUNK_SIZE for c in texts)
    pairs = [(a, b) for a, b in zip(texts, texts[1:]) if a.section_id == b.section_id and b.start < a.end]
    assert pairs, "consecutive pieces of one section should overlap"
    for a, b in pairs:
        assert a.end - b.start <= OVERLAP
        before = doc.text[:b.start].rstrip()
        assert before[-1] in "。！？；”"  # the overlap starts at a sentence start


def test_table_and_row_chunks() -> None:
    doc, chunks, _ = _doc_chunks("gz14")
    tables = [c for c in chunks if c.kind == "table"]
    assert len(tables) == 3 and tables[0].text.startswith("表 1 2020 年上半年")
    rows = [c for c in chunks if c.kind == "table_row" and c.parent_id == tables[0].id]
    assert len(rows) == 13
    row = next(r for r in rows if "合同外资" in r.text)
    assert row.text == ("序号：6；指标名称：合同外资；年初预期目标：8 亿美元；上半年完成·绝对数：8.8；"
                        "上半年完成·增幅（%）：5.9；上半年完成·完成目标（%）：110")
    assert doc.text[row.start:row.end] == "6\t合同外资\t8 亿美元\t8.8\t5.9\t110"
    assert row.heading_path[-1].startswith("表 1")  # the caption heads its rows
    assert rows[0].prev_id is None and rows[0].next_id == rows[1].id and rows[-1].next_id is None
    assert "表 1" in search_text(row)


def test_definition_chunks_link_glossary_entries() -> None:
    for doc_id, n in (("gz04", 25), ("town", 19)):
        doc, chunks, glossary = _doc_chunks(doc_id)
        defs = {c.id: c for c in chunks if c.kind == "definition"}
        assert len(defs) == n == len(glossary)
        for e in glossary:
            assert e.chunk_id in defs
            assert defs[e.chunk_id].text.replace("**", "").startswith(e.term + "：")
    _, _, glossary = _doc_chunks("town")
    liubao = next(e for e in glossary if e.term == "六保")
    assert liubao.referenced_at and liubao.source == "footnote"


def test_reading_order_links() -> None:
    for _, chunks, _ in _all_chunked():
        main = [c for c in chunks if c.kind != "table_row"]
        assert main[0].prev_id is None and main[-1].next_id is None
        for a, b in zip(main, main[1:]):
            assert a.next_id == b.id and b.prev_id == a.id
            assert a.start <= b.start


def test_ids_are_stable_unique_and_url_safe() -> None:
    doc = gazette_documents()[14]
    first = [c.id for c in chunk(doc)[0]]
    second = [c.id for c in chunk(doc)[0]]
    assert first == second and len(set(first)) == len(first)
    for cid in first:
        assert not re.search(r"[/?#\s]", cid) and cid.startswith("gz14.")


def test_search_text_with_and_without_heading() -> None:
    _, chunks, _ = _doc_chunks("gz06")
    c = chunks[3]
    assert search_text(c, with_heading=False) == c.text
    assert search_text(c).startswith(c.heading_path[0]) and search_text(c).endswith(c.text)
    assert not search_text(c, with_title=False).startswith(c.heading_path[0])


def test_heading_with_empty_body_travels_with_next() -> None:
    doc = Document(doc_id="a", title="出席情况", source_file="x",
                   text="出席情况\n\n(会期两天)\n\n一、应出席会议: 34人\n\n二、全程出席: 31人\n\n丁峰雷\t尤佳秋\t印国荣\n"
                        "庄惠元\t汤福明\t许峰\n\n三、请假: 3人\n\n沈伯明 张国妹 蒋家敏")
    chunks, _ = chunk(doc)
    assert all(c.kind == "text" for c in chunks)  # name grids stay in the text flow
    assert any("一、应出席会议: 34人" in c.text and "丁峰雷" in c.text for c in chunks)


def test_invalid_arguments() -> None:
    doc = Document(doc_id="a", title="t", source_file="x", text="t\n正文。")
    with pytest.raises(ValueError, match="chunk_size"):
        chunk_document(doc, parse_sections(doc), ChunkingConfig(chunk_size=0, overlap=0))
    with pytest.raises(ValueError, match="overlap"):
        chunk_document(doc, parse_sections(doc), ChunkingConfig(chunk_size=100, overlap=100))
