"""ingest.loaders: every format and encoding, built here in tmp_path, and the ways a file can be bad."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ingest.loaders import SUPPORTED_EXTENSIONS, UnreadableFile, iter_input_files, load_file, load_files

REPORT = "政府上半年工作情况报告\n1-7月，财政总收入12.42亿元，同比下降13.2%。\n（一）坚守疫情防控主战线\n"


# --------------------------------------------------------------------------------------------------
# Fixture builders
# --------------------------------------------------------------------------------------------------


def write_bytes(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("川沙新镇政府工作报告", level=1)
    document.add_paragraph("各位代表：")
    document.add_heading("一、上半年工作回顾", level=2)
    document.add_paragraph("财政总收入12.42亿元，同比下降13.2%。")
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(table.rows, [("指标", "完成", "增幅（%）"), ("地区生产总值", "232.2", "-6.4")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    document.add_paragraph("以上报告，请予审议。")
    document.save(path)
    return path


def make_pdf(path: Path) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    pdf.setFont("STSong-Light", 14)
    pdf.drawString(72, 750, "政府工作报告 2020年")
    pdf.drawString(72, 720, "财政总收入12.42亿元")
    pdf.showPage()
    pdf.setFont("STSong-Light", 14)
    pdf.drawString(72, 750, "第二页 Page 2")
    pdf.save()
    return path


HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>区政府工作报告</title>
<style>p { color: red; }</style><script>var secret = "不应出现";</script></head>
<body>
<h1>政府工作报告</h1>
<div><p>各位代表：</p><p>财政总收入<b>12.42</b>亿元。</p></div>
<h2>一、主要指标</h2>
<table><tr><th>指标</th><th>完成</th></tr><tr><td>地区生产总值</td><td>232.2</td></tr></table>
<ul><li>六稳</li><li>六保</li></ul>
<!-- 注释不是正文 -->
</body></html>
"""


# --------------------------------------------------------------------------------------------------
# Text encodings
# --------------------------------------------------------------------------------------------------


def test_txt_utf8(tmp_path: Path) -> None:
    data = REPORT.encode("utf-8")
    raw = load_file(write_bytes(tmp_path, "report.txt", data))
    assert raw.text == REPORT
    assert (raw.format, raw.encoding, raw.title_hint) == ("txt", "utf-8", None)
    assert raw.sha256 == hashlib.sha256(data).hexdigest()


def test_txt_utf8_bom_is_stripped(tmp_path: Path) -> None:
    raw = load_file(write_bytes(tmp_path, "bom.txt", b"\xef\xbb\xbf" + REPORT.encode("utf-8")))
    assert raw.text == REPORT
    assert not raw.text.startswith("\ufeff")
    assert raw.encoding == "utf-8-sig"


@pytest.mark.parametrize("codec", ["gb18030", "gbk", "gb2312"])
def test_txt_gb_family_is_decoded_as_gb18030(tmp_path: Path, codec: str) -> None:
    raw = load_file(write_bytes(tmp_path, f"{codec}.txt", REPORT.encode(codec)))
    assert raw.text == REPORT
    assert raw.encoding == "gb18030"


def test_md_title_is_first_level1_heading(tmp_path: Path) -> None:
    text = "前言\n\n## 小节\n\n# 青浦区审计报告\n\n正文。\n"
    raw = load_file(write_bytes(tmp_path, "a.md", text.encode("utf-8")))
    assert raw.format == "md"
    assert raw.title_hint == "青浦区审计报告"
    assert raw.text == text  # the `#` lines stay: the section parser reads them


# --------------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_table_in_order(tmp_path: Path) -> None:
    raw = load_file(make_docx(tmp_path / "r.docx"))
    lines = [line for line in raw.text.split("\n") if line]
    assert lines == [
        "# 川沙新镇政府工作报告",
        "各位代表：",
        "## 一、上半年工作回顾",
        "财政总收入12.42亿元，同比下降13.2%。",
        "指标\t完成\t增幅（%）",
        "---\t---\t---",  # the header rule under the first row: the row above is the header
        "地区生产总值\t232.2\t-6.4",
        "以上报告，请予审议。",
    ]
    assert (raw.format, raw.encoding, raw.title_hint) == ("docx", "docx", "川沙新镇政府工作报告")


