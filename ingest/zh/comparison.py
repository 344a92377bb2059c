"""Questions that put two figures side by side: `A和B相比，哪个多？`, `A相当于B的几成？`, `A和B加起来有多少？`.

The question divides at its join word into the two things compared; the other pieces (the shared measure
`上半年农村生活污水改造的户数`, the ask `哪个多`) are context of both. Figures are read from passages with
their unit (`288337万元`), never a year or a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .lexicon import alternation, longest_first, rows, tagged, words
from .numbers import UNITS
from .places import question_places
from .question import STOPWORDS
from .text import normalize_for_match
from .time import YEAR_OR_DATE_RE

_JOIN_RE = re.compile(longest_first(tagged("compare_ops", "join")))
_RATIO_RE = re.compile(longest_first(tagged("compare_ops", "ratio")))
_SUM_RE = re.compile(longest_first(tagged("compare_ops", "sum")))
_CHOOSE_RE = re.compile(longest_first(tagged("compare_ops", "choose")))
_COMPARE_RE = re.compile(longest_first(tagged("compare_ops", "compare")))
# Where the second mention ends: the next join, an asking word or an operation word (`…相比哪个多`).
_MENTION_END_RE = re.compile(
    "|".join(
        longest_first(tagged(name, tag))
        for name, tag in (("compare_ops", "join"), ("compare_ops", "ratio"), ("compare_ops", "sum"),
                          ("compare_ops", "choose"), ("ask_words", "ask"), ("compare_asks", "which"),
                          ("compare_asks", "agree"))
    )
)
_ASKING_RE = re.compile(
    "|".join(longest_first(tagged("compare_ops", tag)) for tag in ("choose", "compare", "ratio", "sum", "join"))
)
_MENTION_TRIM = "的是有为"  # linking words left at a mention's end: `“计划解决”的`
_WITHIN_RE = re.compile(f"(?:{longest_first(tagged('compare_ops', 'within'))})$")
_REMAIN_RE = re.compile(
    f"(?:{longest_first(tagged('compare_ops', 'remain'))})[^，,。？?！!；;]*?(?:{longest_first(tagged('compare_ops', 'negation'))})"
)
_GAP_RE = re.compile(
    f"(?:{longest_first(tagged('compare_ops', 'gap'))})([^，,。？?！!；;]+?)(?:{longest_first(tagged('compare_ops', 'gap_ask'))})"
)
# `占了多大比例`: the share asked right after 占, so the whole is named elsewhere (in a `…中` piece).
_SHARE_RE = re.compile(f"占[了的]?(?:{longest_first(tagged('compare_ops', 'ratio'))})")
_ASKED_TAIL_RE = re.compile(f"(?:{longest_first(tagged('ask_words', 'ask'))}).*$")
# The question's stopwords (ingest.zh.question.STOPWORDS), longest first: a piece of them alone names nothing.
_STOPWORD_RE = re.compile(longest_first(sorted(STOPWORDS)))
# Where a figure's sentence ends when its scope is read: not at `；`, since in `1—6月，我院共受理各类案件20813件；
# 审结19567件` the second figure shares the first one's scope.
FIGURE_SENTENCE_ENDS = "。！？!?"
# A figure's clause, with its closing mark: list items (`、`) are clauses here, since in `合同外资已超额完成、实到外资
# 完成75%` the figure is the second item's.
FIGURE_CLAUSE_RE = re.compile(r"[^，,；;：:、]+[，,；;：:、]?")
# Marks a quote never starts with (the end of the clause before it).
QUOTE_LEADING_MARKS = "，,；;：:。、"
# A year as a time scope in normalised text: `2019年`.
YEAR_RE = re.compile(r"\d{4}年")
_PIECE_SPLIT_RE = re.compile(r"[，,；;？?。！!：:]")
# A figure with its unit in normalised text: `288337万元`, `84.1%`, `8.8亿美元`, `1246件`.
FIGURE_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(" + longest_first(UNITS) + ")")


@dataclass(frozen=True)
class Compared:
    """What a comparison question compares: two mentions, their shared context and the operation asked."""

    first: str
    second: str
    shared: str  # the pieces naming neither (`上半年农村生活污水改造的户数`, `哪个多`)
    op: str  # "difference" | "ratio" | "sum"


def operation(question: str) -> str:
    if _RATIO_RE.search(question):
        return "ratio"
    if _SUM_RE.search(question):
        return "sum"
    return "difference"


def is_comparison(question: str) -> bool:
    """It asks to compare or combine two figures (a compare cue, which of two, a ratio or a sum), or one figure
    against another it is part of (compared_parts)."""
    return any(p.search(question) for p in (_COMPARE_RE, _CHOOSE_RE, _RATIO_RE, _SUM_RE)) or compared_parts(
        normalize_for_match(question)
    ) is not None


def compared(question: str) -> Compared | None:
    """The two mentions around the question's join word: `2019年…的教育支出和农林水支出，哪一项更多？` ->
    (`2019年…的教育支出`, `农林水支出`, shared `哪一项更多`)."""
    q = normalize_for_match(question).strip()
    parts = compared_parts(q)
    if parts is not None:  # before the join words: `购置及运行费` is one thing, not two joined by 及
        return parts
    for m in _JOIN_RE.finditer(q):
        before, after = q[: m.start()], q[m.end() :]
        left = _PIECE_SPLIT_RE.split(before)
        right = _PIECE_SPLIT_RE.split(after)
        # `A，相当于B`, `A，大约相当于B`: the mention is the last piece before the comma that names something
        while left and not _names_something(left[-1]):
            left.pop()
        if not left or not right or not right[0].strip():
            continue
        end = _MENTION_END_RE.search(right[0])
        first = left[-1].strip().rstrip(_MENTION_TRIM)
        second = (right[0][: end.start()] if end else right[0]).strip().rstrip(_MENTION_TRIM)
        if len(first) < 2 or len(second) < 2:
            continue
        rest = right[0][end.start() :] if end else ""
        shared = "，".join(p for p in [*left[:-1], rest, *right[1:]] if p.strip())
        shared = _ASKING_RE.sub("", _WHICH_RE.sub("", shared))  # `哪个多`, `几成`: how it asks, not what it measures
        return Compared(first, second, shared, operation(q))
    return None


def _names_something(piece: str) -> bool:
    """Whether a piece holds more than stopwords (`大约` does not)."""
    return bool(_STOPWORD_RE.sub("", piece).strip())


def compared_parts(q: str) -> Compared | None:
    """One figure against another it is part of or measured against, in a normalised question:
    - a share of a whole named in a `…中` piece: `“三公”经费中，公务用车购置及运行费占了多大比例` ->
      (`公务用车购置及运行费`, `“三公”经费`, ratio);
    - what of a whole is not yet done: `受理的各类案件中，还有多少件没有审结` -> (`受理的各类案件`, `审结`, difference);
    - how far one figure is from another: `债务余额离市里核定的债务限额还有多大空间` -> (`债务余额`, `…债务限额`,
      difference).
    The pieces naming neither are the shared context."""
    pieces = [p.strip() for p in _PIECE_SPLIT_RE.split(q) if p.strip()]
    gap = next(((i, m) for i, p in enumerate(pieces) if (m := _GAP_RE.search(p))), None)
    if gap is not None:
        i, m = gap
        first, second = pieces[i][: m.start()].rstrip(_MENTION_TRIM), m.group(1).strip().rstrip(_MENTION_TRIM)
        return _parts(first, second, pieces[:i] + pieces[i + 1 :], "difference")
    whole_at = next((i for i, p in enumerate(pieces) if _WITHIN_RE.search(p) and i + 1 < len(pieces)), None)
    if whole_at is None:
        return None
    whole = _WITHIN_RE.sub("", pieces[whole_at]).rstrip(_MENTION_TRIM)
    rest = pieces[:whole_at] + pieces[whole_at + 2 :]
    asked = pieces[whole_at + 1]
    share = _SHARE_RE.search(asked)
    if share is not None:
        return _parts(asked[: share.start()].rstrip(_MENTION_TRIM), whole, rest, "ratio")
    remain = _REMAIN_RE.search(asked)
    if remain is not None:
        part = _ASKED_TAIL_RE.sub("", asked[remain.end() :]).rstrip(_MENTION_TRIM + "吗呢")
        return _parts(whole, part, rest, "difference")
    return None


def _parts(first: str, second: str, rest: list[str], op: str) -> Compared | None:
    if len(first) < 2 or len(second) < 2:
        return None
    return Compared(first, second, "，".join(rest), op)


def measured(pair: Compared) -> Compared:
    """A mention that is only a place measures what the other mention's words after its place do, when the
    question names the measure nowhere else: `川沙新镇和青浦区的财政收入` -> (`川沙新镇的财政收入`, `青浦区的财政收入`);
    else the pair as it is (`上半年…的户数，川沙新镇和青浦区实事工程(表2)相比` names it before)."""
    if pair.shared.strip("，, "):
        return pair
    first, second = _place_only(pair.first, pair.second), _place_only(pair.second, pair.first)
    return Compared(first, second, pair.shared, pair.op) if (first, second) != (pair.first, pair.second) else pair


def _place_only(mention: str, other: str) -> str:
    places, others = question_places(mention), question_places(other)
    if places != [mention] or not others or not other.startswith(others[0]) or len(other) <= len(others[0]):
        return mention
    return mention + other[len(others[0]) :]


def mention_queries(pair: Compared) -> tuple[str, str]:
    """Each mention with what both measure, as a query of its own: (`川沙新镇1-7月财政总收入…`, `青浦区…收入…`)."""
    shared = pair.shared.strip("，, ")
    return pair.first + shared, pair.second + shared


def names_or_asks(term: str) -> bool:
    """A term naming a report (`审计报告`, `决算`) or asking whether two agree (`一致`): not what a figure measures
    when the question compares two named documents."""
    return bool(_NAMING_OR_ASKING_RE.search(term))


_NAMING_OR_ASKING_RE = re.compile(alternation((*words("report_nouns"), *tagged("compare_asks", "agree"))))


def mention_places(mention: str) -> list[str]:
    """The places a mention names (`川沙新镇1-7月财政总收入` -> [川沙新镇])."""
    return question_places(mention)


@dataclass(frozen=True)
class Figure:
    value: str  # as written: `120.6`
    unit: str  # `亿元`, `%`
    start: int  # offsets in the text it was read from
    end: int


def figures(text: str) -> list[Figure]:
    """Figures with units in a text (offsets into `text`), without years and dates."""
    out = []
    dated = [m.span() for m in YEAR_OR_DATE_RE.finditer(text)]
    for m in FIGURE_RE.finditer(text):
        if any(s <= m.start() < e for s, e in dated):
            continue
        unit = m.group(2).replace("％", "%")
        out.append(Figure(m.group(1), unit, m.start(), m.end()))
    return out


_EQUIVALENT_TIMES = {row[0]: row[1:] for row in rows("time_equivalents")}
_SCALES = {row[0]: (row[1], Decimal(row[2])) for row in rows("unit_scales")}


def time_forms(scope: str) -> tuple[str, ...]:
    """A time scope and the other ways the reports write it: 上半年 -> (上半年, 1-6月)."""
    return (scope, *_EQUIVALENT_TIMES.get(scope, ()))


def common_unit(first: str, second: str) -> tuple[str, Decimal, Decimal] | None:
    """The unit two figures are compared in, with the factors taking each there: (亿元, 万元) -> (亿元, 1, 0.0001);
    the same unit -> (unit, 1, 1); None when they measure different things."""
    if first == second:
        return first, Decimal(1), Decimal(1)
    a, b = _SCALES.get(first), _SCALES.get(second)
    if a is None or b is None or a[0] != b[0]:
        return None
    return first, Decimal(1), b[1] / a[1]


def compute(op: str, a: str, b: str, scale: Decimal = Decimal(1)) -> str | None:
    """The result as it is written in an answer: difference |a-b|, ratio a/b as a percentage with one
    decimal, or the sum; decimals as many as the operands have. `scale` takes b into a's unit."""
    try:
        x, y = Decimal(a), Decimal(b) * scale
    except InvalidOperation:
        return None
    places = max(_places(a), _places(b) if scale == 1 else _places(a))
    if op == "ratio":
        if y == 0:
            return None
        return str((x / y * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    result = x + y if op == "sum" else abs(x - y)
    return str(result.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _places(number: str) -> int:
    return len(number.split(".", 1)[1]) if "." in number else 0


def same_quantity(a: Figure, b: Figure) -> bool:
    """Whether two figures state one quantity: 2071889万元 and 207.19亿元 (to the precision written)."""
    unit = common_unit(a.unit, b.unit)
    return unit is not None and agrees(a.value, b.value, unit[2])


# -- which of the two, or whether they agree ------------------------------------------------------------
def _tag_re(tag: str) -> str:
    return longest_first(tagged("compare_asks", tag))


_UPTO_PUNCT = r"[^，,。？?！!；;]"
# `哪个同比降得更多`: a which-word, then (within its piece) the ask ending in a direction word.
_WHICH_RE = re.compile(f"(?:{_tag_re('which')})(?:是)?({_UPTO_PUNCT}{{0,12}}?(?:{_tag_re('more')}|{_tag_re('less')}))")
_FALL_RE = re.compile(_tag_re("fall"))
_RISE_RE = re.compile(_tag_re("rise"))
_DEGREE_RE = re.compile(_tag_re("degree"))
# `说的一样吗`, `是否一致`, `是不是相同`.
_AGREE_RE = re.compile(
    f"(?:{_tag_re('agree')}){_UPTO_PUNCT}{{0,2}}?(?:{_tag_re('yes_no')})"
    f"|(?:{_tag_re('yes_no')}){_UPTO_PUNCT}{{0,8}}?(?:{_tag_re('agree')})"
)


@dataclass(frozen=True)
class Asked:
    """What a comparison question asks of its two figures beyond them: which one (`哪个同比降得更多`) or whether
    they agree (`一样吗`)."""

    kind: str  # "which" | "agree"
    wording: str = ""  # which: the ask in the question's words, with a comparative marker (`同比降得更多`)
    larger: bool = True  # which: the larger figure (or the larger change) wins
    change: str = ""  # which: "fall" | "rise" when the figures are changes compared in that direction


def asked_verdict(question: str) -> Asked | None:
    q = normalize_for_match(question)
    m = _WHICH_RE.search(q)
    if m:
        ask = m.group(1).lstrip(_MENTION_TRIM)  # `谁的降幅小` -> `降幅小`
        larger = _ends_with(ask, "more")
        change = "fall" if _FALL_RE.search(ask) else "rise" if _RISE_RE.search(ask) else ""
        if not _DEGREE_RE.search(ask):  # `哪个多` -> `更多`, `花得多` -> `花得更多`
            end = _direction_start(ask)
            ask = ask[:end] + tagged("compare_asks", "degree")[0] + ask[end:]
        return Asked("which", ask, larger, change)
    if _AGREE_RE.search(q):
        return Asked("agree")
    return None


def _ends_with(ask: str, tag: str) -> bool:
    return any(ask.endswith(w) for w in tagged("compare_asks", tag))


def _direction_start(ask: str) -> int:
    word = max((w for w in (*tagged("compare_asks", "more"), *tagged("compare_asks", "less")) if ask.endswith(w)), key=len)
    return len(ask) - len(word)


def _last_match(pattern: re.Pattern[str], text: str) -> int:
    found = list(pattern.finditer(text))
    return found[-1].start() if found else -1


def change_sign(before: str) -> int:
    """The sign of a change figure from the words before it in its clause: `同比下降17.7%` -> -1; else +1."""
    return -1 if _last_match(_FALL_RE, before) > _last_match(_RISE_RE, before) else 1


def is_change(before: str) -> bool:
    """Whether a figure is a change, from the words before it in its clause: `同比下降17.7%` is, `为预算的94.5%` is not."""
    return _last_match(_FALL_RE, before) >= 0 or _last_match(_RISE_RE, before) >= 0


def winner(asked: Asked, a: str, b: str, scale: Decimal, signs: tuple[int, int] = (1, 1)) -> int | None:
    """Which figure (0 or 1) the question's direction picks: the larger or smaller value, or for change figures
    the larger or smaller change in the asked direction (`降得更多` of 下降17.7% and 下降8.1% -> 17.7%). None on
    a tie or an unreadable number."""
    try:
        x, y = Decimal(a), Decimal(b) * scale
    except InvalidOperation:
        return None
    if asked.change:
        toward = -1 if asked.change == "fall" else 1
        x, y = x * signs[0] * toward, y * signs[1] * toward
    if x == y:
        return None
    return 0 if (x > y) == asked.larger else 1


def agrees(a: str, b: str, scale: Decimal) -> bool:
    """Whether two values state one quantity once b is in a's unit: 207.19 and 2071889 × 0.0001, to the precision
    written (half a unit of the last shown place, and 0.05% for rounded large figures)."""
    try:
        x, y = Decimal(a), Decimal(b) * scale
    except InvalidOperation:
        return False
    places = min(_places(a), _places(str(y.normalize())))
    return abs(x - y) <= Decimal(1).scaleb(-places) / 2 + abs(x) * Decimal("0.0005")


# -- what a figure counts -------------------------------------------------------------------------------------
_RESPECTIVE_RE = re.compile(_tag_re("respective"))
_COUNT_SUFFIX = tagged("compare_asks", "count")[0]
_LIST_MARKS = "、和及与"  # between the figures of one list (`41.7%、40.7%`)


def counts(units: list[str]) -> str:
    """The count nouns a figure's unit answers (`人` -> `人数`), joined by a character no term holds."""
    return "\x00".join(f"{u}{_COUNT_SUFFIX}" for u in units)


def respective_figures(text: str, start: int, end: int) -> dict[int, Figure]:
    """Figures after `分别` paired in order with the figures just before it, in text[start:end]:
    `受理…案件500件730人，同比分别下降41.7%、40.7%` -> {offset of 41.7%: 500件, offset of 40.7%: 730人}."""
    out: dict[int, Figure] = {}
    sentence = text[start:end]
    for m in _RESPECTIVE_RE.finditer(sentence):
        after = []
        for fig in figures(sentence[m.end() :]):
            gap = sentence[m.end() + (after[-1].end if after else 0) : m.end() + fig.start]
            if after and gap.strip(_LIST_MARKS + " "):
                break  # the list ended
            after.append(fig)
        before = _last_run(sentence, figures(sentence[: m.start()]))
        if len(after) < 2 or len(before) != len(after):
            continue
        for a, b in zip(after, before):
            out[start + m.end() + a.start] = Figure(b.value, b.unit, start + b.start, start + b.end)
    return out


def _last_run(sentence: str, found: list[Figure]) -> list[Figure]:
    """The last figures before a point written together (`500件730人`, `12个、8个`), nothing but marks between."""
    run: list[Figure] = []
    for fig in reversed(found):
        if run and sentence[fig.end : run[0].start].strip(_LIST_MARKS + " "):
            break
        run.insert(0, fig)
    return run
