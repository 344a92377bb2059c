"""ingest.cleaning: only debris is removed, characters are never changed, footnote offsets are right."""

from __future__ import annotations

from pathlib import Path

from ingest.cleaning import clean_text
from ingest.zh import strip_ws

REPORTS = Path(__file__).resolve().parents[1] / "ingest" / "data" / "reports"
GAZETTE = REPORTS / "000_20d7c97a3767f276.txt"
TOWN = REPORTS / "004_1aa96ab411d029c6.txt"


def test_bookmark_removed() -> None:
    cleaned = clean_text("第一，紧扣目标。\n[bookmark: _GoBack]加强税源管理促进税收落地。\n")
    assert cleaned.text == "第一，紧扣目标。\n加强税源管理促进税收落地。"
    assert cleaned.removed == {"bookmark": 1}


def test_footnote_refs_removed_with_offsets_and_definitions_parsed() -> None:
    text = (
        "扎实做好“六稳”[footnoteRef:1]“六保”[footnoteRef:2]工作。 [1: 、六稳：稳就业、稳金融。]  "
        "[2: 、六保：保居民就业、保基本民生。] \n再次提到“六稳”[footnoteRef:1]。\n"
    )
    cleaned = clean_text(text)
    assert cleaned.text == "扎实做好“六稳”“六保”工作。\n再次提到“六稳”。"
    first, second = cleaned.footnotes
    assert (first.n, first.term, first.definition) == (1, "六稳", "稳就业、稳金融。")
    assert (second.n, second.term, second.definition) == (2, "六保", "保居民就业、保基本民生。")
    # Each offset is where the reference stood: right after the term it annotates.
    assert [cleaned.text[o - 4 : o] for o in first.ref_offsets] == ["“六稳”", "“六稳”"]
    assert cleaned.text[second.ref_offsets[0] - 4 : second.ref_offsets[0]] == "“六保”"
    assert cleaned.removed == {"footnote_definition": 2, "footnote_ref": 3}


def test_multiline_definition_ending_with_lone_bracket() -> None:
    text = (
        "贯通运用监督执纪“四种形态”[footnoteRef:19]，抓早抓小。 [19: 、四种形态：党内关系要正常化；"
        "而严重违纪涉嫌违法立案审查的只能是极少数。 \n] \n\n各位代表、同志们，非常时期显非常之功。\n"
    )
    cleaned = clean_text(text)
    assert cleaned.text == "贯通运用监督执纪“四种形态”，抓早抓小。\n\n各位代表、同志们，非常时期显非常之功。"
    (footnote,) = cleaned.footnotes
    assert footnote.term == "四种形态"
    assert footnote.definition == "党内关系要正常化；而严重违纪涉嫌违法立案审查的只能是极少数。"
    assert "]" not in cleaned.text


def test_stray_lone_bracket_line_removed() -> None:
    cleaned = clean_text("第一段。\n]\n第二段。")
    assert cleaned.text == "第一段。\n第二段。"
    assert cleaned.removed == {"lone_bracket": 1}


def test_bracketed_number_in_ordinary_text_is_not_a_footnote() -> None:
    text = "见附表[3: 2020年数据]。"  # no `[footnoteRef:3]` and no `、术语：` shape
    assert clean_text(text).text == text


def test_running_header_and_issue_line_inside_table_keep_table_contiguous() -> None:
    text = (
        "表 1 主要目标完成情况\n\n"
        "序号\t指标名称\t年初预期目标\t上半年完成\t\t\n"
        "\t\t\t绝对数\t增幅（%）\t完成目标（%）\n"
        "5\t全社会固定资产投资\t450 亿元\t241.5\t1.4\t53.7\n\n"
        "上海市青浦区人民代表大会常务委员会公报\n\n"
        "6\t合同外资\t8 亿美元\t8.8\t5.9\t110\n\n"
        "2020 年公报第四号（总第 154 号）\n\n"
        "\t\t开设公办幼儿园托班 16 班\t启动内部装修\n\n"
        "（一）坚守疫情防控主战线\n"
    )
    cleaned = clean_text(text)
    assert cleaned.text == (
        "表 1 主要目标完成情况\n\n"
        "序号\t指标名称\t年初预期目标\t上半年完成\t\t\n"  # trailing empty cells kept
        "\t\t\t绝对数\t增幅（%）\t完成目标（%）\n"
        "5\t全社会固定资产投资\t450 亿元\t241.5\t1.4\t53.7\n"
        "6\t合同外资\t8 亿美元\t8.8\t5.9\t110\n"
        "\t\t开设公办幼儿园托班 16 班\t启动内部装修\n\n"  # continuation row keeps its empty cells
        "（一）坚守疫情防控主战线"
    )
    assert cleaned.removed == {"page_furniture": 2}


def test_repeated_running_header_and_page_numbers_removed() -> None:
    paragraphs = [f"第{n}段正文，内容完整。" for n in range(4)]
    text = "\n".join(f"{p}\n川沙新镇人民政府文件\n- {n + 1} -" for n, p in enumerate(paragraphs))
    cleaned = clean_text(text)
    assert cleaned.text == "\n".join(paragraphs)
    assert cleaned.removed == {"page_furniture": 8}


