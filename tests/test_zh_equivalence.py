"""ingest.zh pins: every pattern built from the data files matches exactly as the regex literal it replaced.

Each reference below is the regex literal as it stood in its module before the heuristics moved to
ingest.zh (the qa_service and ingest call sites now use the ingest.zh patterns): same spans and groups
for every match, on questions and report lines of the kinds the corpus holds. A change to a data file
that changes what a pattern matches fails here.
"""

from __future__ import annotations

import re

import pytest

from ingest import zh
from ingest.zh import answer, headings, names, numbers, places, question, text, time

EXAMPLES = [
    # questions
    "青浦区上半年财政收入是多少？",
    "2020年1-7月全区财政总收入同比下降了多少？",
    "川沙新镇的一般公共预算收入是多少亿元？",
    "嘉定区和青浦区相比，哪个的增幅更高？",
    "区法院和区检察院上半年分别受理了多少件案件？",
    "区政府工作报告和计划执行情况报告中的GDP增速分别是多少",
    "“六稳”是什么？",
    "“四个最严”具体指的是什么",
    "六保是哪六个方面？",
    "履职报告是由谁作的？",
    "审计报告是哪个部门提交的？",
    "作该报告的是谁",
    "在区五届人大常委会第三十六次会议上作讲话的是谁？",
    "作履职报告的青浦区经济委员会主任是谁",
    "区人大常委会主任是谁？",
    "任命朱要武为经济委员会主任了吗",
    "会议是什么时候召开的？哪一天？",
    "2020年7月15日在哪里开会",
    "有哪些重点项目？包括哪些内容",
    "新增了多少家企业，多少户，几项，多少人次",
    "占比百分之几？增长率是多少？",
    "全区经济运行情况如何",
    "上半年区里有多少个百分点的提升",
    "浦东新区上海市夏阳街道白鹤镇崇明县",
    "那下半年呢？",
    "那检察院呢",
    "它的同比增幅是多少？",
    "该项目是什么",
    "这些措施有哪些",
    "今年以来，去年年底，年初，三季度，四季度",
    "截至7月底，财政收入12.42亿元",
    "7月底、8月中旬、8月18日、2021年度",
    "资料中未找到相关信息。",
    "无法回答；没有信息；未提及；没有提到；没有相关信息",
    "1. 改写后的问题：青浦区上半年财政收入",
    "问题2: 区法院受理了多少件",
    "（1）独立问题：计划执行情况",
    # report text
    "1-7月，财政总收入12.42亿元，同比下降13.2%；一般公共预算收入3.23亿元，同比下降17.7%。",
    "全年完成固定资产投资207.19 亿元，比上年增长5.9%，占比达到35％。",
    "——2020年7月15日在青浦区第十六届人民代表大会常务委员会第三十六次会议上",
    "青浦区人民政府 青浦区人民法院 青浦区人民检察院 川沙新镇人民政府 川沙新镇人民代表大会",
    "上海市人民政府 浦东新区人民政府 夏阳街道人民政府 全区人民政府 推进区人民代表大会",
    "青浦区经济委员会 青浦区审计局 青浦区市场监督管理局 青浦区人民代表大会常务委员会",
    "青浦区人民政府关于2020年上半年工作情况和下半年主要工作安排的报告",
    "关于青浦区2019年财政决算的报告 审计工作报告 国民经济和社会发展计划执行情况",
    "区人大财政经济委员会副主任委员 华 琼",
    "1. **“四早”**：早发现、早报告、早隔离、早治疗。",
    "[1][2]财政收入下降[资料3]；增长[1, 3]【2】[1-3]",
    "同比下降13.2%",
    "达到35%", "达35%", "较上年增长", "约50亿元", "占全区的一半", "比上年增长5.9%", "比去年下降", "环比下降2%",
    "增幅5.9%", "降幅3%", "其中，工业", "完成投资", "增长率", "下降率为5%",
    "其中，完成投资50亿元，较去年约增长",
    "三个重点项目，十二项任务，两家企业",
    "上半年区财政 我区 本区 城区 新区 郊区 社区",
    "",
]

METHODS = ("finditer", "match", "fullmatch")


