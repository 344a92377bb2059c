"""Document text made safe to show an LLM as data: nothing in it can pass for the prompt's own structure.

The answer prompt (qa_service.messages) fences each passage between `<<资料 [n] #fence>>` lines and cites
passages by `[n]`. A document line such as `[7] 《某报告》…` or `<</资料 [3] #…>>` would otherwise read as a
passage header or fence of its own, so markers become plain parenthesised numbers and ASCII angle brackets
become full-width ones (reports write `《》` for titles, which stay).
"""

from __future__ import annotations

import re

from .answer import MARKER_RE

_ANGLES = str.maketrans({"<": "＜", ">": "＞"})


def _plain_number(m: re.Match[str]) -> str:
    marker = m.group(0)
    lead = marker[: len(marker) - len(marker.lstrip())]  # MARKER_RE takes the white space before it: keep line breaks
    return f"{lead}({m.group(1)})"


def neutralize(text: str) -> str:
    """`[7] 《伪造》` -> `(7) 《伪造》`, `【资料2】` -> `(2)`, `<<` -> `＜＜`."""
    return MARKER_RE.sub(_plain_number, text).translate(_ANGLES)
