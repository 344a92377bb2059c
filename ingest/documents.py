"""Turn a loaded file into documents: one per table-of-contents entry for a compilation, else one.

Usage::

    from ingest.documents import build_documents

    docs = build_documents(load_file("reports/000_20d7c97a3767f276.txt"))
    docs[1].doc_id, docs[1].title, docs[1].page, docs[1].reporter
    # ('000_20d7c97a3767f276-02', '履职报告', 4, '青浦区经济委员会主任 朱要武')

A gazette (公报) opens with a contents page, `目 录`, whose entries end in a page number:
`履职报告\t朱要武（04）`. Each entry's title is then found again in the body, tolerantly (stray spaces,
wrapped lines, `审计工作报告` in the contents for `审计报告` in the body) and in contents order, and the
text between two titles is one document. The contents and the masthead before the first title belong to
no document.

A document's footnotes are appended to its text, after its own content, as::

    注释
    六稳：稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期。
    六保：保居民就业、…

one line per footnote, `术语：释义`, in footnote order (a footnote without a term is its definition alone).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from ingest.cleaning import Cleaned, clean_text
from ingest.models import Document, Footnote, RawFile
from ingest.zh import Line, fold_width, lines_with_offsets, strip_ws

log = logging.getLogger(__name__)

NOTES_HEADING = "注释"

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
# `目 录` / `目录` / `目　次`: the contents heading, alone on its line.
_CONTENTS_HEADINGS = {"目录", "目次"}
# Contents are at the front of a compilation; a `目录` line deep inside a report is something else.
_CONTENTS_SEARCH_LINES = 120
# `履职报告\t朱要武（04）`, `…的决定\t（34）`, `…议题\t(131)`: a title, maybe a name, a bracketed page.
_ENTRY_BRACKET_RE = re.compile(r"^(?P<body>.*?\S)[\s.…·．]*[（(]\s*(?P<page>[0-9０-９]{1,4})\s*[）)]$")
# `一、总体情况……………3` / `总体情况\t3`: Word's own contents, a leader or tab then a bare page number.
_ENTRY_LEADER_RE = re.compile(r"^(?P<body>.*?\S)(?:\t+|\s*[.…·．]{2,}\s*)(?P<page>[0-9０-９]{1,4})$")
# A person's name in a contents entry or alone on a line: 2–4 Han characters, `朱 民` spaced for
# alignment as well.
_NAME_RE = re.compile(rf"^[{_CJK}](?:[ \u3000]?[{_CJK}]){{1,3}}$")
# A short last field that ends like a title (`…的  报告`, split off by stray spaces) is not a name.
_TITLE_ENDINGS = ("报告", "决定", "决议", "讲话", "名单", "议题", "情况", "意见", "办法", "规定", "通知", "公告", "说明")
# `第四号` / `第 4 期`: the issue number in a gazette masthead, never part of a contents entry.
_MASTHEAD_RE = re.compile(r"^第\s*[0-9０-９一二三四五六七八九十百]+\s*[号期]$")
# Entries that look like this are chapters of one report (a long report's own contents), not reports.
_CHAPTER_RE = re.compile(
    r"^(?:第[一二三四五六七八九十百\d]+[章节部分篇]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]|\d+[.、．])"
)
_CHAPTER_SHARE = 0.6

# How alike a body line must be to a contents title (difflib ratio on whitespace-free, width-folded
# text); `…审计工作报告` vs `…审计报告` scores ~0.97, `履职报告` vs `辞职报告` 0.75.
_MATCH_THRESHOLD = 0.8
_MAX_TITLE_LINES = 3
# Small tie-breakers: the entry's reporter named just below the title; a date line just below it.
_NAME_BONUS = 0.05
_HEADER_BONUS = 0.02

# `2020年7月16日`, `2020 年 7 月 16 日`.
_DATE_RE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?")
# A line that dates a report: `——2020年7月15日在…会议上` (also `──`), `（2020年7月16日）`,
# `(会期两天, 2020年7月15日)`, `（2020年7月15日青浦区…常务委员会` (wrapped onto the next line).
_DATE_LINE_RE = re.compile(r"^(?:[—─－-]{1,2}|[（(])")
# `区人大常委会主任 朱明福`, `青浦区审计局局长 朱 民`, `区人大财政经济委员会副主任委员 华 琼`.
_OFFICE_NAME_RE = re.compile(
    rf"^(?P<office>[{_CJK}、]{{2,40}}?(?:长|主任|委员|书记|主席|部长|经理|负责人|代表|领导|理事|专员|干事|秘书))"
    rf"[ \u3000\t]+(?P<name>[{_CJK}](?:[ \u3000]?[{_CJK}]){{1,3}})$"
)
# `青浦区人民法院`, `青浦区人民代表大会常务委员会`: a report signed by an institution, not a person.
_INSTITUTION_RE = re.compile(
    rf"^[{_CJK}]{{2,40}}(?:法院|检察院|委员会|人民政府|政府|局|办公室|办公厅|常委会|人大|管委会|中心)$"
)
_HEADING_RE = re.compile(
    r"^(?:#|第[一二三四五六七八九十百\d]+[章节部分篇]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d+\s*[.、．])"
)
_HEADER_MAX_LINES = 6
_HEADER_MAX_LEN = 80


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


@dataclass
class _Match:
    entry: int
    first_line: int
    last_line: int
    score: float


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def build_documents(raw: RawFile) -> list[Document]:
    """Clean `raw.text` and split it into documents (see the module docstring)."""
    cleaned = clean_text(raw.text)
    lines = lines_with_offsets(cleaned.text)
    stem = Path(raw.path).stem
    contents = find_contents(cleaned.text)
    if contents is not None:
        documents = _split_compilation(raw, cleaned, lines, contents, stem)
        if documents:
            return documents
        log.warning("%s: contents found but no entry matched a title in the body; one document", raw.path)
    return [_single_document(raw, cleaned, lines, stem)]


def find_contents(text: str) -> Contents | None:
    """Find and parse a table of contents near the top of `text`; None if there is none (or no entries)."""
    lines = lines_with_offsets(text)
    for index, line in enumerate(lines[:_CONTENTS_SEARCH_LINES]):
        if strip_ws(line.text) in _CONTENTS_HEADINGS:
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

    return re.sub(r"\s+", keep_or_drop, text)


def append_notes(text: str, footnotes: list[Footnote]) -> str:
    """`text` followed by a `注释` section: one `术语：释义` line per footnote, in footnote order."""
    if not footnotes:
        return text
    notes = [f"{fn.term}：{fn.definition}" if fn.term else fn.definition for fn in footnotes]
    return text.rstrip() + "\n\n" + NOTES_HEADING + "\n" + "\n".join(notes)


# --------------------------------------------------------------------------------------------------
# Contents
# --------------------------------------------------------------------------------------------------


def _match_entry_line(text: str) -> re.Match[str] | None:
    text = text.strip()
    return _ENTRY_BRACKET_RE.match(text) or _ENTRY_LEADER_RE.match(text)


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
        elif _MASTHEAD_RE.match(text):
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
    for ahead in range(index + 1, min(index + 1 + _MAX_TITLE_LINES, len(lines))):
        text = lines[ahead].text.strip()
        if not text:
            return False
        if _match_entry_line(text):
            return True
    return False


def _make_entry(parts: list[str], page: str) -> ContentsEntry:
    """`["履职报告\\t朱要武"]`, "04" -> ContentsEntry("履职报告", 4, "朱要武")."""
    raw = "".join(parts)
    fields = [f.strip() for f in re.split(r"\t+| {2,}|\u3000{2,}|[.…·．]{2,}", raw) if f.strip()]
    name = None
    if len(fields) >= 2 and _NAME_RE.match(fields[-1]) and not fields[-1].endswith(_TITLE_ENDINGS):
        name = fields.pop()
    title = normalize_title("".join(fields) if fields else raw)
    return ContentsEntry(title=title, page=int(fold_width(page)), name=name, raw=raw.strip())


def _looks_like_chapter_list(entries: list[ContentsEntry]) -> bool:
    chapters = sum(1 for entry in entries if _CHAPTER_RE.match(entry.title))
    return chapters / len(entries) >= _CHAPTER_SHARE


# --------------------------------------------------------------------------------------------------
# Locating contents titles in the body
# --------------------------------------------------------------------------------------------------


def _title_key(text: str) -> str:
    """Comparison key: no whitespace, full-width ASCII folded, Markdown `#` dropped."""
    return fold_width(strip_ws(text)).lstrip("#")


def _locate_titles(lines: list[Line], first_body_line: int, entries: list[ContentsEntry]) -> list[_Match]:
    """Find each entry's title in the body, in contents order; entries not found are left out."""
    keys = [_title_key(line.text) if "\t" not in line.text else "" for line in lines]
    candidates: list[_Match] = []
    for entry_index, entry in enumerate(entries):
        candidates.extend(_candidates_for(lines, keys, first_body_line, entry_index, entry))
    return _best_ordered_chain(candidates)


