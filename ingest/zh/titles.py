"""Whether a document's first line is its title, and a title for a document that has none.

A plain .txt or an HTML page without headings often starts with its text: `2020年上半年，全区实现…12.42亿元。`
is a sentence, not a title. A title is short, does not end a sentence and states no figure.
"""

from __future__ import annotations

import re

from .numbers import UNITS
from .text import HEADING_SENTENCE_ENDS, sentence_spans, strip_ws

TITLE_MAX_CHARS = 40
SHORT_TITLE_CHARS = 20
ELLIPSIS = "…"
# A figure with its unit (`12.42亿元`, `13.2%`, `25家`): a line stating one is a sentence of the text.
_FIGURE_WITH_UNIT_RE = re.compile(r"\d(?:\.\d+)?\s*(?:" + "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True)) + ")")
# Marks inside a line that make it prose: a title has at most one pause (`关于…的报告，附件`).
_PROSE_MARKS_RE = re.compile(r"[，,；;]")


def looks_like_title(line: str) -> bool:
    text = strip_ws(line)
    if not 2 <= len(text) <= TITLE_MAX_CHARS:
        return False
    if any(ch in HEADING_SENTENCE_ENDS for ch in text) or len(_PROSE_MARKS_RE.findall(text)) > 1:
        return False
    return not _FIGURE_WITH_UNIT_RE.search(text)


def short_title(text: str, limit: int = SHORT_TITLE_CHARS) -> str:
    """The first sentence, cut to `limit` characters with `…`: a title for a text that has none."""
    spans = sentence_spans(text)
    first = text[spans[0][0] : spans[0][1]].strip() if spans else text.strip()
    first = first.rstrip(HEADING_SENTENCE_ENDS + "；;，,")
    return first if len(first) <= limit else first[:limit] + ELLIPSIS
