"""Documents without headings (a plain .txt, an HTML page): a title only when the first line looks like one,
else one derived from the file name or the first sentence, and the first line chunked as body text."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import chunk_document
from ingest.documents import build_documents
from ingest.loaders import load_file
from ingest.models import Chunk, Document
from ingest.sections import parse_sections
from ingest.zh.titles import looks_like_title, short_title
from qa_service.config import Settings

CHUNKING = Settings().chunking_config()


def chunks_of(path: Path) -> tuple[Document, list[Chunk]]:
    (document,) = build_documents(load_file(path))
    chunks, _ = chunk_document(document, parse_sections(document), CHUNKING)
    return document, chunks


def test_title_likeness():
    assert looks_like_title("青浦区人民法院2020年上半年工作报告")
    assert not looks_like_title("1-7月，川沙新镇财政总收入12.42亿元，同比下降13.2%。")
    assert not looks_like_title("全镇经济运行总体平稳。")  # ends a sentence
    assert not looks_like_title("财政总收入12.42亿元")  # states a figure
    assert short_title("台北市是台湾的首都，人口约为两百六十万。台北101曾是世界最高的建筑。", limit=8) == "台北市是台湾的首…"


def test_a_one_line_txt_is_chunked_and_titled_by_its_file_name(tmp_path: Path):
    path = tmp_path / "cmrc-p0001.txt"
    path.write_text("台北市是台湾的首都，人口约为两百六十万。\n", encoding="utf-8")
    document, chunks = chunks_of(path)
    assert document.title == "cmrc-p0001" and not document.title_in_text
    assert len(chunks) == 1 and "人口约为两百六十万" in chunks[0].text


def test_a_file_name_without_words_gives_the_first_sentence_cut_short(tmp_path: Path):
    path = tmp_path / "0001.txt"
    path.write_text("上半年，青浦区人民法院共受理各类案件20813件，同比增加7.28%；审结19567件。\n", encoding="utf-8")
    document, chunks = chunks_of(path)
    assert document.title == "上半年，青浦区人民法院共受理各类案件20…"
    assert any("19567件" in c.text for c in chunks)


def test_paragraphs_without_headings_keep_their_first_line_as_text(tmp_path: Path):
    path = tmp_path / "news.txt"
    path.write_text("记者从区统计局获悉，1-7月全区实现税收收入120.6亿元。\n\n其中，增值税增长5%。\n\n工业总产值略有回落。\n", encoding="utf-8")
    document, chunks = chunks_of(path)
    assert document.title == "news"
    body = "".join(c.text for c in chunks)
    assert "120.6亿元" in body and "增值税增长5%" in body


def test_a_title_line_is_the_title_and_never_a_chunk_alone(tmp_path: Path):
    path = tmp_path / "report.txt"
    path.write_text("川沙新镇2020年1-7月工作情况\n\n1-7月，财政总收入12.42亿元，同比下降13.2%。\n", encoding="utf-8")
    document, chunks = chunks_of(path)
    assert document.title == "川沙新镇2020年1-7月工作情况" and document.title_in_text
    assert chunks and all(c.text.strip() != document.title for c in chunks)
    assert any("12.42亿元" in c.text for c in chunks)


@pytest.mark.parametrize(
    "html,title,first",
    [
        # No <title>, no heading: the first paragraph is text, the title is the file name.
        ("<html><body><p>区财政局称，上半年财政收入207.19亿元。</p><p>支出增长3%。</p></body></html>", "page", "207.19亿元"),
        # A <title> the text never repeats: the text starts at once.
        ("<html><head><title>财政快讯</title></head><body><p>上半年财政收入207.19亿元。</p></body></html>", "财政快讯", "207.19亿元"),
    ],
)
def test_html_without_headings(tmp_path: Path, html: str, title: str, first: str):
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    document, chunks = chunks_of(path)
    assert document.title == title
    assert any(first in c.text for c in chunks)