def _behaviour(pattern: re.Pattern[str], s: str) -> list:
    found = [(m.span(), m.groups()) for m in pattern.finditer(s)]
    whole = [(m.span(), m.groups()) if m else None for m in (pattern.match(s), pattern.fullmatch(s))]
    return [found, whole, pattern.split(s), pattern.sub("#", s)]


def assert_same(reference: str, new: re.Pattern[str], examples=EXAMPLES) -> None:
    ref = re.compile(reference)
    for s in examples:
        assert _behaviour(new, s) == _behaviour(ref, s), s


# -- qa_service/question.py ---------------------------------------------------------------------------------

QUESTION_REFERENCES = {
    "FIGURE_RE": (r"多少|几[个家件项名人次户所条座台张万亿]?|比例|比重|占比|增幅|增长|下降|同比|金额|数量|规模|百分之|%|率|总额|总量|收入|支出|面积", question.FIGURE_RE),
    "WHO_RE": (r"谁|哪位|哪个人|什么人|何人|姓名|名字|任命.*为|担任|由.+(?:报告|作)", question.WHO_RE),
    "DEFINITION_RE": (r"什么是|是什么|指什么|指的是|是指|含义|意思|定义|具体指|包括哪些|包含哪些|有哪些内容|是哪[几六五四三]", question.DEFINITION_RE),
    "LIST_RE": (r"哪些|哪几|有什么|包括|包含|列举|分别是", question.LIST_RE),
    # widened on 2026-12-03 by its last alternative: `在…会议上作讲话的是谁？`, `作履职报告的…主任是谁？` (issue 11)
    "REPORTER_RE": (r"由谁|谁作|谁做|谁(?:提交|报告|宣读)|报告人|哪个部门(?:提交|作|报告)|(?:作|提交|作了)(?:该|这份|此)?报告的是"
                    r"|(?:作|提交|宣读|发表)了?[^，,。？?；;]{0,12}?(?:报告|讲话|说明)的[^，,。？?；;]{0,16}?(?:是谁|是哪位|是哪个部门)", question.REPORTER_RE),
    "WHEN_RE": (r"什么时候|何时|哪天|哪一天|日期|哪年|哪月|几月|几日|时间", question.WHEN_RE),
    "ASKED_UNIT_RE": (r"(?:多少|几)(亿美元|万美元|亿元|万元|元|万平方米|平方米|公顷|亩|公里|人次|个百分点|[家户人件个项条座台张次名所宗处块起批期例])", question.ASKED_UNIT_RE),
    "DATE_RE": (r"\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月(?:底|初|中旬|上旬|下旬)", time.DATE_RE),
    "PLACE_RE": (r"(?<![全我本该各城市郊园社小片辖两老新])([\u4e00-\u9fff]{2,3}?(?:新镇|新区|镇|区|县|街道))", places.question_place_re()),
    "TIME_SCOPE_RE": (r"上半年|下半年|全年|一季度|二季度|三季度|四季度|\d{1,2}-\d{1,2}月|\d{4}年度?|\d{1,2}月底?|年初|年底|今年|去年", time.time_scope_re("question")),
    "quoted terms": (r"[“\"]([^”\"]{2,20})[”\"]", text.QUOTED_TERM_RE),
    "_places suffix": (r"(?:新镇|新区|镇|区|县|街道)$", places._suffix_at_end_re()),
    "_places noise": (r"[全年半上下的和与及在中本我该各为是了个们]", places.place_name_noise_re()),
    "_asked_unit percent": (r"百分之几|百分比|比例|比重|占比|[增降]幅|增长率|下降率|[^\d]率", question.ASKED_PERCENT_RE),
}


@pytest.mark.parametrize("name", sorted(QUESTION_REFERENCES))
def test_question_patterns_match_as_before(name: str) -> None:
    reference, new = QUESTION_REFERENCES[name]
    assert_same(reference, new, EXAMPLES + [zh.match_key(s) for s in EXAMPLES])


