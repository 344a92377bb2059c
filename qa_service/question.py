"""What a question asks: its intent (figure, person, definition, list, time) and its content terms."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.zh import bare_numbers, match_key

# Question words and fillers that carry no content: matching them in a passage proves nothing.
STOPWORDS = frozenset(
    """
    的 了 是 在 有 和 与 及 或 等 中 对 为 被 把 将 从 到 向 于 以 就 都 也 还 又 并 其 之 这 那 该 此 哪 吗 呢 吧 啊
    多少 几 几个 什么 哪些 哪个 哪位 哪里 哪儿 怎么 怎样 如何 为何 为什么 是否 有没有 是不是 谁 何 请问 请 一下 告诉 我
    情况 方面 多 大概 大约 具体 主要 分别 各 共 一共 总共 报告 里 里面 提到 提及 说 讲 给 所 能 可以 会 要 做 做了
    呢 么 吗 多大 多长 多高 到底 究竟 当时 那么 那下 下 呀 啥 咋 几项 几家 几件 多少次 时候 时间 哪一年 内容 意思 指 含义
    """.split()
)
FIGURE_RE = re.compile(r"多少|几[个家件项名人次户所条座台张万亿]?|比例|比重|占比|增幅|增长|下降|同比|金额|数量|规模|百分之|%|率|总额|总量|收入|支出|面积")
WHO_RE = re.compile(r"谁|哪位|哪个人|什么人|何人|姓名|名字|任命.*为|担任|由.+(?:报告|作)")
DEFINITION_RE = re.compile(r"什么是|是什么|指什么|指的是|是指|含义|意思|定义|具体指|包括哪些|包含哪些|有哪些内容|是哪[几六五四三]")
LIST_RE = re.compile(r"哪些|哪几|有什么|包括|包含|列举|分别是")
# `…的报告是由谁作的？` / `…是哪个部门提交的？`: asks for the document's reporter.
REPORTER_RE = re.compile(r"由谁|谁作|谁做|谁(?:提交|报告|宣读)|报告人|哪个部门(?:提交|作|报告)|(?:作|提交|作了)(?:该|这份|此)?报告的是")
WHEN_RE = re.compile(r"什么时候|何时|哪天|哪一天|日期|哪年|哪月|几月|几日|时间")
# The measure asked for: `多少家企业` -> 家, `多少户` -> 户, `几项` -> 项, `百分之几` -> %.
ASKED_UNIT_RE = re.compile(r"(?:多少|几)(亿美元|万美元|亿元|万元|元|万平方米|平方米|公顷|亩|公里|人次|个百分点|[家户人件个项条座台张次名所宗处块起批期例])")
DATE_RE = re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月(?:底|初|中旬|上旬|下旬)")
# Place names a question may name (川沙新镇, 嘉定区); the prefix excludes 全区/我区/本区-style words.
PLACE_RE = re.compile(r"(?<![全我本该各城市郊园社小片辖两老新])([\u4e00-\u9fff]{2,3}?(?:新镇|新区|镇|区|县|街道))")
TIME_SCOPE_RE = re.compile(r"上半年|下半年|全年|一季度|二季度|三季度|四季度|\d{1,2}-\d{1,2}月|\d{4}年度?|\d{1,2}月底?|年初|年底|今年|去年")


@dataclass
class QuestionAnalysis:
    text: str
    norm: str
    terms: list[str]
    numbers: list[str]
    time_scopes: list[str]
    wants_figure: bool
    wants_person: bool
    wants_definition: bool
    wants_list: bool
    wants_time: bool
    weights: dict[str, float] = field(default_factory=dict)
    asked_unit: str | None = None
    wants_reporter: bool = False
    places: list[str] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)  # terms in quotes: “四个最严”


def analyze(question: str, tokenize: Callable[[str], list[str]], idf: Callable[[str], float] | None = None) -> QuestionAnalysis:
    norm = match_key(question)
    tokens = []
    for t in tokenize(question):
        if t in STOPWORDS or len(t) < 2 and not t.isdigit():
            continue
        if t not in tokens:
            tokens.append(t)
    # Drop a token that is a substring of a longer token also present: search mode emits both
    # `人民法院` and `法院`, and counting both would double-weight one concept.
    terms = [t for t in tokens if not any(t != u and t in u for u in tokens)]
    weights = {t: (idf(t) if idf else 1.0) * (1.0 + 0.1 * min(len(t), 6)) for t in terms}
    weights = {t: w for t, w in weights.items() if w > 0}
    return QuestionAnalysis(
        text=question,
        norm=norm,
        terms=terms,
        numbers=[n for n in bare_numbers(question)],
        time_scopes=TIME_SCOPE_RE.findall(norm),
        wants_figure=bool(FIGURE_RE.search(norm)),
        wants_person=bool(WHO_RE.search(norm)),
        wants_definition=bool(DEFINITION_RE.search(norm)),
        wants_list=bool(LIST_RE.search(norm)),
        wants_time=bool(WHEN_RE.search(norm)),
        weights=weights,
        asked_unit=_asked_unit(norm),
        wants_reporter=bool(REPORTER_RE.search(norm)),
        places=_places(norm),
        quoted=[t for t in re.findall(r"[“\"]([^”\"]{2,20})[”\"]", question)],
    )


def _places(norm: str) -> list[str]:
    """Place names, without false ones like `上半年区` / `青浦全区` whose name part holds function characters."""
    out = []
    for m in PLACE_RE.finditer(norm):
        place = m.group(1)
        name = re.sub(r"(?:新镇|新区|镇|区|县|街道)$", "", place)
        if not re.search(r"[全年半上下的和与及在中本我该各为是了个们]", name) and place not in out:
            out.append(place)
    return out


def _asked_unit(norm: str) -> str | None:
    if re.search(r"百分之几|百分比|比例|比重|占比|[增降]幅|增长率|下降率|[^\d]率", norm):
        return "%"
    m = ASKED_UNIT_RE.search(norm)
    return m.group(1) if m else None
