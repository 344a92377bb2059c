"""Answer candidates of the passages an answerer reads: the units a learned ranker scores.

A *unit* is a whole sentence of a text passage, a table row, a glossary definition, or a whole enumeration
(the numbered items under one heading or lead sentence). A unit is never a bare title line: the document's
title or a heading of the passage's path, or the first line of a document that has no sentence mark (a plain
.txt's first line becomes its title). A *clause window* is a run of 1–3 clauses inside a sentence, extended by
the clause that scopes it in time (`1-7月，…`) and by the clauses that continue its figure (`…，同比下降13.2%`):
the answer shown is the best window of the best unit when that unit is long.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.models import Chunk
from ingest.zh import SENTENCE_ENDS, match_key, sentence_spans
from ingest.zh.answer import CONTINUATION_RE
from ingest.zh.headings import LIST_NUMBER_RE
from ingest.zh.text import (
    CLAUSE_SPLIT_RE,
    COUNTED_LABEL_RE,
    PROSE_PUNCT_RE,
    bracket_open,
    opens_with_bracket,
    wraps_mid_sentence,
)
from ingest.zh.time import YEAR_OR_DATE_RE, scope_clause_re

MIN_UNIT_CHARS = 4
MAX_WINDOW_CLAUSES = 3
MAX_LIST_CHARS = 400
_TITLE_LINE_MAX = 60  # a first line this short without a sentence mark reads as a title
_SIGNER_MAX = 20  # a sign-off's signer line (a name, a body) is at most this long
_MAX_WRAPPED_LINES = 3  # a bracket left open carries a unit over this many lines at most


@dataclass(frozen=True)
class AnswerCandidate:
    chunk: Chunk
    rank: int  # the passage's rank among those read (0 = first)
    start: int  # offsets into chunk.text
    end: int
    kind: str  # sentence | row | definition | list | window

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]


def units(passages: Sequence[Chunk]) -> list[AnswerCandidate]:
    """Every unit of the passages, in passage order."""
    out: list[AnswerCandidate] = []
    for rank, chunk in enumerate(passages):
        out.extend(_chunk_units(chunk, rank))
    return out


def _chunk_units(chunk: Chunk, rank: int) -> list[AnswerCandidate]:
    if chunk.kind == "table_row":
        return [AnswerCandidate(chunk, rank, 0, len(chunk.text), "row")]
    if chunk.kind == "definition":
        return [AnswerCandidate(chunk, rank, 0, len(chunk.text), "definition")]
    if chunk.kind == "table":
        return [AnswerCandidate(chunk, rank, s, e, "row") for s, e in _line_spans(chunk.text) if not _is_title(chunk, s, e)]
    spans = _join_wrapped(chunk.text, sentence_spans(chunk.text))
    spans = [(s, e) for s, e in spans if len(chunk.text[s:e].strip()) >= MIN_UNIT_CHARS]
    lines = _line_spans(chunk.text)  # read by the three finders of multi-line units below
    out = [AnswerCandidate(chunk, rank, s, e, "sentence") for s, e in [*spans, *_sign_offs(chunk.text, lines)]
           if not _is_title(chunk, s, e)]
    out.extend(AnswerCandidate(chunk, rank, s, e, "list")
               for s, e in [*_enumerations(chunk.text, lines), *_rolls(chunk.text, lines)])
    return out


def _join_wrapped(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A line break inside brackets does not end a sentence: a document's date line wraps as
    `（2020 年 7 月 16 日青浦区第五届人民代表大会常务委员会` / `第三十六次会议通过）`, and split there neither half
    says what was passed when. Nor does a sentence wrapped mid-clause (`…庭长，免去其上海市青浦区` /
    `人民法院执行裁判庭副庭长的职务。`). A span ending at a line break that `_wraps` takes the next span
    (up to `_MAX_WRAPPED_LINES` lines)."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        start, end = spans[i]
        lines = 1
        while i + 1 < len(spans) and lines < _MAX_WRAPPED_LINES and text[end - 1] == "\n" and _wraps(text, start, end, spans[i + 1]):
            i += 1
            end = spans[i][1]
            lines += 1
        out.append((start, end))
        i += 1
    return out


def _wraps(text: str, start: int, end: int, following: tuple[int, int]) -> bool:
    """Whether the span text[start:end], ending at a line break, goes on in the span `following`: a bracket is
    still open, or the line is a sentence wrapped onto the very next line (ingest.zh.text.wraps_mid_sentence)."""
    if bracket_open(text[start:end]):
        return True
    return following[0] == end and wraps_mid_sentence(text[text.rfind("\n", 0, start) + 1 : end], text[following[0] : following[1]])


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _is_title(chunk: Chunk, start: int, end: int) -> bool:
    """A bare title line: the document's title, a heading of the passage, or a document's mark-less first line."""
    key = match_key(chunk.text[start:end])
    if not key:
        return True
    if key == match_key(chunk.doc_title) or any(key == match_key(h) for h in chunk.heading_path):
        return True
    text = chunk.text
    first_line = chunk.start == 0 and not text[:start].strip() and "\n" in text[end:end + 2] + text[start:end]
    return first_line and len(key) <= _TITLE_LINE_MAX and not any(ch in key for ch in SENTENCE_ENDS)


_LINE_START_RE = re.compile(r"(?:^|\n)[^\S\n]*$")  # only spaces since the last line break
_LINE_END_RE = re.compile(r"[^\S\n]*(?:\n|$)")  # only spaces up to the next line break


def names_its_heading(cand: AnswerCandidate) -> bool:
    """A line of its own, no sentence, that ends a heading of its passage: a letter's title under its appendix
    heading (`附：王金荣同志的辞职报告` / `辞职报告`). It stays a candidate, since the abstainer's best-of-any features
    were fitted with it there, but it is never shown as an answer."""
    chunk = cand.chunk
    key = match_key(cand.text)
    return bool(key) and _whole_line(chunk.text, cand.start, cand.end) and not any(ch in key for ch in SENTENCE_ENDS) and any(
        match_key(h).endswith(key) for h in chunk.heading_path)


def _whole_line(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a line of its own (surrounding spaces aside)."""
    return (_LINE_START_RE.search(text[:start]) is not None
            and (_LINE_END_RE.match(text[end:]) is not None or text[start:end].endswith("\n")))


