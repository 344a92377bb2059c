"""Dates and time scopes: `2020年7月16日`, `7月底`, `1-7月`, `上半年`.

Scope words are data (`data/time_scopes.txt`, tagged by use); the digit forms are regexes here.
"""

from __future__ import annotations

import re
from functools import cache

from .lexicon import alternation, rows, tagged

# A report's date as written in its header, stray spaces allowed: `2020年7月16日`, `2020 年 7 月 16 日`.
REPORT_DATE_RE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?")
# The start of a line that dates a report: `——2020年7月15日在…会议上` (also `──`), `（2020年7月16日）`.
DATE_LINE_START_RE = re.compile(r"^(?:[—─－-]{1,2}|[（(])")
# How a date line ends when it is complete: `——2020年7月15日在…第三十六次会议上`, `（2020年7月16日）`,
# `…上的讲话`. Ending otherwise (`——2020年7月15日在…常务委员会`), it wraps onto the next header line.
DATE_LINE_ENDINGS: tuple[str, ...] = ("上", "）", ")", "讲话")
# A date in a question or an answer (normalised text): `7月15日`, `2020年7月`, `7月底`, `8月中旬`.
DATE_RE = re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月(?:底|初|中旬|上旬|下旬)")
# A year or a date, which is not the figure a `多少` question asks for: `2020年度`, `2020年8月18日`, `1-7月`.
YEAR_OR_DATE_RE = re.compile(
    r"\d{4}\s*年(?:度)?(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{1,2}-\d{1,2}月"
)
# A four-digit year before 年 (normalised text), group 1: `2020年上半年` -> 2020; not part of a longer number.
YEAR_RE = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?=年)")
# A span of years (normalised text, where `2017—2019 年` reads `2017-2019年`): groups 1 and 2.
YEAR_SPAN_RE = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)-(1[5-9]\d\d|20\d\d)(?=年)")
_MAX_YEAR_SPAN = 30  # a longer "span" is a figure range, not years
# A month range (normalised text): `1-7月`.
MONTH_RANGE_RE = re.compile(r"(?<!\d)\d{1,2}-\d{1,2}月")
# Digit time scopes (normalised text): a month range `1-7月`, a year `2020年`/`2020年度`, a month `7月`/`7月底`.
_DIGIT_SCOPES = r"\d{1,2}-\d{1,2}月|\d{4}年度?|\d{1,2}月底?"


@cache
def time_scope_re(variant: str = "question") -> re.Pattern[str]:
    """Time scopes to `findall` in normalised text: `2020年上半年1-7月` -> 2020年, 上半年, 1-7月.

    `variant` is a tag of `data/time_scopes.txt`: "question" (query analysis, follow-ups; includes 今年/去年)
    or "retrieval" (the retriever's time boost; report wording only).
    """
    words = tagged("time_scopes", variant)
    # Words and digit forms never start with the same character, so their relative order changes no match.
    return re.compile(alternation(words) + "|" + _DIGIT_SCOPES)


@cache
def _comparison_base_re() -> re.Pattern[str]:
    """A time scope (the `question` variant) that a comparison is made against (data/comparison_bases.txt)."""
    scope = time_scope_re("question").pattern
    before = alternation(tagged("comparison_bases", "before"))
    around = alternation(tagged("comparison_bases", "around"))
    after = alternation(tagged("comparison_bases", "after"))
    return re.compile(f"(?:{before})((?:{scope})+)|(?:{around})((?:{scope})+)(?:{after})")


def comparison_bases(text: str) -> list[tuple[int, int]]:
    """Where a text names the time a comparison is made against: `去年` of `比去年同期增长多少`."""
    return [m.span(1) if m.group(1) else m.span(2) for m in _comparison_base_re().finditer(text)]


def comparison_phrases(text: str) -> list[str]:
    """The comparisons a text makes against a time, whole: `比去年` (of `比去年同期`), `与去年相比`."""
    return [m.group(0) for m in _comparison_base_re().finditer(text)]


def figure_scopes(norm: str) -> list[str]:
    """The time scopes of a normalised question that date the figure it asks, in order: those a comparison is made
    against are left out (`1-7月财政总收入比去年同期增长多少` -> 1-7月; `与去年相比` names a base, not a time)."""
    bases = comparison_bases(norm)
    return [m.group(0) for m in time_scope_re("question").finditer(norm)
            if not any(s <= m.start() and m.end() <= e for s, e in bases)]


@cache
def scope_clause_re() -> re.Pattern[str]:
    """A clause that is only a time scope (match the whole normalised clause): `1-7月`, `2020年上半年`,
    `截至7月底`, `今年以来`; the answerer keeps it in front of the figure clause it scopes."""
    words = alternation(tagged("time_scopes", "scope_clause"))
    return re.compile(r"^(?:\d{1,2}-\d{1,2}月|\d{4}年(?:度|上半年|1-\d{1,2}月)?|截至.{1,8}|" + words + r")$")


def years_named(norm: str) -> frozenset[int]:
    """The years a normalised text names, spans spelled out: `2017-2019年全区…，2020年` -> 2017…2020."""
    years = {int(y) for y in YEAR_RE.findall(norm)}
    for a, b in YEAR_SPAN_RE.findall(norm):
        if 0 < int(b) - int(a) <= _MAX_YEAR_SPAN:
            years.update(range(int(a), int(b) + 1))
    return frozenset(years)


@cache
def _period_forms() -> dict[str, str]:
    """Each way of writing a period of the year (data: the `period` scopes, and the scopes with month ranges of
    `time_equivalents`, such as 前三季度) -> its word."""
    forms = {w: w for w in tagged("time_scopes", "period")}
    for word, *months in rows("time_equivalents"):
        forms[word] = word
        forms.update({m: word for m in months})
    return forms


@cache
def _period_re() -> re.Pattern[str]:
    return re.compile(alternation(sorted(_period_forms(), key=len, reverse=True)) + "|" + MONTH_RANGE_RE.pattern)


def periods_named(norm: str) -> frozenset[str]:
    """The periods of a year a normalised text names, each as one form: `1-6月` and `上半年` -> 上半年; another
    month range stays itself (`1-7月`). Periods exclude each other: a figure of 上半年 is not one of 全年."""
    forms = _period_forms()
    return frozenset(forms.get(m, m) for m in _period_re().findall(norm))


@cache
def _whole_year() -> str:
    """The word for a whole year: the scope `time_equivalents` writes as `1-12月` (全年)."""
    return next((word for word, *months in rows("time_equivalents") if "1-12月" in months), "")


def whole_year_stated(scope: str, norm: str) -> bool:
    """Whether `scope` is the whole year and a normalised text states it by naming a year and no period of it:
    `2019年执行收案11937件` is a figure of 2019年全年."""
    return scope == _whole_year() and bool(YEAR_RE.search(norm)) and not periods_named(norm)
