"""A compilation's table of contents: find the `目 录` page near the top and parse its entries.

`履职报告\t朱要武（04）` -> ContentsEntry(title="履职报告", page=4, name="朱要武"). An entry may wrap over
lines; masthead lines (`第四号`) before the first entry are skipped. A contents that lists chapters of one
report (`一、总体情况……3`) is not a compilation's.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ingest.zh import Line, fold_width, lines_with_offsets, strip_ws
from ingest.zh.headings import (
    CHAPTER_RE,
    CONTENTS_HEADINGS,
    ENTRY_BRACKET_RE,
    ENTRY_FIELD_SPLIT_RE,
    ENTRY_LEADER_RE,
    MASTHEAD_RE,
)
from ingest.zh.names import PERSON_NAME_RE, TITLE_ENDINGS

log = logging.getLogger(__name__)

# Whitespace inside a title: deleted unless it separates two ASCII letters/digits.
_WS_RUN_RE = re.compile(r"\s+")
# Contents are at the front of a compilation; a `目录` line deep inside a report is something else.
_CONTENTS_SEARCH_LINES = 120
_CHAPTER_SHARE = 0.6
# An entry's title may wrap over this many lines (and a body title is looked for over as many).
MAX_TITLE_LINES = 3


@dataclass
class ContentsEntry:
    """One entry of a compilation's table of contents."""

    title: str  # whitespace artifacts removed: `…下半年重点工作安排的报告`
    page: int
    name: str | None = None  # the reporter named in the entry, as written: `朱要武`, `朱 民`
    raw: str = ""  # the entry as written (wrapped lines joined)


@dataclass
class Contents:
    entries: list[ContentsEntry]
    start: int  # offset of the `目 录` line
    end: int  # offset just past the last entry line


def find_contents(text: str) -> Contents | None:
    """Find and parse a table of contents near the top of `text`; None if there is none (or no entries)."""
    lines = lines_with_offsets(text)
    for index, line in enumerate(lines[:_CONTENTS_SEARCH_LINES]):
        if strip_ws(line.text) in CONTENTS_HEADINGS:
            entries, last = _parse_entries(lines, index + 1)
            if not entries:
                log.info("a contents heading at line %d has no entries", index + 1)
                return None
            if _looks_like_chapter_list(entries):
                log.info("the contents lists chapters of one report, not separate reports")
                return None
            return Contents(entries=entries, start=line.start, end=lines[last].end)
    return None


def normalize_title(text: str) -> str:
    """Delete whitespace artifacts from a title: kept only between two ASCII letters/digits.

    `青浦区人大常委会 2020 年上半年工作情况和下半年主要 工作安排报告` ->
    `青浦区人大常委会2020年上半年工作情况和下半年主要工作安排报告`; `履 职 报 告` -> `履职报告`.
    Titles only: the document text itself is never rewritten.
    """
    text = text.strip().lstrip("#").strip()

    def keep_or_drop(match: re.Match[str]) -> str:
        start, end = match.span()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        return " " if before.isascii() and before.isalnum() and after.isascii() and after.isalnum() else ""

    return _WS_RUN_RE.sub(keep_or_drop, text)


def _match_entry_line(text: str) -> re.Match[str] | None:
    text = text.strip()
    return ENTRY_BRACKET_RE.match(text) or ENTRY_LEADER_RE.match(text)


def _parse_entries(lines: list[Line], first: int) -> tuple[list[ContentsEntry], int]:
    """Read contents entries from line `first` on; return them and the index of the last entry line.

    An entry may wrap: lines without a page number directly above an entry line (no blank line between)
    are the start of its title. Before the first entry, other lines are masthead (`第四号`); after it, a
    line that does not lead into an entry ends the contents. Blank lines inside the contents are allowed.
    """
    entries: list[ContentsEntry] = []
    prefix: list[str] = []
    last = first
    index = first
    while index < len(lines):
        text = lines[index].text.strip()
        match = _match_entry_line(text) if text else None
        if match:
            entries.append(_make_entry(prefix + [match.group("body")], match.group("page")))
            prefix, last = [], index
        elif not text:
            prefix = []
        elif MASTHEAD_RE.match(text):
            prefix = []
        elif _leads_into_entry(lines, index):
            prefix.append(text)
        elif entries:
            break
        elif index - first > 20:
            break  # twenty lines of masthead and still no entry: not a contents page
        index += 1
    return entries, last


def _leads_into_entry(lines: list[Line], index: int) -> bool:
    """Whether the line at `index` is followed, without a blank line, by an entry line (≤2 lines down)."""
    for ahead in range(index + 1, min(index + 1 + MAX_TITLE_LINES, len(lines))):
        text = lines[ahead].text.strip()
        if not text:
            return False
        if _match_entry_line(text):
            return True
    return False


def _make_entry(parts: list[str], page: str) -> ContentsEntry:
    """`["履职报告\\t朱要武"]`, "04" -> ContentsEntry("履职报告", 4, "朱要武")."""
    raw = "".join(parts)
    fields = [f.strip() for f in ENTRY_FIELD_SPLIT_RE.split(raw) if f.strip()]
    name = None
    if len(fields) >= 2 and PERSON_NAME_RE.match(fields[-1]) and not fields[-1].endswith(TITLE_ENDINGS):
        name = fields.pop()
    title = normalize_title("".join(fields) if fields else raw)
    return ContentsEntry(title=title, page=int(fold_width(page)), name=name, raw=raw.strip())


def _looks_like_chapter_list(entries: list[ContentsEntry]) -> bool:
    chapters = sum(1 for entry in entries if CHAPTER_RE.match(entry.title))
    return chapters / len(entries) >= _CHAPTER_SHARE
