"""Heading detection: the section tree (outline) of one report.

Chinese reports number their headings with a handful of families — `第一部分`, `一、`, `（一）`, `1.`, `（1）`,
ordinal openers `第一，` — but which family sits at which depth differs between documents (the court's report:
`第一部分` > `一、` > `1.`; the procuratorate's: `一、` > `（一）` > `1.`; the town report: `一、` > `第一，`).
So levels are not a global ranking: the first family met is level 1, a new family met inside it nests one
level deeper, and a family already seen above another closes it (outline-style, see `_Nesting`). Back matter (`附件`, `名词解释`,
`注释`) is always level 1.

False headings are the hard part. A candidate line is rejected when it is
- a table row (has a tab),
- prose: the heading part (up to the first `。`) is longer than ~40 characters, contains `；`, or follows no
  sequence (`（四）` with no `（三）` before it),
- a list item: a run of consecutive one-sentence numbered lines ending in `；`/`。` with no body between them
  (the agenda's `1. 审议人事任免事项；` / `2. 听取…；`),
- inside a glossary (`名词解释` items `1. **“四早”**：…` are glossary entries, not headings),
- a contents line (`一、总体情况……3`).

A `1.加强生态环境保护治理。深入推进…` paragraph is a headed paragraph: the heading is the first sentence and
the rest of the line is the body.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ingest.models import Document, Section
from ingest.zh import Line, cn_to_int, lines_with_offsets, strip_ws
from ingest.zh.headings import (
    APPENDIX_RE,
    GLOSSARY_TITLES,
    HEADING_FAMILIES,
    HEADING_MARKUP_RE,
    NOTES_TITLES,
    TOC_TAIL_RE,
)
from ingest.zh.text import HEADING_SENTENCE_ENDS

logger = logging.getLogger(__name__)

MAX_HEADING_CHARS = 40  # longest heading seen in the corpus is 31 characters; paragraphs run to hundreds

# Heading patterns (numbering families, appendix and back-matter titles, contents lines) live in
# ingest.zh.headings, each with an example of what it matches.
BACK_MATTER_FAMILIES = ("appendix", "glossary", "notes")


@dataclass
class HeadingCandidate:
    line_no: int
    start: int  # offset of the heading's first character (the marker)
    heading_end: int  # end of the heading part: the line end, or just after the first `。`
    line_end: int
    family: str
    ordinal: int | None
    heading: str  # display text, markup removed, trailing `。` dropped
    has_body: bool  # the line goes on after the heading part (a headed paragraph)




def _clean_heading(text: str) -> str:
    """Display text: markup removed, trailing `。`/`：` dropped (but `附：` stays `附：`, not `附`)."""
    text = HEADING_MARKUP_RE.sub("", text).strip()
    trimmed = text.rstrip("。：: ").strip()
    return trimmed if len(trimmed) > 1 else text


def _ordinal(raw: str | None) -> int | None:
    if raw is None:
        return None
    return int(raw) if raw.isdigit() else cn_to_int(raw)


def _back_matter_family(stripped: str) -> str | None:
    bare = HEADING_MARKUP_RE.sub("", stripped).lstrip("#").strip()
    if bare in GLOSSARY_TITLES:
        return "glossary"
    if bare in NOTES_TITLES:
        return "notes"
    if len(bare) <= MAX_HEADING_CHARS and APPENDIX_RE.match(bare):
        return "appendix"
    return None


def match_heading(line: str, line_start: int, line_no: int = 0) -> HeadingCandidate | None:
    """Classify one line on its own (no sequence/context checks): a heading candidate or None.

    `（三）努力做优刑事检察，全面推进依法治区。` -> cn_paren 3, heading `（三）努力做优刑事检察，全面推进依法治区`;
    `1.加强生态环境保护治理。深入推进…` -> arabic 1, a headed paragraph (has_body) with heading `1.加强生态环境保护治理`.
    """
    if "\t" in line:  # table rows (`1\t地区生产总值\t增长 6%…`) are never headings
        return None
    lead = len(line) - len(line.lstrip())
    stripped = line.strip()
    if not stripped or TOC_TAIL_RE.search(stripped):
        return None
    start = line_start + lead
    line_end = line_start + len(line.rstrip())
    bm = _back_matter_family(stripped)
    if bm is not None:
        return HeadingCandidate(line_no, start, line_end, line_end, bm, None, _clean_heading(stripped), False)
    body = stripped[2:] if stripped.startswith("**") else stripped
    for family, pattern in HEADING_FAMILIES:
        m = pattern.match(body)
        if not m:
            continue
        if family == "md":
            family = f"md{len(m.group('hashes'))}"
            ordinal = None
        else:
            ordinal = _ordinal(m.group("n"))
            if ordinal is None or ordinal == 0 or ordinal > 50:
                return None
        rest = body[m.end():]
        if not HEADING_MARKUP_RE.sub("", rest).strip():
            return None  # a bare marker (`一、`) with nothing after it
        # The heading part ends at the first sentence end; a heading never contains `；` (list items do).
        cut = min((i for i, ch in enumerate(stripped) if ch in HEADING_SENTENCE_ENDS), default=-1)
        head_len = cut + 1 if cut >= 0 else len(stripped)
        head = stripped[:head_len]
        if "；" in head or ";" in head:
            return None
        if len(HEADING_MARKUP_RE.sub("", head)) > MAX_HEADING_CHARS and not family.startswith("md"):
            return None
        has_body = bool(stripped[head_len:].strip())
        if family.startswith("md"):
            head_len, has_body = len(stripped), False
        heading = _clean_heading(head.lstrip("#").strip() if family.startswith("md") else head)
        return HeadingCandidate(
            line_no, start, start + head_len, line_end, family, ordinal, heading, has_body
        )
    return None


def _title_line_count(lines: list[Line], title: str) -> int:
    """How many leading non-blank lines spell the document title (titles wrap: `…主要` / `工作安排报告`)."""
    want = strip_ws(title)
    if not want:
        return 0
    got = ""
    count = 0
    for idx, line in enumerate(lines):
        s = strip_ws(line.text)
        if not s:
            continue
        if want.startswith(got + s):
            got += s
            count = idx + 1
            if got == want:
                break
        else:
            break
    if count == 0:  # the first line is the title even when it differs from doc.title
        count = next((i + 1 for i, line in enumerate(lines) if line.text.strip()), 0)
    return count


def title_end(text: str, title: str) -> int:
    """Offset just after the title line(s) at the top of `text` (0 when the text is empty)."""
    lines = lines_with_offsets(text)
    count = _title_line_count(lines, title)
    return lines[count - 1].end if count else 0


def _list_item_lines(cands: list[HeadingCandidate], lines: list[Line]) -> set[int]:
    """Line numbers of list items: runs of ≥2 consecutive same-family candidates with nothing between them.

    The agenda `1. 审议人事任免事项；` … `8. 书面审议…的报告。` and duty lists `（十一）完成区委、区政府交办的其他
    任务。` are items: each line is one sentence ending in `；`/`。`, and no body paragraph separates them.
    A run that holds a headed paragraph (`第一，…。` + body on the same line) is not a list.
    """
    items: set[int] = set()
    by_line = {c.line_no: c for c in cands}
    run: list[HeadingCandidate] = []

    def flush() -> None:
        if len(run) >= 2 and not any(c.has_body for c in run):
            itemish = [c for c in run if lines[c.line_no].text.rstrip()[-1:] in "；;。"]
            if len(itemish) * 2 >= len(run):
                items.update(c.line_no for c in run)

    for i, line in enumerate(lines):
        if not line.text.strip():
            continue
        c = by_line.get(i)
        if c is not None and c.family not in BACK_MATTER_FAMILIES and (not run or run[-1].family == c.family):
            run.append(c)
            continue
        flush()
        run = [c] if c is not None and c.family not in BACK_MATTER_FAMILIES else []
    flush()
    return items


@dataclass
class _Open:
    family: str
    ordinal: int | None
    index: int  # position in the output list


class _Nesting:
    """Which family sits above which, learned from the document itself as headings are met.

    A new family nests under whatever is open (the first-seen family is level 1, the next one found inside it
    level 2, …). Once `（一）` has been seen above `1.`, a later `（二）` closes any open `1.` instead of nesting
    under it. Markdown levels are explicit: `##` is always under `#`, and any numbered heading is under them.
    """

    def __init__(self) -> None:
        self.above: set[tuple[str, str]] = set()  # (ancestor family, descendant family)

    def is_above(self, family: str, other: str) -> bool:
        if family.startswith("md"):
            return not other.startswith("md") or int(other[2:]) >= int(family[2:])
        if other.startswith("md"):
            return False
        return (family, other) in self.above

    def record(self, stack: list[str], family: str) -> None:
        for anc in stack:
            if anc not in BACK_MATTER_FAMILIES and (family, anc) not in self.above:
                self.above.add((anc, family))


def parse_sections(doc: Document) -> list[Section]:
    """The section tree of `doc`, in document order; index 0 is the root (level 0, heading = title).

    Section ids are `{doc_id}.s{NNN}`; `start` is the heading's first character, `end` the start of the next
    section at the same or a higher level (or the end of the text).
    """
    text = doc.text
    lines = lines_with_offsets(text)
    skip = _title_line_count(lines, doc.title) if doc.title_in_text else 0
    cands = [c for i, line in enumerate(lines) if i >= skip and (c := match_heading(line.text, line.start, i))]
    list_items = _list_item_lines(cands, lines)

    root = Section(f"{doc.doc_id}.s000", doc.doc_id, (doc.title or "").strip(), 0, "root", 0, len(text))
    sections: list[Section] = [root]
    stack: list[_Open] = []
    nesting = _Nesting()
    in_glossary = False
    for c in cands:
        if c.family in BACK_MATTER_FAMILIES:
            in_glossary = c.family in ("glossary", "notes")
            stack = []
            level = 1
        else:
            if in_glossary and not c.family.startswith("md"):
                continue  # `1. **“四早”**：…` items belong to the glossary
            if c.line_no in list_items:
                continue
            pos = next((k for k, o in enumerate(stack) if o.family == c.family), None)
            if pos is not None:
                if not _in_sequence(c, stack[pos].ordinal):
                    logger.debug("out of sequence, not a heading: %r", c.heading)
                    continue
                stack = stack[:pos]
            else:
                if c.ordinal not in (None, 1):
                    logger.debug("sequence does not start at 1, not a heading: %r", c.heading)
                    continue
                while stack and nesting.is_above(c.family, stack[-1].family):
                    stack.pop()
            nesting.record([o.family for o in stack], c.family)
            level = len(stack) + 1
        parent = sections[stack[-1].index] if stack else root
        sec = Section(
            section_id=f"{doc.doc_id}.s{len(sections):03d}",
            doc_id=doc.doc_id,
            heading=c.heading,
            level=level,
            family=c.family,
            start=c.start,
            end=len(text),
            parent_id=parent.section_id,
        )
        parent.children.append(sec.section_id)
        stack.append(_Open(c.family, c.ordinal, len(sections)))
        sections.append(sec)
    _close_spans(sections)
    logger.debug("%s: %d sections", doc.doc_id, len(sections) - 1)
    return sections


def _in_sequence(c: HeadingCandidate, prev: int | None) -> bool:
    """`（二）` after `（一）`; a restart at 1 (a new list); one missing number only on a standalone line."""
    if c.ordinal is None or prev is None:
        return True
    if c.ordinal in (1, prev + 1):
        return True
    return c.ordinal == prev + 2 and not c.has_body


def _close_spans(sections: list[Section]) -> None:
    for i, sec in enumerate(sections):
        if sec.level == 0:
            continue
        for nxt in sections[i + 1:]:
            if nxt.level <= sec.level:
                sec.end = nxt.start
                break


def heading_span(text: str, section: Section) -> tuple[int, int]:
    """(start, end) of the heading part of `section`: its line, or its first sentence for a headed paragraph."""
    if section.level == 0:
        return section.start, section.start
    line_end = text.find("\n", section.start)
    line_end = len(text) if line_end < 0 else line_end
    line = text[section.start:line_end]
    if section.family in BACK_MATTER_FAMILIES or section.family.startswith("md"):
        return section.start, section.start + len(line.rstrip())
    cut = min((i for i, ch in enumerate(line) if ch in HEADING_SENTENCE_ENDS), default=-1)
    end = section.start + (cut + 1 if cut >= 0 else len(line.rstrip()))
    # keep a closing quote/bracket glued to the sentence end: `…阻击战。”`
    while end < line_end and text[end] in "”’」』）)】":
        end += 1
    return section.start, end


def section_path(sections: list[Section], section_id: str | None) -> list[Section]:
    """Ancestors of `section_id` from level 1 down to the section itself (the root excluded)."""
    by_id = {s.section_id: s for s in sections}
    path: list[Section] = []
    cur = by_id.get(section_id) if section_id else None
    while cur is not None and cur.level > 0:
        path.append(cur)
        cur = by_id.get(cur.parent_id) if cur.parent_id else None
    return path[::-1]


def innermost_section(sections: list[Section], offset: int) -> Section:
    """The deepest section whose span contains `offset` (the root if none)."""
    best = sections[0]
    for sec in sections[1:]:  # document order: the last section that contains `offset` is the deepest
        if sec.start > offset:
            break
        if offset < sec.end:
            best = sec
    return best


def outline(sections: list[Section]) -> list[dict]:
    """The nested heading tree for the API: one node per root, `{section_id, heading, level, start, children}`."""
    by_id = {s.section_id: s for s in sections}

    def node(sec: Section) -> dict:
        return {
            "section_id": sec.section_id,
            "heading": sec.heading,
            "level": sec.level,
            "start": sec.start,
            "children": [node(by_id[c]) for c in sec.children if c in by_id],
        }

    return [node(s) for s in sections if s.level == 0]