def test_docx_title_style_wins_over_heading1(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("一、概况", level=1)
    document.add_heading("青浦区人民法院工作报告", level=0)  # level 0 = the Title style
    path = tmp_path / "t.docx"
    document.save(path)
    raw = load_file(path)
    assert raw.title_hint == "青浦区人民法院工作报告"
    assert "# 青浦区人民法院工作报告" in raw.text.split("\n")


def test_pdf_text_layer_with_chinese(tmp_path: Path) -> None:
    raw = load_file(make_pdf(tmp_path / "r.pdf"))
    assert (raw.format, raw.encoding) == ("pdf", "pdf")
    assert "12.42" in raw.text and "2020" in raw.text and "Page 2" in raw.text
    # pypdf reads the STSong-Light CID font back as real characters.
    assert "财政总收入12.42亿元" in raw.text
    assert raw.text.index("财政总收入") < raw.text.index("第二页")  # pages in order


def test_html_title_headings_table_and_no_script(tmp_path: Path) -> None:
    raw = load_file(write_bytes(tmp_path, "r.html", HTML.encode("utf-8")))
    lines = raw.text.split("\n")
    assert raw.format == "html"
    assert raw.title_hint == "区政府工作报告"
    assert lines == [
        "# 政府工作报告",
        "各位代表：",
        "财政总收入12.42亿元。",
        "## 一、主要指标",
        "指标\t完成",
        "---\t---",  # the header rule under a row of <th> cells
        "地区生产总值\t232.2",
        "六稳",
        "六保",
    ]
    assert "secret" not in raw.text and "color" not in raw.text and "注释不是正文" not in raw.text


def test_htm_gbk_without_title_uses_h1(tmp_path: Path) -> None:
    html = '<html><head><meta charset="gbk"></head><body><h1>青浦区审计报告</h1><p>审计发现问题12个。</p></body></html>'
    raw = load_file(write_bytes(tmp_path, "r.htm", html.encode("gbk")))
    assert raw.encoding == "gb18030"
    assert raw.title_hint == "青浦区审计报告"
    assert raw.text.split("\n") == ["# 青浦区审计报告", "审计发现问题12个。"]


# --------------------------------------------------------------------------------------------------
# Bad files
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b" \n\t\n", "empty file"),
        ("empty.docx", b"", "empty file"),
        ("nul.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
        ("broken.docx", b"PK\x03\x04 this is not a real zip archive", "corrupt docx"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage without xref\n", "corrupt pdf"),
        ("data.xyz", "正文".encode("utf-8"), "unsupported file type .xyz"),
    ],
)
def test_bad_files_raise_unreadable_with_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = write_bytes(tmp_path, name, data)
    with pytest.raises(UnreadableFile) as info:
        load_file(path)
    assert info.value.reason == reason
    assert info.value.path == str(path)
    assert reason in str(info.value)


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(72, 72, 200, 200)  # a page with graphics only, like a scan
    pdf.save()
    with pytest.raises(UnreadableFile, match="no text layer in pdf"):
        load_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="file not found"):
        load_file(tmp_path / "nope.txt")


# --------------------------------------------------------------------------------------------------
# Input file lists
# --------------------------------------------------------------------------------------------------


def test_iter_input_files_walks_folders_and_reports_explicit_unknown_files(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    for name in ["b.txt", "a.md", "sub/c.html", "sub/d.DOCX", "notes.xyz", ".hidden.txt", ".git/e.txt"]:
        write_bytes(folder, name, REPORT.encode("utf-8"))
    explicit = write_bytes(tmp_path, "extra.csv", b"a,b\n")

    found = iter_input_files([folder, explicit, folder / "a.md"])

    assert found == [folder / "a.md", folder / "b.txt", folder / "sub/c.html", folder / "sub/d.DOCX", explicit]
    assert ".docx" in SUPPORTED_EXTENSIONS and ".htm" in SUPPORTED_EXTENSIONS


def test_load_files_collects_skipped(tmp_path: Path) -> None:
    good = write_bytes(tmp_path, "good.txt", REPORT.encode("utf-8"))
    unknown = write_bytes(tmp_path, "table.csv", b"a,b\n")
    empty = write_bytes(tmp_path, "empty.md", b"")

    files, skipped = load_files([good, unknown, empty])

    assert [f.path for f in files] == [str(good)]
    assert {(s.path, s.reason) for s in skipped} == {
        (str(unknown), "unsupported file type .csv"),
        (str(empty), "empty file"),
    }


def test_html_title_with_site_name_prefers_h1(tmp_path: Path) -> None:
    html = "<html><head><title>青浦区审计报告 - 区政府门户网站</title></head><body><h1>青浦区审计报告</h1></body></html>"
    raw = load_file(write_bytes(tmp_path, "r.html", html.encode("utf-8")))
    assert raw.title_hint == "青浦区审计报告"