def test_stopwords_are_the_old_list() -> None:
    old = frozenset(
        """
        的 了 是 在 有 和 与 及 或 等 中 对 为 被 把 将 从 到 向 于 以 就 都 也 还 又 并 其 之 这 那 该 此 哪 吗 呢 吧 啊
        多少 几 几个 什么 哪些 哪个 哪位 哪里 哪儿 怎么 怎样 如何 为何 为什么 是否 有没有 是不是 谁 何 请问 请 一下 告诉 我
        情况 方面 多 大概 大约 具体 主要 分别 各 共 一共 总共 报告 里 里面 提到 提及 说 讲 给 所 能 可以 会 要 做 做了
        呢 么 吗 多大 多长 多高 到底 究竟 当时 那么 那下 下 呀 啥 咋 几项 几家 几件 多少次 时候 时间 哪一年 内容 意思 指 含义
        """.split()
    )
    assert question.STOPWORDS == old


def _old_asked_unit(norm: str) -> str | None:
    if re.search(r"百分之几|百分比|比例|比重|占比|[增降]幅|增长率|下降率|[^\d]率", norm):
        return "%"
    m = re.search(r"(?:多少|几)(亿美元|万美元|亿元|万元|元|万平方米|平方米|公顷|亩|公里|人次|个百分点|[家户人件个项条座台张次名所宗处块起批期例])", norm)
    return m.group(1) if m else None


@pytest.mark.parametrize("s", EXAMPLES)
def test_question_functions_as_before(s: str) -> None:
    # question_places left this pin on 2026-12-03: it reads jieba's words now and finds places the old
    # character scan lost (`嘉定区和青浦区` gave only 嘉定区); tests/test_zh.py checks it.
    norm = zh.match_key(s)
    assert question.asked_unit(norm) == _old_asked_unit(norm)


# -- qa_service/scope.py ------------------------------------------------------------------------------------

SCOPE_REFERENCES = {
    "COMPARE_RE": (r"相比|比较|对比|分别|一样|一致|相同|哪个|哪一个|哪份|两份|二者|两者|差多少|高多少|多多少|少多少|区别|不同|和.+(?:各|分别|都)", question.COMPARE_RE),
    "_MENTION_SPLIT_RE": (r"[，,、；;和与及跟同]|相比|比较|对比", question.MENTION_SPLIT_RE),
    "_REPORT_NOUN_RE": (r"报告|决算|名单|讲话|决议|决定|议题", question.REPORT_NOUN_RE),
    "_PLACE_RE": (r"([\u4e00-\u9fff]{2,3}?)(?:区|镇|县|街道)", places.scope_place_name_re()),
    "_KNOWN_PLACE_RE": (r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff]{2})(?:新镇|新区|区|镇)人民(?:政府|法院|检察院|代表大会)", places.known_body_place_re()),
    "_NOT_PLACE_CHARS": (r"[全我本该各城市郊园社小片辖两老新年半上下的和与在中各为是]", places.known_place_noise_re()),
}


@pytest.mark.parametrize("name", sorted(SCOPE_REFERENCES))
def test_scope_patterns_match_as_before(name: str) -> None:
    reference, new = SCOPE_REFERENCES[name]
    assert_same(reference, new, EXAMPLES + [zh.match_key(s) for s in EXAMPLES])


_OLD_BODY_SHORT_FORMS = (
    (r"(\w{2,3})区人民政府", ("{0}区政府", "区政府", "{0}政府")),
    (r"(\w{2,3})区人民法院", ("{0}区法院", "区法院", "法院", "{0}法院")),
    (r"(\w{2,3})区人民检察院", ("{0}区检察院", "区检察院", "检察院", "{0}检察院")),
    (r"人民代表大会常务委员会", ("人大常委会", "常委会", "区人大")),
    (r"人大常委会", ("区人大", "常委会")),
    (r"财政经济委员会", ("财经委",)),
    (r"财政决算", ("财政局", "决算", "财政")),
    (r"审计", ("审计局",)),
    (r"国民经济和社会发展计划", ("计划执行", "发改委")),
    (r"人民政府关于.*工作情况", ("政府工作报告", "区政府工作报告")),
)


def _old_aliases(title: str, reporter: str | None) -> str:
    parts = [title, reporter or ""]
    for pattern, forms in _OLD_BODY_SHORT_FORMS:
        for m in re.finditer(pattern, title):
            parts.extend(f.format(*m.groups()) for f in forms)
    return " ".join(parts)


