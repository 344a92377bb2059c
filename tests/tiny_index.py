"""A hand-made corpus of two documents and seven chunks, small enough to reason about every ranking.

Rows (row i = chunk i in every arm):
  0 a definition start 0    1 a text start 40    2 a text start 10    3 a text start 10 (ties row 2)
  4 b table start 0         5 b text start 5     6 b text start 30 (same text and headings as row 5)
"""

from __future__ import annotations

from pathlib import Path

from ingest.index_build import build_index
from ingest.models import Chunk, Document, GlossaryEntry, ParsedCorpus, Section
from qa_service.config import Settings

TITLE_A = "川沙新镇人民政府工作报告"
TITLE_B = "青浦区人民法院工作报告"
DOC_A_TEXT = "川沙新镇人民政府工作报告\n川沙新镇人民政府关于上半年工作情况的报告。青浦区合作项目顺利推进。"
# b writes 川沙新镇 with spaces inside, and alone names 朱家角镇
DOC_B_TEXT = "青浦区人民法院工作报告\n全院共受理各类案件一万余件。与川　沙 新镇法庭、朱家角镇法庭开展协作。"

ROWS: list[tuple[str, str, list[str], str, int]] = [
    ("a", "definition", [TITLE_A, "名词解释"], "六稳：稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期。", 0),
    ("a", "text", [TITLE_A, "二、下半年工作安排"], "下半年全力抓好六稳六保工作，推进川沙新镇城市更新。", 40),
    ("a", "text", [TITLE_A], "川沙新镇人民政府关于上半年工作情况的报告，财政总收入12.4亿元。", 10),
    ("a", "text", [TITLE_A, "一、 上半年 工作回顾"], "上半年完成固定资产投资，青浦区合作项目顺利推进。", 10),
    ("b", "table", [TITLE_B, "一、审判工作"], "案件类型\t收案数\n民事案件\t1200", 0),
    ("b", "text", [TITLE_B, "一、审判工作"], "全院共受理各类案件一万余件，审结率明显提高。", 5),
    ("b", "text", [TITLE_B, "一、审判工作"], "全院共受理各类案件一万余件，审结率明显提高。", 30),
]


def tiny_corpus() -> ParsedCorpus:
    chunks = [
        Chunk(id=f"{doc}.{i}", doc_id=doc, doc_title=path[0], heading_path=path, kind=kind, text=text, start=start,
              end=start + len(text))
        for i, (doc, kind, path, text, start) in enumerate(ROWS)
    ]
    documents = [
        Document(doc_id="a", title=TITLE_A, source_file="a.txt", text=DOC_A_TEXT, date="2020年8月18日"),
        Document(doc_id="b", title=TITLE_B, source_file="b.txt", text=DOC_B_TEXT, reporter="院长 张三"),
    ]
    sections = [
        Section(section_id="a-0", doc_id="a", heading=TITLE_A, level=0, family="title", start=0, end=len(DOC_A_TEXT)),
        Section(section_id="a-1", doc_id="a", heading="一、上半年工作回顾", level=1, family="cn_num", start=13, end=30,
                parent_id="a-0"),
        Section(section_id="b-1", doc_id="b", heading="一、审判工作", level=1, family="cn_num", start=12, end=40),
        Section(section_id="b-2", doc_id="b", heading="二、队伍建设", level=1, family="cn_num", start=40, end=50),
    ]
    glossary = [GlossaryEntry(term="六稳", definition="稳就业、稳金融…", doc_id="a", source="名词解释", chunk_id="a.0")]
    outlines = {"a": [{"heading": "一、上半年工作回顾", "level": 1, "children": []}]}  # b: none stored
    return ParsedCorpus(documents=documents, sections=sections, chunks=chunks, glossary=glossary, files=[],
                        outlines=outlines)


def build_tiny_index(index_dir: Path, embed_model: str = "none") -> Path:
    """The tiny corpus built as `reportqa ingest` builds (Settings); lexical arms only unless `embed_model` is
    given ("offline" trains the offline model: every kind of index file, in ~15 s)."""
    build_index(tiny_corpus(), Settings(index=index_dir).build_config(embed_model=embed_model))
    return index_dir
