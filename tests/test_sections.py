"""Heading detection: families, dynamic levels, false-heading guards, spans, outline."""

from __future__ import annotations

from pathlib import Path

from ingest.models import Document
from ingest.sections import heading_span, outline, parse_sections

GAZETTE = Path(__file__).resolve().parents[1] / "ingest" / "data" / "reports" / "000_20d7c97a3767f276.txt"


def _doc(text: str, title: str = "测试报告", doc_id: str = "t") -> Document:
    return Document(doc_id=doc_id, title=title, source_file="t.txt", text=text)


def _headings(doc: Document) -> list[tuple[int, str, str]]:
    return [(s.level, s.family, s.heading) for s in parse_sections(doc)[1:]]


def _gazette_slice(start_title: str, end_title: str) -> str:
    raw = GAZETTE.read_text(encoding="utf-8")
    body_from = raw.index("\n", raw.index("(132)"))  # past the contents page
    a = raw.index(start_title, body_from)
    return raw[a:raw.index(end_title, a + len(start_title))].strip()


def test_root_section_covers_document() -> None:
    doc = _doc("测试报告\n\n各位代表：\n\n一、总体情况\n\n正文。")
    secs = parse_sections(doc)
    assert secs[0].level == 0 and secs[0].heading == "测试报告"
    assert (secs[0].start, secs[0].end) == (0, len(doc.text))
    assert secs[0].section_id == "t.s000" and secs[1].section_id == "t.s001"


def test_nesting_cn_num_paren_arabic_paren_arabic() -> None:
    text = "\n".join([
        "测试报告", "一、总体情况", "正文。", "（一）第一方面", "正文。", "1.具体事项", "正文。",
        "（1）更细的事项", "正文。", "（2）另一细项", "正文。", "2.第二事项", "正文。",
        "（二）第二方面", "正文。", "二、下一步安排", "正文。",
    ])
    assert [(lv, fam) for lv, fam, _ in _headings(_doc(text))] == [
        (1, "cn_num"), (2, "cn_paren"), (3, "arabic"), (4, "arabic_paren"), (4, "arabic_paren"),
        (3, "arabic"), (2, "cn_paren"), (1, "cn_num"),
    ]


def test_levels_follow_first_seen_order() -> None:
    # A document that starts with （一） puts （一） at level 1 and 1. at level 2.
    text = "测试报告\n（一）甲方面\n正文。\n1.子项\n正文。\n2.子项二\n正文。\n（二）乙方面\n正文。"
    assert [(lv, fam) for lv, fam, _ in _headings(_doc(text))] == [
        (1, "cn_paren"), (2, "arabic"), (2, "arabic"), (1, "cn_paren"),
    ]


def test_skipped_level_nests_by_depth() -> None:
    # 1. directly under 一、 (no （一） in between) is level 2 there, level 3 under a later （一）.
    text = "测试报告\n一、甲\n正文。\n1.子项\n正文。\n二、乙\n正文。\n（一）分项\n正文。\n1.细项\n正文。"
    assert [lv for lv, _, _ in _headings(_doc(text))] == [1, 2, 1, 2, 3]


def test_part_and_chapter_families_court_report() -> None:
    doc = _doc(_gazette_slice("青浦区人民法院 2020 年上半年工作报告", "青浦区人民检察院 2020 年上半年工作报告"),
               title="青浦区人民法院 2020 年上半年工作报告")
    heads = _headings(doc)
    assert heads[0] == (1, "part", "第一部分 上半年工作总结")
    assert (2, "cn_num", "一、始终围绕中心工作，保障区域发展大局") in heads
    assert (3, "arabic", "1. 全面落实司法责任制") in heads
    assert (1, "part", "第二部分 下半年工作打算") in heads
    assert sum(1 for lv, fam, _ in heads if fam == "arabic") == 15


def test_chapter_and_markdown_families() -> None:
    text = "测试报告\n第一章 总则\n正文。\n第一节 目的\n正文。\n第二节 范围\n正文。\n第二章 分则\n正文。"
    assert [(lv, fam) for lv, fam, _ in _headings(_doc(text))] == [
        (1, "chapter"), (2, "jie"), (2, "jie"), (1, "chapter"),
    ]
    md = "# 测试报告\n\n## 一、概况\n\n正文。\n\n### 细节\n\n正文。\n\n## 二、计划\n\n正文。"
    assert [(lv, fam) for lv, fam, _ in _headings(_doc(md))] == [(1, "md2"), (2, "md3"), (1, "md2")]


def test_ordinal_openers_are_headed_paragraphs() -> None:
    text = (
        "政府上半年工作情况报告\n一、上半年经济社会发展情况\n"
        "第一，整合资源力量，全力打好疫情防控人民战、总体战、阻击战。建立四级防控包干责任机制。落实分工方案。\n"
        "第二，全面恢复经济社会运行秩序。复工复产复市成效显著。\n"
        "二、下半年经济社会工作安排\n第一，紧扣目标精准发力，全力以赴减少外部环境对经济发展的影响。\n加强税源管理。"
    )
    doc = _doc(text, title="政府上半年工作情况报告")
    secs = parse_sections(doc)
    heads = [(s.level, s.family, s.heading) for s in secs[1:]]
    assert heads[1] == (2, "ordinal", "第一，整合资源力量，全力打好疫情防控人民战、总体战、阻击战")
    assert heads[4] == (2, "ordinal", "第一，紧扣目标精准发力，全力以赴减少外部环境对经济发展的影响")
    s, e = heading_span(doc.text, secs[2])
    assert doc.text[s:e] == "第一，整合资源力量，全力打好疫情防控人民战、总体战、阻击战。"


