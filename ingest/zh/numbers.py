"""Numbers and units: Chinese numerals, figures with their unit, number tokens for BM25.

The units are a data file (`data/units.txt`); the regexes built from it try the longest unit first.
"""

from __future__ import annotations

import re

from .lexicon import longest_first, words
from .text import normalize_for_match, strip_ws

UNITS: tuple[str, ...] = words("units")
# Units a number may run into in a token, beyond the measure words: `12.42亿元`, `2020年`, `60周岁`, `3批`.
TOKEN_UNITS: tuple[str, ...] = (*UNITS, "亿", "万", "年", "月", "日", "周岁", "岁", "批")

# A figure with an optional unit: `12.42 亿元`, `-6.4%`, `25 家`.
_NUMBER_RE = re.compile(r"[-+]?\d+(?:\.\d+)?(?:\s*(?:" + longest_first(UNITS) + r"))?")
# A bare numeric value: `12.42` in `12.42亿元`.
BARE_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_NUM = r"\d+(?:\.\d+)?"
# A number token for BM25: decimals, percentages and ranges stay whole (`12.42`, `13.2%`, `1-7`).
TOKEN_NUMBER_RE = re.compile(rf"{_NUM}(?:-{_NUM})?%?")
# The unit right after a number token (matched at its end): `亿元` in `12.42亿元`.
TOKEN_UNIT_AFTER_RE = re.compile("(?:" + longest_first(TOKEN_UNITS) + ")")
# A table cell that is a figure, not a label: `8.8`, `-6.4`, `450 亿元`, `25 家`, `—5`.
NUMERIC_CELL_RE = re.compile(r"^\s*[-+—–]?\s*\d")
# A figure-only token (`12.42`, `13.2%`, `1-7`): never a key term of a sentence.
FIGURE_TOKEN_RE = re.compile(r"[\d.%-]+")
# Any digit: `has a figure` tests.
DIGIT_RE = re.compile(r"\d")
# A count in Chinese numerals with its measure word: `三个`, `十二项`, `两家` (a figure without digits).
CN_COUNT_RE = re.compile(r"\d|[一二三四五六七八九十两百千万]+[个项家件人户条次]")
# A percentage figure: `13.2%`, `13.2 ％`, or `个百分点`/`百分点` after it.
PERCENT_FIGURE_RE = re.compile(r"\d(?:\.\d+)?\s*[%％]|百分点")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
CN_NUMERALS = "零〇一二两三四五六七八九十百千万"
# Numerals in heading ordinals (`第三十六`, `（十二）`): the numerals plus 两.
HEADING_NUMERALS = "一二三四五六七八九十百零〇两"


def cn_to_int(numeral: str) -> int | None:
    """Chinese numeral to int: `三十六` -> 36, `十` -> 10, `一百零五` -> 105; None if not a numeral."""
    if not numeral or any(ch not in CN_NUMERALS for ch in numeral):
        return None
    total, section, digit = 0, 0, 0
    for ch in numeral:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            if unit == 10000:
                section = (section + digit) * unit
                total += section
                section = 0
            else:
                section += (digit or 1) * unit
            digit = 0
    return total + section + digit


def extract_numbers(text: str) -> list[str]:
    """Numbers with their unit, normalised for comparison: `12.42 亿元` -> `12.42亿元`, `13.2％` -> `13.2%`."""
    norm = normalize_for_match(text)
    return [strip_ws(m.group(0)).replace("％", "%") for m in _NUMBER_RE.finditer(norm)]


def bare_numbers(text: str) -> list[str]:
    """Just the numeric values (no units), normalised: used to check an answer's figures against a passage."""
    return BARE_NUMBER_RE.findall(normalize_for_match(text))


def has_figure_with_unit(text: str, unit: str) -> bool:
    """Whether `text` states a figure in `unit`: `12.42亿元` has one in 亿元; `%` also accepts `百分点`."""
    norm = normalize_for_match(text)
    if unit == "%":
        return bool(PERCENT_FIGURE_RE.search(norm))
    return bool(re.search(r"\d(?:\.\d+)?\s*" + re.escape(unit), norm))