def _old_known_places(texts) -> set[str]:
    counts: dict[str, int] = {}
    for t in texts:
        for m in re.finditer(r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff]{2})(?:新镇|新区|区|镇)人民(?:政府|法院|检察院|代表大会)", t):
            name = m.group(1)
            if not re.search(r"[全我本该各城市郊园社小片辖两老新年半上下的和与在中各为是]", name):
                counts[name] = counts.get(name, 0) + 1
    return {name for name, n in counts.items() if n >= 2}


def test_body_short_forms_and_aliases_as_before() -> None:
    assert names.body_short_forms() == _OLD_BODY_SHORT_FORMS
    for title in EXAMPLES:
        assert names.body_aliases(title, "朱要武") == _old_aliases(title, "朱要武")
    assert "区法院" in names.body_aliases("青浦区人民法院2020年上半年工作报告", None).split()


def test_known_places_as_before() -> None:
    texts = EXAMPLES + ["川沙新镇人民政府", "青浦区人民法院 青浦区人民检察院"]
    assert places.known_places(texts) == _old_known_places(texts)
    assert {"青浦", "川沙"} <= places.known_places(texts)


# -- qa_service/extractive.py, retriever.py, conversation.py, citations.py, llm.py -------------------------

ANSWER_REFERENCES = {
    "extractive._CLAUSE_SPLIT_RE": (r"[，,；;：:]", text.CLAUSE_SPLIT_RE),
    "extractive._CONTINUATION_RE": (r"^(?:同比|比上年|比去年|较|环比|增长|下降|增幅|降幅|占|其中|完成|达到?|约)", answer.CONTINUATION_RE),
    "extractive._SCOPE_CLAUSE_RE": (r"^(?:\d{1,2}-\d{1,2}月|\d{4}年(?:度|上半年|1-\d{1,2}月)?|上半年|下半年|全年|截至.{1,8}|今年以来|目前|一季度|二季度)$", time.scope_clause_re()),
    "extractive._NAME_HINT_RE": (r"任命|免去|同志|主任|局长|院长|庭长|委员|书记|代表|报告人|[\u4e00-\u9fff]{2,3}$", names.NAME_HINT_RE),
    "extractive._LIST_NUMBER_RE": (r"^\s*(?:\d{1,2}[.．、]|[（(]\d{1,2}[)）])", headings.LIST_NUMBER_RE),
    "extractive._YEAR_OR_DATE_RE": (r"\d{4}\s*年(?:度)?(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{1,2}-\d{1,2}月", time.YEAR_OR_DATE_RE),
    "extractive figures": (r"\d|[一二三四五六七八九十两百千万]+[个项家件人户条次]", numbers.CN_COUNT_RE),
    "extractive percent figure": (r"\d(?:\.\d+)?\s*[%％]|百分点", numbers.PERCENT_FIGURE_RE),
    "extractive digit": (r"\d", numbers.DIGIT_RE),
    "retriever._TIME_RE": (r"上半年|下半年|全年|一季度|二季度|三季度|四季度|\d{1,2}-\d{1,2}月|\d{4}年度?|\d{1,2}月底?|年初|年底", time.time_scope_re("retrieval")),
    "retriever._DEFINITION_RE": (r"什么是|是什么|指什么|指的是|含义|意思|是指|包括哪些|包含哪些|有哪些内容|具体指|定义", question.RETRIEVAL_DEFINITION_RE),
    "retriever term split": (r"[“”\"、]+", question.DEFINITION_TERM_SPLIT_RE),
    "conversation._PRONOUN_RE": (r"^(?:那么|那|它们|它|其中|其|该项?|这个|这项|这些|此)", question.FOLLOW_UP_PRONOUN_RE),
    "conversation._TRAILING_RE": (r"[呢吗？?。！!\s]+$", question.TRAILING_PARTICLES_RE),
    "conversation follow-up tail": (r"呢[？?]?$", question.FOLLOW_UP_TAIL_RE),
    "conversation._BODY_RE": (r"(?:人民)?(?:法院|检察院|政府)|人大常委会|[\u4e00-\u9fff]{0,4}?(?:委员会|局|委)", names.FOLLOW_UP_BODY_RE),
    "conversation._PLACE_RE": (r"[\u4e00-\u9fff]{1,5}?(?:新区|区|新镇|镇|县|市|街道)", places.follow_up_place_re()),
    "citations.MARKER_RE": (r"\s*[\[【]\s*(?:资料|来源|参考)?\s*(\d+(?:\s*[-–~～]\s*\d+)?(?:\s*[,，、]\s*(?:资料)?\s*\d+(?:\s*[-–~～]\s*\d+)?)*)\s*[\]】]", answer.MARKER_RE),
    "citations._LEADING_MARKERS_RE": (r"^(?:\s*[\[【]\s*(?:资料|来源|参考)?\s*(\d+(?:\s*[-–~～]\s*\d+)?(?:\s*[,，、]\s*(?:资料)?\s*\d+(?:\s*[-–~～]\s*\d+)?)*)\s*[\]】])+", answer.LEADING_MARKERS_RE),
    "citations._CLAUSE_RE": (r"[^，,；;：:]+[，,；;：:]?", text.CLAUSE_RE),
    "citations._SENTENCE_RE": (r"[^。！？!?；;\n]+[。！？!?；;]?", text.ANSWER_SENTENCE_RE),
    "citations marker items": (r"[,，、]", answer.MARKER_ITEM_SPLIT_RE),
    "citations marker numbers": (r"\d+", answer.MARKER_NUMBER_RE),
    "citations figure token": (r"[\d.%-]+", numbers.FIGURE_TOKEN_RE),
    "llm._LINE_PREFIX_RE": (r"^\s*(?:[-*•·]\s*|[（(]?\d{1,2}(?:[)）、:：]|\.(?!\d))\s*|(?:改写(?:后的问题)?|独立问题|问题)\s*\d?\s*[:：]\s*)+", answer.MODEL_LINE_PREFIX_RE),
    "llm.NOT_FOUND_RE": (r"资料中未找到|无法回答|没有(?:相关)?信息|未提及|没有提到", answer.NOT_FOUND_RE),
}