def test_headed_paragraph_heading_is_first_sentence() -> None:
    text = "测试报告\n（一）甲\n1.加强生态环境保护治理。深入推进长三角生态绿色一体化示范区建设，全面落实问题整改。\n"
    doc = _doc(text)
    sec = parse_sections(doc)[2]
    assert (sec.family, sec.heading) == ("arabic", "1.加强生态环境保护治理")
    s, e = heading_span(doc.text, sec)
    assert doc.text[s:e] == "1.加强生态环境保护治理。"


def test_back_matter_is_level_one() -> None:
    text = ("测试报告\n一、甲\n（一）乙\n正文。\n附件：主要职责\n（一）负责甲。具体职责。\n（二）负责乙。具体职责。\n"
            "名词解释\n1. **“四早”**：早发现、早报告、早隔离、早治疗。\n2. “两网融合”：两网融合。\n注释\n六稳：稳就业。")
    heads = _headings(_doc(text))
    assert [(lv, fam) for lv, fam, _ in heads if fam in ("appendix", "glossary", "notes")] == [
        (1, "appendix"), (1, "glossary"), (1, "notes"),
    ]
    # the numbered glossary items are not headings
    assert not any(fam == "arabic" for _, fam, _ in heads)
    # headings inside an appendix nest under it
    assert (2, "cn_paren", "（一）负责甲") in heads


def test_table_rows_are_not_headings() -> None:
    text = "测试报告\n一、指标\n序号\t指标名称\t目标\n1\t地区生产总值\t增长 6%\n2\t一般公共预算收入\t增长 3%\n正文。"
    assert [fam for _, fam, _ in _headings(_doc(text))] == ["cn_num"]


def test_long_paragraph_is_not_a_heading() -> None:
    long_line = "一、" + "坚持以习近平新时代中国特色社会主义思想为指导全面贯彻落实党的十九大和十九届二中三中四中全会精神" * 2
    assert _headings(_doc("测试报告\n" + long_line + "\n正文。")) == []


def test_agenda_list_is_not_headings() -> None:
    agenda = _gazette_slice("青浦区第五届人大常委会第三十六次会议议题", "青浦区第五届人大常委会第三十六次会议组成人员")
    assert _headings(_doc(agenda, title="青浦区第五届人大常委会第三十六次会议议题")) == []
    short = "测试报告\n1. 审议人事任免事项；\n2. 听取工作报告；\n3. 书面审议计划执行情况。"
    assert _headings(_doc(short)) == []


def test_sequence_guard() -> None:
    # （三）/（四） with no （一） before them are paragraphs of a list, not headings.
    text = "测试报告\n一、甲\n正文。\n（三）负责统计监测。\n（四）实施企业分类管理。\n二、乙\n正文。"
    assert [fam for _, fam, _ in _headings(_doc(text))] == ["cn_num", "cn_num"]


def test_contents_lines_and_ranges_are_not_headings() -> None:
    text = "测试报告\n一、总体情况……3\n一、二季度地区生产总值同比下降。\n正文。"
    assert _headings(_doc(text)) == []


def test_duty_list_with_semicolons_is_not_headings() -> None:
    text = "测试报告\n一、甲\n正文。\n（一）跟踪研究服务业发展趋势，并组织落实；负责商业。\n（二）指导商贸服务业的发展；负责流通。"
    assert [fam for _, fam, _ in _headings(_doc(text))] == ["cn_num"]


def test_spans_nest_and_end_at_next_same_level() -> None:
    text = "测试报告\n一、甲\n（一）子\n正文。\n二、乙\n正文。"
    doc = _doc(text)
    root, one, sub, two = parse_sections(doc)
    assert one.end == two.start and sub.end == two.start and two.end == len(text)
    assert doc.text[one.start:].startswith("一、甲")
    assert sub.parent_id == one.section_id and one.children == [sub.section_id]


def test_outline_is_nested() -> None:
    text = "测试报告\n一、甲\n（一）子\n正文。\n二、乙\n正文。"
    tree = outline(parse_sections(_doc(text)))
    assert len(tree) == 1 and tree[0]["level"] == 0
    assert [c["heading"] for c in tree[0]["children"]] == ["一、甲", "二、乙"]
    assert tree[0]["children"][0]["children"][0]["heading"] == "（一）子"


def test_spaced_title_line_is_not_a_heading() -> None:
    text = "履 职 报 告\n\n——2020年7月15日在青浦区第五届人民代表大会常务委员会\n第三十六次会议上\n\n一、甲\n正文。"
    assert [fam for _, fam, _ in _headings(_doc(text, title="履职报告"))] == ["cn_num"]
