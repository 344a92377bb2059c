"""Remove conversion debris from report text without ever rewriting a character of the content.

Usage::

    from ingest.cleaning import clean_text

    cleaned = clean_text(raw.text)
    cleaned.text          # the text users will see and cite
    cleaned.footnotes     # Footnote(n, term, definition, ref_offsets=[offsets into cleaned.text])
    cleaned.removed       # {"bookmark": 1, "footnote_ref": 19, ...}

What is removed (and nothing else): Word-conversion markup (bookmarks, footnote references and inline
footnote definitions), lone `]` lines, page furniture (running headers, issue lines, page numbers) that
leaked into the text, and whitespace debris (trailing spaces, indentation spaces, runs of blank lines).
One repair moves text without changing it: a sentence that PDF conversion split around a page's foot notes is
rejoined, the notes after it (counted as `rejoined_sentence`).
No NFKC, no width folding: `2020 年` and `（` stay exactly as written, because answers and evidence quotes
are checked against this text.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.models import Footnote
from ingest.zh.headings import HEADING_LIKE_RE
from ingest.zh.markup import (
    BOOKMARK_RE,
    FOOTNOTE_DEF_RE,
    FOOTNOTE_REF_RE,
    FOOTNOTE_SHAPE_RE,
    ISSUE_LINE_RE,
    LONE_BRACKET_RE,
    PAGE_NUMBER_RE,
    SUPERSCRIPT_LINE_RE,
)
from ingest.zh.names import ANY_GAZETTE_RE, INSTITUTION_GAZETTE_RE
from ingest.zh.text import BLANK_LINES_RE, LINE_END_PUNCT, PROSE_PUNCT_RE, SENTENCE_PUNCT_RE

log = logging.getLogger(__name__)

# The patterns (bookmarks, footnotes, issue lines, gazette headers, page numbers, headings) live in
# ingest.zh.markup / ingest.zh.headings / ingest.zh.names, each with an example of what it matches.

# A repeated short line counts as a running header only if it has no sentence punctuation (so the
# salutation `主任、各位副主任、各位委员：` and `以上报告，请予审议。`, repeated in every gazette report,
# are safe) and is not a numbered heading.
_REPEAT_MIN = 3
_REPEAT_MAX_LEN = 40
# Whitespace that may be stripped from the ends of a line (tabs are cells of a table row: kept).
_SPACES = " \u3000\u00a0\r\f\v"

_SENTINELS = ("\ue000", "\ue001", "\ue002", "\uf8ff", "\U000f0000")


@dataclass
class Cleaned:
    """The cleaned text, the footnotes found in it, and how many of each kind of debris were removed."""

    text: str
    footnotes: list[Footnote] = field(default_factory=list)
    removed: dict[str, int] = field(default_factory=dict)


def clean_text(text: str) -> Cleaned:
    """Remove conversion markup, page furniture and whitespace debris; extract footnotes.

    Footnote `ref_offsets` index into the returned text: each is where its `[footnoteRef:N]` stood.
    """
    removed: Counter[str] = Counter()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sentinel = _pick_sentinel(text)

    text, definitions = _extract_footnote_definitions(text, removed)
    text, ref_numbers = _mark_footnote_refs(text, sentinel, removed)
    text, n_bookmarks = BOOKMARK_RE.subn("", text)
    removed["bookmark"] += n_bookmarks

    lines = [_strip_line(line) for line in text.split("\n")]
    lines = _drop_lone_brackets(lines, removed)
    lines = _drop_page_furniture(lines, removed)
    lines = _rejoin_around_page_notes(lines, removed)
    text = _collapse_blank_lines("\n".join(lines))

    text, footnotes = _resolve_footnote_refs(text, sentinel, ref_numbers, definitions)
    counts = {kind: count for kind, count in removed.items() if count}
    if counts:
        log.debug("cleaning removed %s", counts)
    return Cleaned(text=text, footnotes=footnotes, removed=counts)


# --------------------------------------------------------------------------------------------------
# Footnotes
# --------------------------------------------------------------------------------------------------


def _pick_sentinel(text: str) -> str:
    """A private-use character absent from the text, to hold each reference's place while lines shift."""
    for candidate in _SENTINELS:
        if candidate not in text:
            return candidate
    raise ValueError("text uses every private-use sentinel character")  # pragma: no cover