@pytest.mark.parametrize("name", sorted(ANSWER_REFERENCES))
def test_answer_side_patterns_match_as_before(name: str) -> None:
    reference, new = ANSWER_REFERENCES[name]
    assert_same(reference, new, EXAMPLES + [zh.match_key(s) for s in EXAMPLES])


def _old_has_figure_with_unit(t: str, unit: str) -> bool:
    norm = zh.normalize_for_match(t)
    if unit == "%":
        return bool(re.search(r"\d(?:\.\d+)?\s*[%％]|百分点", norm))
    return bool(re.search(r"\d(?:\.\d+)?\s*" + re.escape(unit), norm))


@pytest.mark.parametrize("unit", ["%", "亿元", "家", "件", "人次"])
def test_has_figure_with_unit_as_before(unit: str) -> None:
    for s in EXAMPLES:
        assert numbers.has_figure_with_unit(s, unit) == _old_has_figure_with_unit(s, unit), s
    assert numbers.has_figure_with_unit("财政总收入12.42 亿元", "亿元")


# -- ingest patterns built from data files -------------------------------------------------------------------

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
INGEST_REFERENCES = {
    "documents._OFFICE_NAME_RE": (
        rf"^(?P<office>[{_CJK}、]{{2,40}}?(?:长|主任|委员|书记|主席|部长|经理|负责人|代表|领导|理事|专员|干事|秘书))"
        rf"[ \u3000\t]+(?P<name>[{_CJK}](?:[ \u3000]?[{_CJK}]){{1,3}})$",
        names.OFFICE_NAME_RE,
    ),
    "documents._INSTITUTION_RE": (rf"^[{_CJK}]{{2,40}}(?:法院|检察院|委员会|人民政府|政府|局|办公室|办公厅|常委会|人大|管委会|中心)$", names.INSTITUTION_RE),
    "cleaning._INSTITUTION_GAZETTE_RE": (r"^\S{2,40}(?:委员会|人民政府|政府|人大|法院|检察院|办公厅|办公室)公报$", names.INSTITUTION_GAZETTE_RE),
    "tokenize._PLACE_BODY_RE": (r"(新镇|新区|街道|镇|区|县|市)(人民政府|人民法院|人民检察院|人民代表大会)", places.place_body_re()),
    "tokenize._ORG_SUFFIX": (r"青浦区[\u4e00-\u9fff]{2,10}?(?:法院|检察院|政府|委员会|局)", re.compile("青浦区" + names.ORG_SUFFIX)),
    "tokenize._CJK_RE": (r"[\u4e00-\u9fff]", text.HAN_RE),
}