def _candidates_for(
    lines: list[Line], keys: list[str], first_body_line: int, entry_index: int, entry: ContentsEntry
) -> list[_Match]:
    """Body positions whose 1–3 consecutive non-blank short lines read like the entry's title.

    `keys[i]` is line i's comparison key ("" for blank lines and table rows, which are never titles).
    """
    key = _title_key(entry.title)
    if not key:
        return []
    max_len = int(len(key) * 1.5) + 4
    found: list[_Match] = []
    for start in range(first_body_line, len(lines)):
        if not keys[start] or len(keys[start]) > max_len:
            continue
        joined = ""
        best: _Match | None = None
        for end in _following_nonblank(lines, start, _MAX_TITLE_LINES):
            joined += keys[end]
            if not keys[end] or len(joined) > max_len:
                break
            score = _similarity(key, joined)
            if score >= _MATCH_THRESHOLD and (best is None or score > best.score):
                best = _Match(entry_index, start, end, score)
        if best is not None:
            best.score += _bonus(lines, best.last_line, entry)
            found.append(best)
    return found


def _following_nonblank(lines: list[Line], start: int, count: int) -> list[int]:
    """`start` and the next non-blank lines after it, `count` lines in all (blank lines skipped)."""
    indices = [start]
    index = start + 1
    while index < len(lines) and len(indices) < count:
        if lines[index].text.strip():
            indices.append(index)
        index += 1
    return indices