def _extract_footnote_definitions(text: str, removed: Counter[str]) -> tuple[str, dict[int, Footnote]]:
    """Cut out `[N: 、术语：释义]` definitions; return the text without them and the footnotes by number."""
    referenced = {int(n) for n in FOOTNOTE_REF_RE.findall(text)}
    definitions: dict[int, Footnote] = {}

    def cut(match: re.Match[str]) -> str:
        n, body = int(match.group(1)), match.group(2)
        # Without a `[footnoteRef:N]` for it, `[3: …]` is only a definition if it has the `、术语：` shape.
        if n not in referenced and not FOOTNOTE_SHAPE_RE.match(body):
            return match.group(0)
        if n in definitions:
            log.warning("footnote %d defined twice; keeping the first definition", n)
        else:
            definitions[n] = _parse_definition(n, body)
        removed["footnote_definition"] += 1
        return ""

    return FOOTNOTE_DEF_RE.sub(cut, text), definitions


def _parse_definition(n: int, body: str) -> Footnote:
    """`、六稳：稳就业、稳金融。` -> Footnote(n, "六稳", "稳就业、稳金融。"): drop the `、`, split at the first `：`."""
    body = " ".join(part.strip() for part in body.strip().split("\n") if part.strip())
    body = body.lstrip("、").strip()
    for colon in ("：", ":"):
        term, sep, definition = body.partition(colon)
        if sep and term.strip():
            return Footnote(n=n, term=term.strip(), definition=definition.strip())
    return Footnote(n=n, term="", definition=body)


def _mark_footnote_refs(text: str, sentinel: str, removed: Counter[str]) -> tuple[str, list[int]]:
    """Replace each `[footnoteRef:N]` by the sentinel; return the reference numbers in text order."""
    numbers: list[int] = []

    def mark(match: re.Match[str]) -> str:
        numbers.append(int(match.group(1)))
        removed["footnote_ref"] += 1
        return sentinel

    return FOOTNOTE_REF_RE.sub(mark, text), numbers


def _resolve_footnote_refs(
    text: str, sentinel: str, ref_numbers: list[int], definitions: dict[int, Footnote]
) -> tuple[str, list[Footnote]]:
    """Delete the sentinels, recording where each stood, and attach those offsets to the footnotes."""
    pieces = text.split(sentinel)
    if len(pieces) - 1 != len(ref_numbers):  # pragma: no cover - a sentinel sat on a removed line
        log.warning("lost %d footnote references during cleaning", len(ref_numbers) - len(pieces) + 1)
    offsets: dict[int, list[int]] = {}
    position = 0
    for index, piece in enumerate(pieces[:-1]):
        position += len(piece)
        if index < len(ref_numbers):
            offsets.setdefault(ref_numbers[index], []).append(position)
    for n in sorted(set(offsets) - set(definitions)):
        log.warning("footnote %d is referenced but never defined", n)
    footnotes = []
    for n in sorted(definitions):
        footnote = definitions[n]
        footnote.ref_offsets = offsets.get(n, [])
        footnotes.append(footnote)
    return "".join(pieces), footnotes


# --------------------------------------------------------------------------------------------------
# Lines: whitespace, lone brackets, page furniture
# --------------------------------------------------------------------------------------------------


def _strip_line(line: str) -> str:
    """Strip indentation and trailing spaces; keep the tabs that are cells of a table row.

    `\t\t急救分站 1 家\t室内外修缮` (a continuation row: empty first cells) and `序号\t…\t上半年完成\t\t`
    (empty last cells of a two-line header) keep their tabs; `段落。\t` (no other tab) loses it.
    A line of nothing but whitespace becomes empty.
    """
    if not line.strip():
        return ""
    line = line.strip(_SPACES)
    core = line.rstrip("\t")
    if not line.startswith("\t") and "\t" not in core:
        return core.rstrip(_SPACES)
    return line


def _drop_lone_brackets(lines: list[str], removed: Counter[str]) -> list[str]:
    kept = []
    for line in lines:
        if LONE_BRACKET_RE.match(line):
            removed["lone_bracket"] += 1
        else:
            kept.append(line)
    return kept


def _is_table_row(line: str) -> bool:
    return "\t" in line


def _drop_page_furniture(lines: list[str], removed: Counter[str]) -> list[str]:
    """Remove running headers/footers; close the gap they leave inside a table.

    `…\\t241.5\\t1.4\\t53.7` / `` / `上海市青浦区人民代表大会常务委员会公报` / `` / `6\\t合同外资\\t…`
    becomes two adjacent rows, so the table parser sees one table.
    """
    drop = _find_furniture(lines)
    if not drop:
        return lines
    removed["page_furniture"] += len(drop)
    for index in sorted(drop):
        rows = _table_rows_around(lines, index, drop)
        if rows is not None:
            drop.update(range(rows[0] + 1, rows[1]))
    return [line for index, line in enumerate(lines) if index not in drop]


