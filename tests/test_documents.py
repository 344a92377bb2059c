"""ingest.documents: contents-driven splitting of compilations, single documents, header metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.cleaning import clean_text
from ingest.documents import NOTES_HEADING, build_documents, find_contents, normalize_title
from ingest.loaders import load_file
from ingest.models import Document, RawFile
from ingest.zh import strip_ws

REPORTS = Path(__file__).resolve().parents[1] / "ingest" / "data" / "reports"
GAZETTE = REPORTS / "000_20d7c97a3767f276.txt"
TOWN = REPORTS / "004_1aa96ab411d029c6.txt"

GAZETTE_TITLES = [
    "在区五届人大常委会第三十六次会议上的讲话",
    "履职报告",
    "履职报告",
    "青浦区人民代表大会常务委员会关于接受王金荣同志辞去青浦区第五届人民代表大会代表职务请求的决定",
    "青浦区人民政府关于上半年工作情况和下半年重点工作安排的报告",
    "青浦区人大常委会2020年上半年工作情况和下半年主要工作安排报告",
    "青浦区人民法院2020年上半年工作报告",
    "青浦区人民检察院2020年上半年工作报告",
    "青浦区人民代表大会常务委员会关于批准《青浦区2019年区本级决算》的决议",
    "关于青浦区2019年财政决算及2020年1-6月预算执行情况的报告",
    "关于青浦区2019年度本级预算执行和其他财政收支的审计工作报告",
    "青浦区人民代表大会财政经济委员会关于青浦区2019年区本级决算审查结果的报告",
    "青浦区人民政府关于区五届人大六次会议代表建议、批评和意见办理情况的报告",
    "青浦区人民法院关于区五届人大第六次会议代表建议办理情况的报告",
    "关于青浦区2020年上半年国民经济和社会发展计划执行情况的报告",
    "青浦区人民代表大会常务委员会任免名单（一）",
    "青浦区人民代表大会常务委员会任免名单（二）",
    "青浦区人民代表大会常务委员会任免名单（三）",
    "青浦区第五届人大常委会第三十六次会议议题",
    "青浦区第五届人大常委会第三十六次会议组成人员出席情况",
]
GAZETTE_PAGES = [1, 4, 18, 34, 35, 49, 60, 68, 75, 76, 87, 96, 100, 106, 109, 128, 129, 130, 131, 132]


def raw_file(text: str, name: str = "sample.txt", fmt: str = "txt", title_hint: str | None = None) -> RawFile:
    return RawFile(path=f"/data/{name}", text=text, format=fmt, encoding="utf-8", title_hint=title_hint)


@pytest.fixture(scope="module")
def gazette() -> list[Document]:
    return build_documents(load_file(GAZETTE))


@pytest.fixture(scope="module")
def town() -> Document:
    (document,) = build_documents(load_file(TOWN))
    return document


# --------------------------------------------------------------------------------------------------
# The shipped gazette
# --------------------------------------------------------------------------------------------------


def test_gazette_has_one_document_per_contents_entry(gazette: list[Document]) -> None:
    assert [d.title for d in gazette] == GAZETTE_TITLES
    assert [d.page for d in gazette] == GAZETTE_PAGES
    assert [d.doc_id for d in gazette] == [f"000_20d7c97a3767f276-{n:02d}" for n in range(1, 21)]
    assert all(d.source_file == str(GAZETTE) for d in gazette)


def test_gazette_documents_start_at_their_body_title(gazette: list[Document]) -> None:
    first_lines = [strip_ws(d.text.split("\n", 1)[0]) for d in gazette]
    assert first_lines[1] == first_lines[2] == "履职报告"  # `履 职 报 告` and `履职报告`
    # The contents says 审计工作报告, the body 审计报告: the body's own title line starts the document.
    assert first_lines[10] == "关于青浦区2019年度本级预算执行和其他财政收支的审计报告"
    for document, first_line in zip(gazette, first_lines):
        if document.title not in ("履职报告",) and "审计" not in document.title:
            assert first_line == strip_ws(document.title)


def test_gazette_excludes_contents_masthead_and_running_headers(gazette: list[Document]) -> None:
    for document in gazette:
        assert "目 录" not in document.text and "目录" not in document.text.split("\n", 1)[0]
        assert "朱要武（04）" not in document.text
        assert "上海市青浦区人民代表大会常务委员会公报" not in document.text
        assert "公报第四号" not in strip_ws(document.text)
        assert not document.text.startswith("第四号")
        assert document.text == document.text.strip()


def test_gazette_documents_cover_the_body_in_order(gazette: list[Document]) -> None:
    # The cleaned text (page furniture gone, sentences split around page notes rejoined: tests/test_cleaning.py)
    # from the first document's title on is exactly the documents' texts, in order.
    cleaned = clean_text(GAZETTE.read_text(encoding="utf-8")).text
    body = strip_ws(cleaned[cleaned.index("\n在区五届人大常委会第三十六次会议上的讲话\n") :])
    assert "".join(strip_ws(d.text) for d in gazette) == body


def test_gazette_reporters_and_dates(gazette: list[Document]) -> None:
    assert gazette[0].reporter == "区人大常委会主任 朱明福"
    assert gazette[1].reporter == "青浦区经济委员会主任 朱要武"
    assert gazette[2].reporter == "青浦区市场监督管理局局长 王毅荣"
    assert gazette[4].reporter == "青浦区人民政府区长 余旭峰"
    assert gazette[10].reporter == "青浦区审计局局长 朱 民"
    assert gazette[11].reporter == "区人大财政经济委员会副主任委员 华 琼"
    assert gazette[6].reporter == "青浦区人民法院"
    assert gazette[0].date == "2020年7月16日"  # （2020年7月16日）
    assert gazette[1].date == "2020年7月15日"  # ——2020年7月15日在…
    assert gazette[9].date == "2020年7月16日"  # ——2020 年 7 月 16 日在…
    assert gazette[6].date == "2020年7月15日"  # (2020 年 7 月 15 日)
    assert gazette[19].date == "2020年7月15日"  # (会期两天, 2020年7月15日)
    assert all(d.footnotes == [] for d in gazette)


def test_gazette_contents_parse() -> None:
    contents = find_contents(GAZETTE.read_text(encoding="utf-8"))
    assert contents is not None
    assert [e.page for e in contents.entries] == GAZETTE_PAGES
    names = [e.name for e in contents.entries]
    assert names[:3] == ["朱明福", "朱要武", "王毅荣"] and names[10] == "朱 民" and names[3] is None


# --------------------------------------------------------------------------------------------------
# The shipped town report
# --------------------------------------------------------------------------------------------------


def test_town_report_is_one_document_with_metadata(town: Document) -> None:
    assert town.doc_id == "004_1aa96ab411d029c6"
    assert town.title == "政府上半年工作情况报告"
    assert town.page is None
    assert town.date == "2020年8月18日"
    assert town.reporter == "宦勇"
    assert "footnoteRef" not in town.text and "bookmark" not in town.text


def test_town_report_footnotes_appended_under_notes(town: Document) -> None:
    assert [f.n for f in town.footnotes] == list(range(1, 20))
    body, notes = town.text.rsplit("\n\n" + NOTES_HEADING + "\n", 1)
    note_lines = notes.split("\n")
    assert len(note_lines) == 19
    assert note_lines[0] == "六稳：稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期。"
    assert note_lines[18].startswith("四种形态：党内关系要正常化")
    assert note_lines[18].endswith("而严重违纪涉嫌违法立案审查的只能是极少数。")
    assert [line.split("：", 1)[0] for line in note_lines] == [f.term for f in town.footnotes]
    for footnote in town.footnotes:
        (offset,) = footnote.ref_offsets
        assert offset <= len(body)
    six_stable = town.footnotes[0].ref_offsets[0]
    assert town.text[six_stable - 4 : six_stable] == "“六稳”"
    assert "\n]" not in town.text


# --------------------------------------------------------------------------------------------------
# A synthetic compilation: wrapped and spaced titles, near-miss titles, shared titles
# --------------------------------------------------------------------------------------------------

COMPILATION = """\
目　录