def _similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    shorter, longer = sorted((len(a), len(b)))
    if 2 * shorter / (shorter + longer) < _MATCH_THRESHOLD:
        return 0.0  # the ratio can never reach the threshold: skip the expensive comparison
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.quick_ratio() < _MATCH_THRESHOLD:
        return 0.0
    return matcher.ratio()


def _bonus(lines: list[Line], last_title_line: int, entry: ContentsEntry) -> float:
    """Tie-breakers between equally good title lines: the entry's reporter or a date line just below."""
    below = [lines[i].text for i in _following_nonblank(lines, last_title_line, 5)[1:]]
    bonus = 0.0
    if entry.name and any(strip_ws(entry.name) in strip_ws(line) for line in below):
        bonus += _NAME_BONUS
    if any(_DATE_LINE_RE.match(line.strip()) and _DATE_RE.search(line) for line in below[:3]):
        bonus += _HEADER_BONUS
    return bonus


def _best_ordered_chain(candidates: list[_Match]) -> list[_Match]:
    """The highest-scoring chain of candidates increasing in both entry number and body position.

    Titles must come out in contents order: `…任免名单（一）` also scores 0.95 against the body line
    `…任免名单（二）`, and only the order tells them apart (so do the two `履职报告`).
    """
    candidates = sorted(candidates, key=lambda m: (m.first_line, m.entry))
    best: list[float] = []
    previous: list[int | None] = []
    for i, match in enumerate(candidates):
        best.append(match.score)
        previous.append(None)
        for j in range(i):
            earlier = candidates[j]
            follows = earlier.entry < match.entry and earlier.last_line < match.first_line
            if follows and best[j] + match.score > best[i]:
                best[i] = best[j] + match.score
                previous[i] = j
    if not candidates:
        return []
    index: int | None = max(range(len(candidates)), key=lambda i: best[i])
    chain: list[_Match] = []
    while index is not None:
        chain.append(candidates[index])
        index = previous[index]
    return chain[::-1]