def test_repeated_content_lines_are_kept() -> None:
    # Salutations, closings and the wrapped tail of a `——…在…常务委员会` line recur in every gazette
    # report; they are content, not running headers.
    block = (
        "——2020年7月15日在青浦区第五届人民代表大会常务委员会\n第三十六次会议上\n\n"
        "（2020年7月15日青浦区第五届人民代表大会常务委员会\n第三十六次会议通过）\n\n"
        "主任、各位副主任、各位委员：\n\n正文。\n\n以上报告，请予审议。\n\n"
    )
    text = block * 3
    cleaned = clean_text(text)
    assert cleaned.text == text.strip("\n")
    assert cleaned.removed == {}


def test_statistical_bulletin_title_is_not_furniture() -> None:
    text = "2019年青浦区国民经济和社会发展统计公报\n\n全年实现地区生产总值1200亿元。"
    assert clean_text(text).text == text


def test_characters_never_changed_only_whitespace() -> None:
    text = "  青浦区 2020 年上半年工作报告   \n\n\n\n（一）１—７月完成207.19 亿元，增长13.2％。\u3000\n"
    cleaned = clean_text(text)
    assert cleaned.text == "青浦区 2020 年上半年工作报告\n\n（一）１—７月完成207.19 亿元，增长13.2％。"
    assert "2020 年" in cleaned.text and "（" in cleaned.text and "１" in cleaned.text


def test_sentence_split_around_page_notes_is_rejoined() -> None:
    text = (
        "一方面，提高执法覆盖面。2017 年来，累计立案查处各类违法案件\n\n"
        "⁵ “四个最严”：最严谨的标准、最严格的监管。\n\n⁶ “五进”：进社区、进乡村。\n\n"
        "4486 件，入库罚没款 7710.66 万元。\n\n另一方面，积极融入全区重点工作。"
    )
    cleaned = clean_text(text)
    assert cleaned.text.split("\n\n") == [
        "一方面，提高执法覆盖面。2017 年来，累计立案查处各类违法案件4486 件，入库罚没款 7710.66 万元。",
        "⁵ “四个最严”：最严谨的标准、最严格的监管。",
        "⁶ “五进”：进社区、进乡村。",
        "另一方面，积极融入全区重点工作。",
    ]
    assert cleaned.removed == {"rejoined_sentence": 1}


def test_complete_lines_and_headings_around_page_notes_stay_apart() -> None:
    # A finished sentence, and a heading (no prose punctuation, a numbered heading), are not halves of a sentence.
    for first in ("持续开展执法稽查。", "（三）创新社会治理", "三、深耕主责主业"):
        text = f"{first}\n\n⁵ “四个最严”：最严谨的标准。\n\n4486 件，入库罚没款。"
        assert clean_text(text).text == text
    # Nor is a line whose next non-note line is a heading.
    text = "累计立案查处各类违法案件，共\n\n⁵ “四个最严”：最严谨的标准。\n\n（三）创新社会治理"
    assert clean_text(text).text == text


def test_windows_line_endings() -> None:
    assert clean_text("第一行\r\n第二行\r\n").text == "第一行\n第二行"


def test_gazette_only_furniture_removed() -> None:
    raw = GAZETTE.read_text(encoding="utf-8")
    cleaned = clean_text(raw)
    assert cleaned.removed == {"page_furniture": 2, "rejoined_sentence": 5}
    assert "上海市青浦区人民代表大会常务委员会公报" not in cleaned.text
    assert "公报第四号" not in cleaned.text
    # Apart from whitespace, the cleaned text is the raw text minus exactly those two lines; the five sentences
    # split around a page's foot notes only moved their second halves.
    expected = strip_ws(raw).replace("上海市青浦区人民代表大会常务委员会公报", "").replace(
        strip_ws("2020 年公报第四号（总第 154 号）"), ""
    )
    assert sorted(strip_ws(cleaned.text)) == sorted(expected)
    assert "累计立案查处各类违法案件4486 件，入库罚没款" in cleaned.text
    assert "目 录" in cleaned.text  # the contents stays for documents.py
    assert "5\t全社会固定资产投资\t450 亿元\t241.5\t1.4\t53.7\n6\t合同外资" in cleaned.text


def test_town_report_footnotes() -> None:
    cleaned = clean_text(TOWN.read_text(encoding="utf-8"))
    assert [f.n for f in cleaned.footnotes] == list(range(1, 20))
    assert cleaned.removed == {"footnote_definition": 19, "footnote_ref": 19, "bookmark": 1}
    for marker in ("footnoteRef", "bookmark", "[1:", "[19:"):
        assert marker not in cleaned.text
    assert all(len(f.ref_offsets) == 1 for f in cleaned.footnotes)
    terms = {f.term: f for f in cleaned.footnotes}
    assert terms["六保"].definition.startswith("保居民就业")
    assert terms["四种形态"].definition.endswith("而严重违纪涉嫌违法立案审查的只能是极少数。")
    # The reference sits right after the quoted term in the text.
    offset = terms["三定"].ref_offsets[0]
    assert cleaned.text[offset - 4 : offset] == "“三定”"
    assert "    提升城市管理智能化水平" not in cleaned.text  # indentation debris stripped
    assert "\n提升城市管理智能化水平" in cleaned.text
