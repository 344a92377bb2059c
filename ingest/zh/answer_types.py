"""Answer types: what a question asks for (number, person, date, place, list) and where a text states one.

The question's type comes from its question word, found with jieba's POS tagger (a pronoun or numeral token
such as 谁/哪里/多少) and looked up in `data/answer_types.txt`; a keyword question without one (`…死亡人数`)
falls back to the entries found anywhere in it. A text's typed spans are found with cheap patterns for
numbers and dates, and with the POS tagger (cached per text) for persons (nr) and places (ns).
"""

from __future__ import annotations

import re

from .headings import LIST_NUMBER_RE
from .lexicon import longest_first, rows
from .names import NAME_HINT_RE
from .numbers import UNITS
from .pos import posseg, use_hmm

ANSWER_TYPES = ("number", "person", "date", "place", "list")

_TYPE_OF: dict[str, str] = {row[0]: row[1] for row in rows("answer_types")}
_CUE_RE = re.compile(longest_first(tuple(_TYPE_OF)))
# A figure: digits with an optional unit, a percentage, or a count in Chinese numerals with its measure word.
_FIGURE_RE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:" + longest_first(UNITS) + r"|%|％|[万亿千百]|个百分点)?|[一二三四五六七八九十两百千万]+[个项家件人户条次倍成]"
)
_WITH_UNIT_RE = re.compile(r"\d+(?:\.\d+)?\s*(?:" + longest_first(UNITS) + r"|%|％|[万亿]|个百分点)")
# A date or a period: `2020年7月16日`, `7月底`, `1998年`, `19世纪`, `上午`, `明朝`-like era names are left to POS.
_DATE_RE = re.compile(r"\d{1,4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?|\d{1,2}\s*月(?:\s*\d{1,2}\s*日|底|初|中旬|上旬|下旬)?|\d{1,2}\s*世纪|[一二三四五六七八九十]+世纪")
# An enumeration: items separated by 、 or ；, or list numbering.
_LIST_SEP_RE = re.compile(r"[、；;]")
_POS_OF_TYPE = {"person": ("nr",), "place": ("ns",)}


def question_type(question: str) -> str | None:
    """The answer type a question asks for, or None (`什么是六保？`, a yes/no question)."""
    for word, flag in posseg(question, use_hmm(question)):
        if word in _TYPE_OF and (flag.startswith("r") or flag.startswith("m") or flag in ("q", "d", "n")):
            return _TYPE_OF[word]
    m = _CUE_RE.search(question)
    return _TYPE_OF[m.group(0)] if m else None


def typed_spans(text: str, atype: str) -> list[tuple[int, int]]:
    """Spans of `text` that state something of type `atype`: figures, dates, person or place names, list items."""
    if atype == "number":
        return [m.span() for m in _FIGURE_RE.finditer(text)]
    if atype == "date":
        return [m.span() for m in _DATE_RE.finditer(text)]
    if atype == "list":
        return [m.span() for m in _LIST_SEP_RE.finditer(text)] + ([(0, 1)] if LIST_NUMBER_RE.match(text) else [])
    if atype in _POS_OF_TYPE:
        spans, pos = [], 0
        for word, flag in posseg(text):
            if flag in _POS_OF_TYPE[atype]:
                spans.append((pos, pos + len(word)))
            pos += len(word)
        if atype == "person":
            spans += [m.span() for m in NAME_HINT_RE.finditer(text)]
        return spans
    return []


def has_figure_unit(text: str) -> bool:
    """Whether `text` states a figure with its unit (`304条`, `12.42亿元`, `13.2%`)."""
    return bool(_WITH_UNIT_RE.search(text))


def list_items(text: str) -> int:
    """How many items an enumeration holds (1 when it is not one)."""
    return max(len(_LIST_SEP_RE.findall(text)) + 1, sum(1 for line in text.splitlines() if LIST_NUMBER_RE.match(line)))