HEADER_LINES = [
    "区人大常委会主任 朱明福",
    "青浦区审计局局长 朱 民",
    "区人大财政经济委员会副主任委员 华 琼",
    "青浦区经济委员会主任 朱要武",
    "青浦区人民法院",
    "青浦区人民代表大会常务委员会",
    "上海市青浦区人民代表大会常务委员会公报",
    "青浦区统计局公报",
    "2020年国民经济和社会发展统计公报",
    "青浦区审计局",
    "主任、各位副主任、各位委员：",
]


@pytest.mark.parametrize("name", sorted(INGEST_REFERENCES))
def test_ingest_patterns_from_data_match_as_before(name: str) -> None:
    reference, new = INGEST_REFERENCES[name]
    assert_same(reference, new, EXAMPLES + HEADER_LINES)


def test_number_patterns_from_units_as_before() -> None:
    old_units = (
        "亿美元", "万美元", "亿元", "万元", "千元", "元", "平方米", "万平方米", "公顷", "万亩", "亩", "公里",
        "千米", "米", "人次", "人", "户", "个", "件", "家", "起", "项", "条", "座", "台", "张", "次", "%", "％",
        "个百分点", "倍", "宗", "所", "名", "位", "班", "处", "块", "辆", "吨",
    )
    assert zh.UNITS == old_units
    unit_after = "(?:" + "|".join(sorted((re.escape(u) for u in (*old_units, "亿", "万", "年", "月", "日", "周岁", "岁", "批")), key=len, reverse=True)) + ")"
    assert_same(unit_after, numbers.TOKEN_UNIT_AFTER_RE)
    assert zh.extract_numbers("12.42 亿元，13.2％，12 748人") == ["12.42亿元", "13.2%", "12748人"]
    assert zh.bare_numbers("1—7月 207.19 亿元") == ["1", "7", "207.19"]


def test_word_lists_from_data_as_before() -> None:
    assert names.TITLE_ENDINGS == ("报告", "决定", "决议", "讲话", "名单", "议题", "情况", "意见", "办法", "规定", "通知", "公告", "说明")
    assert headings.GLOSSARY_TITLES == {"名词解释", "名词解释：", "名词解释:", "附：名词解释", "名词注释"}
    assert headings.NOTES_TITLES == {"注释", "注释：", "注释:", "脚注"}
    assert headings.CONTENTS_HEADINGS == {"目录", "目次"}


# -- punctuation sets and small helpers that left qa_service last ---------------------------------------------


def test_punctuation_sets_are_the_old_literals() -> None:
    assert question.QUESTION_END_MARKS == "？?。.！!"  # extractive.abstain
    assert answer.CLAIM_END_PUNCT == "。；;，, "  # claims.render
    assert answer.SENTENCE_PUNCT_ONLY == "。；;，,"  # citations.parse_marked_text
    assert answer.MODEL_REPLY_QUOTES == "“”\"'「」"  # llm._clean_line
    assert text.CLAUSE_MARKS == "，,；;：:"  # citations._narrow_to_figures


def _old_formal_body(fragment: str, old: str) -> str:
    new = fragment
    if old.startswith("人民") and fragment in ("法院", "检察院", "政府"):
        new = "人民" + fragment
    return new


@pytest.mark.parametrize("old", ["人民法院", "人民政府", "法院", "人大常委会", "经济委员会", "审计局"])
def test_follow_up_helpers_as_before(old: str) -> None:
    for fragment in ("法院", "检察院", "政府", "人大常委会", "审计局", "发改委", "人民法院"):
        assert names.formal_body(fragment, old) == _old_formal_body(fragment, old)
    for subject, ask in (("川沙新镇财政总收入", "的同比增幅是多少"), ("区法院", "受理案件"), ("", "的的")):
        assert question.follow_up_question(subject, ask) == f"{subject}的{ask.lstrip('的')}？"


@pytest.mark.parametrize("s", EXAMPLES)
def test_definition_head_as_before(s: str) -> None:
    assert headings.definition_head(s) == s.split("：", 1)[0]