# --------------------------------------------------------------------------------------------------
# Building documents
# --------------------------------------------------------------------------------------------------


def _split_compilation(
    raw: RawFile, cleaned: Cleaned, lines: list[Line], contents: Contents, stem: str
) -> list[Document]:
    first_body_line = next((i for i, line in enumerate(lines) if line.start > contents.end), None)
    if first_body_line is None:
        return []
    matches = _locate_titles(lines, first_body_line, contents.entries)
    if not matches:
        return []
    missing = [e.title for i, e in enumerate(contents.entries) if i not in {m.entry for m in matches}]
    if missing:
        log.warning("%s: %d contents entries not found in the body: %s", raw.path, len(missing), missing)
    skipped = cleaned.text[lines[first_body_line].start : lines[matches[0].first_line].start].strip()
    if skipped:
        log.info("%s: %d characters before the first title belong to no document", raw.path, len(skipped))

    orphans = [f.n for f in cleaned.footnotes if not f.ref_offsets]
    if orphans:
        log.warning("%s: footnotes %s are never referenced and belong to no document", raw.path, orphans)

    documents: list[Document] = []
    for number, match in enumerate(matches, start=1):
        entry = contents.entries[match.entry]
        start = lines[match.first_line].start
        end = lines[matches[number].first_line].start if number < len(matches) else len(cleaned.text)
        header = _header_lines(lines, match.last_line)
        documents.append(
            _make_document(
                raw, cleaned, start, end,
                doc_id=f"{stem}-{number:02d}",
                title=entry.title,
                page=entry.page,
                date=_find_date(header),
                reporter=_find_reporter(header, entry.name),
            )
        )
    return documents


def _single_document(raw: RawFile, cleaned: Cleaned, lines: list[Line], stem: str) -> Document:
    title, title_line = _single_title(raw, lines)
    header = _header_lines(lines, title_line) if title_line is not None else []
    return _make_document(
        raw, cleaned, 0, len(cleaned.text),
        doc_id=stem,
        title=title,
        page=None,
        date=_find_date(header),
        reporter=_find_reporter(header, None),
        all_footnotes=True,
    )


def _single_title(raw: RawFile, lines: list[Line]) -> tuple[str, int | None]:
    """Title of a file that is one document, and the index of the line that carries it (if any).

    Markdown: the first `#` heading; HTML/DOCX: the loader's <title>/<h1> or Title/Heading 1; otherwise
    (and as a fallback) the first non-empty line.
    """
    first_line = next((i for i, line in enumerate(lines) if line.text.strip()), None)
    hint = raw.title_hint
    if raw.format == "md" and not hint:
        hint = next((line.text for line in lines if re.match(r"^#\s", line.text)), None)
    if hint and hint.strip():
        key = _title_key(hint)
        top = list(enumerate(lines[:40]))
        line_index = next((i for i, line in top if line.text.strip() and _title_key(line.text) == key), None)
        if line_index is None:  # <title>区政府工作报告 - 门户网站</title>: the header follows the first heading
            line_index = next((i for i, line in top if line.text.startswith("#")), first_line)
        return normalize_title(hint), line_index
    if first_line is None:
        return Path(raw.path).stem, None
    return normalize_title(lines[first_line].text), first_line