def _neighbour(lines: list[str], index: int, step: int, skip: set[int]) -> int | None:
    """Index of the nearest non-blank line before/after `index` that is not itself being removed."""
    index += step
    while 0 <= index < len(lines):
        if lines[index] and index not in skip:
            return index
        index += step
    return None


def _find_furniture(lines: list[str]) -> set[int]:
    counts = Counter(line for line in lines if line)
    drop: set[int] = set()
    for index, line in enumerate(lines):
        if not line or _is_table_row(line):
            continue
        if ISSUE_LINE_RE.match(line) or PAGE_NUMBER_RE.match(line) or INSTITUTION_GAZETTE_RE.match(line):
            drop.add(index)
        elif ANY_GAZETTE_RE.match(line) and (counts[line] >= 2 or _table_rows_around(lines, index, set())):
            drop.add(index)
    for line, count in counts.items():
        if count >= _REPEAT_MIN and _could_be_running_header(line):
            positions = [i for i, candidate in enumerate(lines) if candidate == line]
            # `第三十六次会议上` recurs under every `——2020年7月15日在…常务委员会` line: it is the
            # wrapped tail of that line, not a header. A real header interrupts complete lines too.
            if not all(_continues_previous_line(lines, i) for i in positions):
                drop.update(positions)
    return drop


def _table_rows_around(lines: list[str], index: int, skip: set[int]) -> tuple[int, int] | None:
    """The table rows right before and after line `index` (blank and `skip` lines aside), if both are rows."""
    before = _neighbour(lines, index, -1, skip)
    after = _neighbour(lines, index, 1, skip)
    if before is None or after is None:
        return None
    return (before, after) if _is_table_row(lines[before]) and _is_table_row(lines[after]) else None


def _could_be_running_header(line: str) -> bool:
    return (
        len(line) <= _REPEAT_MAX_LEN
        and not _is_table_row(line)
        and not SENTENCE_PUNCT_RE.search(line)
        and not HEADING_LIKE_RE.match(line)
        and not line.startswith(("——", "──", "—"))
        and _brackets_balanced(line)
    )


def _brackets_balanced(line: str) -> bool:
    """`（2020年7月15日青浦区第五届人民代表大会常务委员会` opens a bracket that the next line
    (`第三十六次会议通过）`) closes: it is half of a wrapped line, repeated under every decision, not a header.
    """
    return line.count("（") + line.count("(") == line.count("）") + line.count(")")


def _continues_previous_line(lines: list[str], index: int) -> bool:
    previous = _neighbour(lines, index, -1, set())
    if previous is None:
        return False
    text = lines[previous]
    return not _is_table_row(text) and text[-1] not in LINE_END_PUNCT


def _rejoin_around_page_notes(lines: list[str], removed: Counter[str]) -> list[str]:
    """A paragraph that runs onto the next page has that page's foot notes between its halves:
    `…2017 年来，累计立案查处各类违法案件` / `⁵ “四个最严”：…` / `4486 件，入库罚没款…`. The halves become one
    line and the notes follow it, so the sentence (and its figure) is one sentence again.

    Only a prose line (it has a comma or stop inside, so it is no heading) that ends without closing
    punctuation, followed by nothing but blank and superscript note lines and then a line that is neither a
    heading nor a table row."""
    out = list(lines)
    for i, line in enumerate(out):
        if not _breaks_off(line):
            continue
        j = i + 1
        while j < len(out) and (not out[j] or SUPERSCRIPT_LINE_RE.match(out[j])):
            j += 1
        has_notes = any(out[k] for k in range(i + 1, j))
        if has_notes and j < len(out) and out[j] and not _is_table_row(out[j]) and not HEADING_LIKE_RE.match(out[j]):
            out[i] = line + out[j]
            out[j] = ""
            removed["rejoined_sentence"] += 1
    return out


def _breaks_off(line: str) -> bool:
    return (
        bool(line)
        and not _is_table_row(line)
        and line[-1] not in LINE_END_PUNCT
        and not SUPERSCRIPT_LINE_RE.match(line)
        and not HEADING_LIKE_RE.match(line)
        and bool(PROSE_PUNCT_RE.search(line))
    )


def _collapse_blank_lines(text: str) -> str:
    """Runs of blank lines become one blank line; no blank lines at either end."""
    return BLANK_LINES_RE.sub("\n\n", text).strip("\n")