第二号

区人民政府关于2021年上半年
工作情况和下半年工作安排的报告\t李四（01）
履职报告\t张三（05）
履职报告\t赵六（07）
关于 2020 年度区本级预算执行的审计工作报告\t王 五（０９）
区人大常委会任免名单\t(12)

区人民政府关于 2021 年上半年工作情况和
下半年工作安排的报告

——2021年7月1日在区第六届人民代表大会常务委员会
第五次会议上

区人民政府区长 李四

各位代表：

上半年，全区经济运行总体平稳。正文提到履职报告和审计报告，但这不是标题。

履 职 报 告

区交通委员会主任 张三

主任、各位副主任、各位委员：

我就履职情况报告如下。[footnoteRef:1] [1: 、三定：定人、定时、定岗。]

履职报告

区民政局局长 赵六

各位委员：

民政工作稳步推进。

关于 2020 年度区本级预算执行的审计报告

（2021年7月2日）

区审计局局长 王 五

审计发现问题12个。

区人大常委会任免名单

（2021年7月2日区第六届人民代表大会常务委员会
第五次会议通过）

任命张三为区交通委员会主任。
"""


@pytest.fixture(scope="module")
def compilation() -> list[Document]:
    return build_documents(raw_file(COMPILATION, name="gazette_02.txt"))


def test_synthetic_compilation_titles_pages_ids(compilation: list[Document]) -> None:
    assert [d.title for d in compilation] == [
        "区人民政府关于2021年上半年工作情况和下半年工作安排的报告",
        "履职报告",
        "履职报告",
        "关于2020年度区本级预算执行的审计工作报告",
        "区人大常委会任免名单",
    ]
    assert [d.page for d in compilation] == [1, 5, 7, 9, 12]  # full-width ０９ read as 9
    assert [d.doc_id for d in compilation] == [f"gazette_02-{n:02d}" for n in range(1, 6)]


def test_synthetic_compilation_texts(compilation: list[Document]) -> None:
    first, second, third, audit, appointments = compilation
    assert first.text.startswith("区人民政府关于 2021 年上半年工作情况和\n下半年工作安排的报告\n")
    assert first.text.endswith("但这不是标题。")
    assert second.text.startswith("履 职 报 告")
    assert third.text.startswith("履职报告\n\n区民政局局长 赵六")
    assert audit.text.startswith("关于 2020 年度区本级预算执行的审计报告")
    assert appointments.text.endswith("任命张三为区交通委员会主任。")
    assert all("目" not in d.text[:3] and "第二号" not in d.text for d in compilation)


def test_synthetic_compilation_metadata(compilation: list[Document]) -> None:
    first, second, third, audit, appointments = compilation
    assert (first.date, first.reporter) == ("2021年7月1日", "区人民政府区长 李四")
    assert second.reporter == "区交通委员会主任 张三"
    assert third.reporter == "区民政局局长 赵六"
    assert (audit.date, audit.reporter) == ("2021年7月2日", "区审计局局长 王 五")
    assert (appointments.date, appointments.reporter) == ("2021年7月2日", None)


def test_synthetic_compilation_footnotes_stay_with_their_document(compilation: list[Document]) -> None:
    second = compilation[1]
    assert [f.term for f in second.footnotes] == ["三定"]
    assert second.text.endswith("\n\n注释\n三定：定人、定时、定岗。")
    offset = second.footnotes[0].ref_offsets[0]
    assert second.text[:offset].endswith("我就履职情况报告如下。")
    assert all(not d.footnotes for i, d in enumerate(compilation) if i != 1)


# --------------------------------------------------------------------------------------------------
# Single documents and odd input
# --------------------------------------------------------------------------------------------------


def test_contents_heading_without_entries_gives_one_document() -> None:
    text = "年度报告\n\n目录\n\n一些说明文字。\n\n正文第一段。\n"
    (document,) = build_documents(raw_file(text, name="odd.txt"))
    assert (document.doc_id, document.title, document.page) == ("odd", "年度报告", None)
    assert document.text == text.strip()


def test_chapter_contents_of_one_report_gives_one_document() -> None:
    text = (
        "区政府工作报告\n目 录\n一、总体情况（1）\n二、主要工作（3）\n三、下步打算（6）\n\n"
        "一、总体情况\n\n正文。\n\n二、主要工作\n\n正文。\n\n三、下步打算\n\n正文。\n"
    )
    (document,) = build_documents(raw_file(text, name="chapters.txt"))
    assert document.title == "区政府工作报告"
    assert "三、下步打算（6）" in document.text


def test_contents_whose_titles_are_not_in_the_body_gives_one_document() -> None:
    text = "目录\n甲报告\t（1）\n乙报告\t（2）\n\n完全不同的正文。\n"
    (document,) = build_documents(raw_file(text, name="nomatch.txt"))
    assert document.doc_id == "nomatch"


def test_markdown_title_from_heading() -> None:
    text = "前言一句。\n\n# 青浦区 2020 年审计报告\n\n（2020年7月16日）\n\n青浦区审计局局长 朱 民\n\n## 一、概况\n\n正文。"
    (document,) = build_documents(raw_file(text, name="a.md", fmt="md", title_hint="青浦区 2020 年审计报告"))
    assert document.title == "青浦区2020年审计报告"
    assert (document.date, document.reporter) == ("2020年7月16日", "青浦区审计局局长 朱 民")
    assert document.text == text


def test_html_title_hint_used() -> None:
    (document,) = build_documents(raw_file("# 标题\n正文。", name="p.html", fmt="html", title_hint="区政府 工作报告"))
    assert document.title == "区政府工作报告"


def test_title_falls_back_to_first_line_and_whitespace_only_text_does_not_crash() -> None:
    (document,) = build_documents(raw_file("\n\n  履 职 报 告  \n正文。"))
    assert document.title == "履职报告"
    (empty,) = build_documents(raw_file("   \n\n"))
    assert (empty.title, empty.text) == ("sample", "")


def test_normalize_title_keeps_spaces_between_latin_words_only() -> None:
    assert normalize_title("青浦区 2019 年 区本级决算 COVID 19 报告") == "青浦区2019年区本级决算COVID 19报告"
    assert normalize_title("## 履 职 报 告") == "履职报告"


# --------------------------------------------------------------------------------------------------
# End to end from other formats and encodings
# --------------------------------------------------------------------------------------------------


def test_gb18030_gazette_splits_the_same(tmp_path: Path, gazette: list[Document]) -> None:
    path = tmp_path / "gazette_gbk.txt"
    path.write_bytes(GAZETTE.read_text(encoding="utf-8").encode("gb18030"))
    documents = build_documents(load_file(path))
    assert [d.title for d in documents] == GAZETTE_TITLES
    assert [d.text for d in documents] == [d.text for d in gazette]


def test_docx_report_end_to_end(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("川沙新镇政府工作报告", level=0)
    document.add_paragraph("──2020年8月18日在川沙新镇第二届人民代表大会")
    document.add_paragraph("第十次会议上")
    document.add_paragraph("镇长 宦勇")
    document.add_heading("一、上半年经济社会发展情况", level=1)
    document.add_paragraph("财政总收入12.42亿元。")
    path = tmp_path / "town.docx"
    document.save(path)

    (report,) = build_documents(load_file(path))
    assert (report.doc_id, report.title) == ("town", "川沙新镇政府工作报告")
    assert (report.date, report.reporter) == ("2020年8月18日", "镇长 宦勇")
    assert report.text.startswith("# 川沙新镇政府工作报告\n")
    assert "# 一、上半年经济社会发展情况" in report.text


def test_html_report_end_to_end(tmp_path: Path) -> None:
    html = (
        "<html><head><title>青浦区审计报告 - 门户网站</title></head><body>"
        "<h1>青浦区审计报告</h1><p>（2020年7月16日）</p><p>青浦区审计局局长 朱 民</p>"
        "<p>审计发现问题12个。</p></body></html>"
    )
    path = tmp_path / "audit.html"
    path.write_text(html, encoding="utf-8")
    (report,) = build_documents(load_file(path))
    assert report.title == "青浦区审计报告"  # the <h1>, not the site-decorated <title>
    assert (report.date, report.reporter) == ("2020年7月16日", "青浦区审计局局长 朱 民")
