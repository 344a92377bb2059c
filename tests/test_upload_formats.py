"""What users upload: a saved web page keeps only its main content, a Word table its column names."""

from __future__ import annotations

from pathlib import Path

import docx

from ingest.loaders import load_file
from ingest.pipeline import parse_paths
from qa_service.config import Settings

NAV = ["首页", "政务公开", "办事服务", "互动交流", "网站地图"]
FOOTER = "主办单位：上海市嘉定区人民政府办公室 版权所有 沪ICP备12345678号"
PAGE = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>嘉定区2023年科技创新工作报告 - 嘉定区人民政府门户网站</title></head>
<body>
<div class="nav"><ul>{''.join(f'<li><a href="/{i}">{n}</a></li>' for i, n in enumerate(NAV))}</ul></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a> &gt; 工作报告</div>
<div class="main"><article>
<h1>嘉定区2023年科技创新工作报告</h1>
<p>2023年，嘉定区坚持创新驱动发展战略，全区科技创新工作取得新进展。全年新增高新技术企业356家，研发经费投入强度达到4.2%。</p>
<h2>一、主要工作</h2>
<p>全区围绕汽车、智能传感器等重点产业，建设科技创新平台15个，引进高层次人才230名，技术合同成交额同比增长18.5%。</p>
<table><tr><th>指标</th><th>2022年</th><th>2023年</th></tr><tr><td>高新技术企业（家）</td><td>1520</td><td>1876</td></tr></table>
<h2>二、下一步工作</h2>
<p>2024年，嘉定区将继续加大科技投入，推动产学研深度融合，力争新增高新技术企业400家。</p>
</article></div>
<div class="links"><h3>相关链接</h3><a href="/a">上海市人民政府</a> <a href="/b">嘉定区政协</a></div>
<footer><p>{FOOTER}</p><p>联系电话：021-12345678 地址：嘉定区博乐路111号</p></footer>
</body></html>
"""


def _passages(path: Path) -> list:
    return parse_paths([path], Settings().chunking_config()).corpus.chunks


def test_a_web_page_keeps_its_main_content_not_its_navigation_or_footer(tmp_path):
    page = tmp_path / "jiading.html"
    page.write_text(PAGE, encoding="utf-8")
    raw = load_file(page)
    assert raw.title_hint == "嘉定区2023年科技创新工作报告"
    lines = raw.text.split("\n")
    assert lines[0] == "# 嘉定区2023年科技创新工作报告" and "## 一、主要工作" in lines
    assert not any(line in NAV or "当前位置" in line or "相关链接" in line for line in lines)
    assert "主办单位" not in raw.text and "联系电话" not in raw.text
    chunks = _passages(page)
    texts = "\n".join(c.text for c in chunks)
    assert "新增高新技术企业356家" in texts and "力争新增高新技术企业400家" in texts
    assert not any(n in c.text for c in chunks for n in ("办事服务", "互动交流", "网站地图", "版权所有", "博乐路"))
    # the <th> row names the columns of the row passages
    assert any(c.kind == "table_row" and c.text == "指标：高新技术企业（家）；2022年：1520；2023年：1876" for c in chunks)


def test_a_fragment_without_main_content_keeps_all_its_text(tmp_path):
    page = tmp_path / "short.html"
    page.write_text("<p>财政总收入12.42亿元。</p>", encoding="utf-8")
    assert load_file(page).text == "财政总收入12.42亿元。"


def _report_docx(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    d = docx.Document()
    d.add_heading("青浦区2023年财政预算执行情况报告", 0)
    d.add_paragraph("一、收入情况")
    d.add_paragraph("全区一般公共预算收入完成情况良好，税收收入稳步增长，具体情况见下表。")
    table = d.add_table(rows=len(rows) + 1, cols=len(header))
    for r, values in enumerate([header, *rows]):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    d.add_paragraph("二、支出情况")
    d.add_paragraph("全区一般公共预算支出保持平稳。")
    d.save(path)
    return path


def test_a_word_table_becomes_self_describing_rows(tmp_path):
    # `2022年` starts with a digit: as plain tab rows the header would not be recognised
    path = _report_docx(tmp_path / "budget.docx", ["项目", "2022年", "2023年"],
                        [["税收收入（亿元）", "9.5", "10.2"], ["非税收入（亿元）", "1.2", "1.4"]])
    rows = [c.text for c in _passages(path) if c.kind == "table_row"]
    assert rows == ["项目：税收收入（亿元）；2022年：9.5；2023年：10.2", "项目：非税收入（亿元）；2022年：1.2；2023年：1.4"]
    assert "税收收入（亿元）；9.5；10.2" not in "\n".join(rows)


def test_a_word_table_opening_with_figures_has_no_header(tmp_path):
    path = _report_docx(tmp_path / "grid.docx", ["税收收入", "9.5", "10.2"], [["非税收入", "1.2", "1.4"]])
    rows = [c.text for c in _passages(path) if c.kind == "table_row"]
    assert not any("税收收入：" in r or "9.5：" in r for r in rows)
