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
No NFKC, no width folding: `2020 年` and `（` stay exactly as written, because answers and evidence quotes
are checked against this text.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.models import Footnote

log = logging.getLogger(__name__)

# `[bookmark: _GoBack]` — Word's "last edit position" and other bookmarks, written out by the converter.
_BOOKMARK_RE = re.compile(r"\[bookmark:[^\]\n]*\]")
# `扎实做好“六稳”[footnoteRef:1]“六保”` — where footnote 1 is referenced.
_FOOTNOTE_REF_RE = re.compile(r"\[footnoteRef:\s*(\d+)\s*\]")
# `[1: 、六稳：稳就业、稳金融、…。]` — the footnote's definition, written inline after the paragraph. It
# may run over several lines, its `]` then standing alone on the last one (definition 19 of the town
# report: `[19: 、四种形态：…极少数。 \n] `). Non-greedy up to the first `]`; capped so that a stray `[3:`
# in ordinary text cannot swallow the rest of the file.
_FOOTNOTE_DEF_RE = re.compile(r"\[(\d+):[ \t]*(.{0,3000}?)\]", re.DOTALL)
# The definition's own shape: `、术语：释义` (the `、` is the converter's separator after the number).
_FOOTNOTE_SHAPE_RE = re.compile(r"^\s*、?\s*[^：:\n]{1,40}[：:]")
# A line holding only `]`: the tail of a multi-line footnote definition the converter split off.
_LONE_BRACKET_RE = re.compile(r"^\s*\]\s*$")

# `2020 年公报第四号（总第 154 号）` / `2020年第4期（总第154期）`: a gazette's issue line, printed at the
# top of every page and leaked into the middle of a table by PDF/Word conversion.
_ISSUE_LINE_RE = re.compile(
    r"^\d{4}\s*年\s*(?:公报\s*)?第\s*[0-9一二三四五六七八九十百〇零]+\s*[号期]\s*"
    r"[（(]\s*总第\s*\d+\s*[号期]\s*[)）]$"
)
# `上海市青浦区人民代表大会常务委员会公报`: the gazette's name as a running header. An institution's
# gazette is always furniture; another `…公报` line (e.g. a statistical bulletin's title) only when it
# interrupts a table or repeats.
_INSTITUTION_GAZETTE_RE = re.compile(r"^\S{2,40}(?:委员会|人民政府|政府|人大|法院|检察院|办公厅|办公室)公报$")
_ANY_GAZETTE_RE = re.compile(r"^\S{2,40}公报$")
# Page numbers as printed in footers: `- 12 -`, `—12—`, `第 12 页`, `第3页 共20页`, `12 / 132`.
_PAGE_NUMBER_RE = re.compile(
    r"^(?:[-—–－]\s*\d{1,4}\s*[-—–－]|第\s*\d{1,4}\s*页(?:\s*[，,]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4})$"
)
# A repeated short line counts as a running header only if it has no sentence punctuation (so the
# salutation `主任、各位副主任、各位委员：` and `以上报告，请予审议。`, repeated in every gazette report,
# are safe) and is not a numbered heading.
_SENTENCE_PUNCT_RE = re.compile(r"[，。；：！？、,;:!?“”]")
_HEADING_LIKE_RE = re.compile(
    r"^(?:#|第[一二三四五六七八九十百零〇\d]+[部分章节条篇]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．])"
)
_REPEAT_MIN = 3
_REPEAT_MAX_LEN = 40
# Characters that end a line that is complete in itself; a line ending otherwise wraps onto the next.
_LINE_END_PUNCT = "。！？；：:;!?）)”』」】"
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
    text, n_bookmarks = _BOOKMARK_RE.subn("", text)
    removed["bookmark"] += n_bookmarks

    lines = [_strip_line(line) for line in text.split("\n")]
    lines = _drop_lone_brackets(lines, removed)
    lines = _drop_page_furniture(lines, removed)
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
    referenced = {int(n) for n in _FOOTNOTE_REF_RE.findall(text)}
    definitions: dict[int, Footnote] = {}

    def cut(match: re.Match[str]) -> str:
        n, body = int(match.group(1)), match.group(2)
        # Without a `[footnoteRef:N]` for it, `[3: …]` is only a definition if it has the `、术语：` shape.
        if n not in referenced and not _FOOTNOTE_SHAPE_RE.match(body):
            return match.group(0)
        if n in definitions:
            log.warning("footnote %d defined twice; keeping the first definition", n)
        else:
            definitions[n] = _parse_definition(n, body)
        removed["footnote_definition"] += 1
        return ""

    return _FOOTNOTE_DEF_RE.sub(cut, text), definitions


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

    return _FOOTNOTE_REF_RE.sub(mark, text), numbers


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
        if _LONE_BRACKET_RE.match(line):
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
        if _ISSUE_LINE_RE.match(line) or _PAGE_NUMBER_RE.match(line) or _INSTITUTION_GAZETTE_RE.match(line):
            drop.add(index)
        elif _ANY_GAZETTE_RE.match(line) and (counts[line] >= 2 or _table_rows_around(lines, index, set())):
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
        and not _SENTENCE_PUNCT_RE.search(line)
        and not _HEADING_LIKE_RE.match(line)
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
    return not _is_table_row(text) and text[-1] not in _LINE_END_PUNCT


def _collapse_blank_lines(text: str) -> str:
    """Runs of blank lines become one blank line; no blank lines at either end."""
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