def _make_document(
    raw: RawFile,
    cleaned: Cleaned,
    start: int,
    end: int,
    *,
    doc_id: str,
    title: str,
    page: int | None,
    date: str | None,
    reporter: str | None,
    all_footnotes: bool = False,
) -> Document:
    body = cleaned.text[start:end].rstrip()
    footnotes = _footnotes_in(cleaned.footnotes, start, start + len(body), include_unreferenced=all_footnotes)
    return Document(
        doc_id=doc_id,
        title=title,
        source_file=raw.path,
        text=append_notes(body, footnotes),
        page=page,
        date=date,
        reporter=reporter,
        footnotes=footnotes,
    )


def _footnotes_in(
    footnotes: list[Footnote], start: int, end: int, *, include_unreferenced: bool
) -> list[Footnote]:
    """Copies of the footnotes referenced in [start, end], offsets made relative to `start`."""
    selected: list[Footnote] = []
    for footnote in footnotes:
        offsets = [offset - start for offset in footnote.ref_offsets if start <= offset <= end]
        if offsets or (include_unreferenced and not footnote.ref_offsets):
            selected.append(Footnote(footnote.n, footnote.term, footnote.definition, offsets))
    return selected


# --------------------------------------------------------------------------------------------------
# Header metadata: date and reporter
# --------------------------------------------------------------------------------------------------


def _header_lines(lines: list[Line], last_title_line: int) -> list[str]:
    """The short lines between a title and the report's first paragraph, salutation or heading.

    In `履 职 报 告` / `——2020年7月15日在…常务委员会` / `第三十六次会议上` / `青浦区经济委员会主任 朱要武` /
    `主任、各位副主任、各位委员：` the header is the middle three lines.
    """
    header: list[str] = []
    for index in _following_nonblank(lines, last_title_line, _HEADER_MAX_LINES + 1)[1:]:
        text = lines[index].text.strip()
        if _ends_header(text):
            break
        header.append(text)
    return header


def _ends_header(text: str) -> bool:
    """A paragraph, a table row, a salutation (`各位代表：`) or a heading is where the header stops."""
    return len(text) > _HEADER_MAX_LEN or "\t" in text or text.endswith(("：", ":")) or bool(_HEADING_RE.match(text))


def _find_date(header: list[str]) -> str | None:
    """`——2020 年 7 月 16 日在…` -> "2020年7月16日" (as written, its stray spaces removed)."""
    for line in header:
        match = _DATE_RE.search(line)
        if match and (_DATE_LINE_RE.match(line) or strip_ws(line) == strip_ws(match.group(0))):
            return strip_ws(match.group(0))
    return None


def _find_reporter(header: list[str], contents_name: str | None) -> str | None:
    """Office and name from the header; else a bare name, the contents entry's name, or an institution."""
    people = [line for line in _non_date_lines(header) if _OFFICE_NAME_RE.match(line)]
    if people:
        return people[0]
    names = [line for line in _non_date_lines(header) if _NAME_RE.match(line)]
    if names:
        return names[0]
    if contents_name:
        return contents_name
    institutions = [line for line in _non_date_lines(header) if _INSTITUTION_RE.match(line)]
    return institutions[0] if institutions else None


def _non_date_lines(header: list[str]) -> list[str]:
    """The header without its date lines, including their wrapped second line (`第三十六次会议上`)."""
    kept: list[str] = []
    continues = False
    for line in header:
        if continues:
            continues = False
            continue
        if _DATE_LINE_RE.match(line) and _DATE_RE.search(line):
            continues = not line.endswith(("上", "）", ")", "讲话"))
            continue
        kept.append(line)
    return kept
