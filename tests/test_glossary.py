"""Glossary extraction: 名词解释 items (bold or not), appended 注释 footnotes, superscript page-foot notes."""

from __future__ import annotations

from pathlib import Path

from ingest.glossary import extract_glossary, glossary_items, split_term
from ingest.models import Document, Footnote
from ingest.sections import parse_sections

GAZETTE = Path(__file__).resolve().parents[1] / "ingest" / "data" / "reports" / "000_20d7c97a3767f276.txt"


def _gazette_doc(start_title: str, end_title: str, doc_id: str) -> Document:
    raw = GAZETTE.read_text(encoding="utf-8")
    body_from = raw.index("\n", raw.index("(132)"))
    a = raw.index(start_title, body_from)
    text = raw[a:raw.index(end_title, a + len(start_title))].strip()
    return Document(doc_id=doc_id, title=text.split("\n", 1)[0], source_file="000.txt", text=text)


def _government_report() -> Document:
    return _gazette_doc("青浦区人民政府关于上半年工作情况和下半年 重点工作安排", "青浦区人大常委会2020年上半年工作情况", "gov")


def test_gazette_has_one_glossary_section_with_25_items() -> None:
    raw = GAZETTE.read_text(encoding="utf-8")
    assert raw.count("\n名词解释\n") == 1
    doc = _government_report()
    entries = [e for e in extract_glossary(doc, parse_sections(doc)) if e.source == "名词解释"]
    assert len(entries) == 25
    assert entries[0].term == "“四早”" and entries[0].definition == "早发现、早报告、早隔离、早治疗。"
    assert entries[9].term == "“三大整治”"  # not bold
    assert entries[9].definition == "公共安全整治、生态环境综合整治及人居环境整治。"
    assert entries[3].term == "“六稳”“六保”工作"


def test_glossary_spans_are_verbatim_and_multiline_items_are_whole() -> None:
    doc = _government_report()
    items = [it for it in glossary_items(doc, parse_sections(doc)) if it.entry.source == "名词解释"]
    assert doc.text[items[0].start:items[0].end] == "**“四早”**：早发现、早报告、早隔离、早治疗。"
    assert doc.text[items[0].block[0]:items[0].end].startswith("1. **“四早”**")
    wrapped = next(it for it in items if it.entry.term == "“一网、一窗、一次”改革")
    assert "\n" in doc.text[wrapped.start:wrapped.end]  # item 21 wraps onto a second line
    assert wrapped.entry.definition.endswith("。") and "\n" not in wrapped.entry.definition


def test_appended_footnotes_under_notes() -> None:
    body = "政府工作报告\n各位代表：\n扎实做好“六稳”“六保”工作。"
    text = body + "\n\n注释\n六稳：稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期。\n六保：保居民就业、保基本民生、\n保基层运转。"
    fns = [
        Footnote(n=1, term="六稳", definition="稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期。", ref_offsets=[body.index("六稳") + 3]),
        Footnote(n=2, term="六保", definition="保居民就业、保基本民生、保基层运转。", ref_offsets=[body.index("六保") + 3]),
    ]
    doc = Document(doc_id="town", title="政府工作报告", source_file="t.docx", text=text, footnotes=fns)
    items = glossary_items(doc, parse_sections(doc))
    assert [it.entry.term for it in items] == ["六稳", "六保"]
    assert all(it.entry.source == "footnote" for it in items)
    assert items[0].entry.referenced_at == fns[0].ref_offsets
    assert doc.text[items[0].start:items[0].end] == "六稳：稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期。"
    # a wrapped footnote line continues its item
    assert doc.text[items[1].start:items[1].end] == "六保：保居民就业、保基本民生、\n保基层运转。"


def test_notes_without_footnote_records() -> None:
    doc = Document(doc_id="x", title="报告", source_file="x", text="报告\n正文。\n注释\n三定：定人、定时、定岗。")
    entries = extract_glossary(doc, parse_sections(doc))
    assert [(e.term, e.definition, e.source) for e in entries] == [("三定", "定人、定时、定岗。", "footnote")]


def test_superscript_page_notes_define_terms() -> None:
    doc = _gazette_doc("青浦区市场监督管理局局长 王毅荣", "青浦区人民代表大会常务委员会 关于接受", "mkt")
    entries = extract_glossary(doc, parse_sections(doc))
    by_term = {e.term: e for e in entries}
    assert "“四个最严”" in by_term and by_term["“四个最严”"].definition.startswith("最严谨的标准")
    ref = by_term["“四个最严”"].referenced_at
    assert ref and doc.text[ref[0]] == "⁵"
    # a note without a `术语：` stays body text
    assert not any(e.term.startswith("全区共有") for e in entries)


def test_split_term() -> None:
    assert split_term("**“四早”**：早发现、早报告。") == ("“四早”", "早发现、早报告。")
    assert split_term("没有冒号的一句话。") is None