def _enumerations(text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Runs of 2+ consecutive numbered lines (`1.…` `（2）…`), with the lead line before them, as one unit each."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and LIST_NUMBER_RE.match(text[lines[j][0] : lines[j][1]]):
            j += 1
        if j - i >= 2:
            start = lines[i - 1][0] if i > 0 else lines[i][0]
            end = lines[j - 1][1]
            if end - start <= MAX_LIST_CHARS:
                out.append((start, end))
            i = j
        else:
            i += 1
    return out


def roll_of(label: AnswerCandidate, cands: Sequence[AnswerCandidate]) -> AnswerCandidate | None:
    """The roll a counted label line heads, among the candidates (None when it heads none)."""
    start = _line_start(label.chunk.text, label.start)
    return next((c for c in cands if c.kind == "list" and c.chunk.id == label.chunk.id and c.start == start
                 and c.end > label.end and COUNTED_LABEL_RE.search(label.text)), None)


def _rolls(text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A label line ending in a count and the lines of no prose after it, as one unit each. An attendance record
    says how many on one line and who on the next (`三、因事因病请假：6 人` / `沈伯明 张国妹 …`): apart, the label
    names nobody and the names say nothing of what they are a list of."""
    out: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(lines):
        if not COUNTED_LABEL_RE.search(text[start:end]):
            continue
        j = i + 1
        while j < len(lines) and _is_roll_line(text[lines[j][0] : lines[j][1]]):
            j += 1
        start = _line_start(text, start)
        if j > i + 1 and lines[j - 1][1] - start <= MAX_LIST_CHARS:
            out.append((start, lines[j - 1][1]))
    return out


def _sign_offs(text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A letter's sign-off, the signer's line and the date line under it, as one unit: `王金荣` / `2020年6月29日`.
    Apart, the date says nothing of whose it is and the name is too short to be a unit."""
    out: list[tuple[int, int]] = []
    for (a, b), (c, d) in zip(lines, lines[1:]):
        signer, date = text[a:b].strip(), text[c:d].strip()
        if 2 <= len(signer) <= _SIGNER_MAX and not PROSE_PUNCT_RE.search(signer) and YEAR_OR_DATE_RE.fullmatch(date):
            out.append((_line_start(text, a), d))
    return out


def _line_start(text: str, at: int) -> int:
    """Where the first non-blank character at or after `at` is (a sentence span may start with whitespace)."""
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def _is_roll_line(line: str) -> bool:
    """A line of a roll: no prose punctuation, no list number, no bracketed note (`(会期两天, 2020年7月16日)`)."""
    stripped = line.strip()
    return not (PROSE_PUNCT_RE.search(stripped) or LIST_NUMBER_RE.match(stripped) or opens_with_bracket(stripped))


def clause_windows(cand: AnswerCandidate) -> list[AnswerCandidate]:
    """The clause windows of a sentence unit (none when it has a single clause)."""
    text = cand.chunk.text
    clauses = clause_spans(text, cand.start, cand.end)
    if len(clauses) <= 1:
        return []
    out: list[AnswerCandidate] = []
    seen: set[tuple[int, int]] = set()
    for lo in range(len(clauses)):
        for hi in range(lo, min(lo + MAX_WINDOW_CLAUSES, len(clauses))):
            a, b = _extend(text, clauses, lo, hi)
            span = (clauses[a][0], clauses[b][1])
            if span not in seen and span != (cand.start, cand.end):
                seen.add(span)
                out.append(AnswerCandidate(cand.chunk, cand.rank, span[0], span[1], "window"))
    return out


def clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The non-blank clauses of text[start:end] (split at ，；：), as offsets into text."""
    clauses: list[tuple[int, int]] = []
    pos = start
    for m in CLAUSE_SPLIT_RE.finditer(text, start, end):
        clauses.append((pos, m.start()))
        pos = m.end()
    if pos < end:
        clauses.append((pos, end))
    return [(s, e) for s, e in clauses if text[s:e].strip()]


def _extend(text: str, clauses: list[tuple[int, int]], lo: int, hi: int) -> tuple[int, int]:
    """Keep the leading scope clause (`1-7月`) and the continuation clauses (`同比下降13.2%`)."""
    if lo > 0 and scope_clause_re().match(match_key(text[clauses[lo - 1][0] : clauses[lo - 1][1]])):
        lo -= 1
    while hi + 1 < len(clauses) and CONTINUATION_RE.match(text[clauses[hi + 1][0] : clauses[hi + 1][1]].strip()):
        hi += 1
    return lo, hi
