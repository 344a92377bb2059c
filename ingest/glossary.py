"""Glossary entries: the terms a report defines, so "什么是六保?" can be answered from the definition itself.

Three shapes occur in the corpus:
- a `名词解释` back-matter section of numbered items, bold or not:
  `1. **“四早”**：早发现、早报告、早隔离、早治疗。` / `10. “三大整治”：公共安全整治、…`
  (an item may wrap onto further lines: item 21 `“一网、一窗、一次”改革` runs over two);
- docx footnotes, which cleaning appends under a `注释` line, one `术语：释义` line each
  (`六稳：稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期。`), with `doc.footnotes` holding the references;
- PDF page-foot notes with a superscript number, left inside the body by conversion:
  `⁵ “四个最严”：最严谨的标准、最严格的监管、…`, referenced in the text as `“四个最严⁵”`.

Each entry keeps the exact span of its source text so chunking can make one `definition` chunk per entry
whose text is `doc.text[start:end]`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ingest.models import Document, Footnote, GlossaryEntry, Section
from ingest.sections import heading_span, innermost_section
from ingest.zh import strip_ws
from ingest.zh.headings import (
    FOOTNOTE_PREFIX_RE,
    ITEM_NUMBER_RE,
    TERM_COLON_RE,
)
from ingest.zh.markup import SUPERSCRIPT_LINE_RE, SUPERSCRIPT_RUN_RE

logger = logging.getLogger(__name__)

SOURCE_GLOSSARY = "名词解释"
SOURCE_FOOTNOTE = "footnote"

MAX_TERM_CHARS = 40


@dataclass
class GlossaryItem:
    """A glossary entry with the span of its `术语：释义` text in `doc.text` and its enclosing section."""

    entry: GlossaryEntry
    start: int
    end: int
    section_id: str | None = None
    line_start: int | None = None  # where the item's line begins (its number `1. ` / `⁵ `), for exclusion

    @property
    def block(self) -> tuple[int, int]:
        """The whole source span of the item, number included: what text chunks must not repeat."""
        return (self.start if self.line_start is None else self.line_start), self.end


def split_term(text: str) -> tuple[str, str] | None:
    """`**“四早”**：早发现、…` -> (`“四早”`, `早发现、…`); None when there is no `：` near the start."""
    m = TERM_COLON_RE.search(text)
    if not m or m.start() == 0:
        return None
    term = text[: m.start()].replace("**", "").strip()
    if not term or len(term) > MAX_TERM_CHARS:
        return None
    definition = "".join(line.strip() for line in text[m.end():].splitlines()).strip()
    return term, definition


def _lines_in(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line in text[start:end], trimmed of surrounding whitespace."""
    out: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl < 0 else nl
        seg = text[pos:line_end]
        if seg.strip():
            lead = len(seg) - len(seg.lstrip())
            out.append((pos + lead, pos + len(seg.rstrip())))
        pos = line_end + 1
    return out


def _numbered_items(text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Group lines into items: a numbered line starts an item, other lines continue the current one.

    The span starts after the number (`1. `), at the term: `**“四早”**：早发现、早报告、早隔离、早治疗。`.
    """
    numbered = [(s, e) for s, e in lines if ITEM_NUMBER_RE.match(text[s:e])]
    if not numbered:  # unnumbered glossary: every line with an early `：` is an item
        return [(s, e, s) for s, e in lines if split_term(text[s:e]) is not None]
    items: list[list[int]] = []
    for s, e in lines:
        m = ITEM_NUMBER_RE.match(text[s:e])
        if m:
            items.append([s + m.end(), e, s])
        elif items:
            items[-1][1] = e
    return [(s, e, ls) for s, e, ls in items]


def _glossary_section_items(doc: Document, sec: Section) -> list[GlossaryItem]:
    _, head_end = heading_span(doc.text, sec)
    out: list[GlossaryItem] = []
    for s, e, line_start in _numbered_items(doc.text, _lines_in(doc.text, head_end, sec.end)):
        parsed = split_term(doc.text[s:e])
        if parsed is None:
            logger.debug("名词解释 item without a term: %r", doc.text[s:e][:40])
            continue
        term, definition = parsed
        entry = GlossaryEntry(term=term, definition=definition, doc_id=doc.doc_id, source=SOURCE_GLOSSARY)
        out.append(GlossaryItem(entry, s, e, sec.section_id, line_start))
    return out


def _match_footnote(term: str, footnotes: list[Footnote], used: set[int]) -> Footnote | None:
    key = strip_ws(term).strip("“”\"")
    for i, fn in enumerate(footnotes):
        if i not in used and strip_ws(fn.term).strip("“”\"") == key:
            used.add(i)
            return fn
    return None


def _notes_section_items(doc: Document, sec: Section) -> list[GlossaryItem]:
    """`注释` lines appended by cleaning, matched to `doc.footnotes` for their reference offsets.

    A line that does not start a new `术语：` (a wrapped definition) continues the item above.
    """
    _, head_end = heading_span(doc.text, sec)
    spans: list[list[int]] = []  # [term start, end, line start]
    known = {strip_ws(fn.term) for fn in doc.footnotes}
    for s, e in _lines_in(doc.text, head_end, sec.end):
        m = FOOTNOTE_PREFIX_RE.match(doc.text[s:e])
        body_start = s + (m.end() if m else 0)
        parsed = split_term(doc.text[body_start:e])
        starts_item = parsed is not None and (not known or strip_ws(parsed[0]) in known)
        if starts_item or not spans:
            spans.append([body_start, e, s])
        else:
            spans[-1][1] = e
    used: set[int] = set()
    out: list[GlossaryItem] = []
    for s, e, line_start in spans:
        parsed = split_term(doc.text[s:e])
        if parsed is None:
            continue
        term, definition = parsed
        fn = _match_footnote(term, doc.footnotes, used)
        entry = GlossaryEntry(
            term=fn.term if fn else term,
            definition=fn.definition if fn else definition,
            doc_id=doc.doc_id,
            source=SOURCE_FOOTNOTE,
            referenced_at=list(fn.ref_offsets) if fn else [],
        )
        out.append(GlossaryItem(entry, s, e, sec.section_id, line_start))
    for i, fn in enumerate(doc.footnotes):
        if i not in used:
            logger.warning("%s: footnote %d (%s) has no line under 注释", doc.doc_id, fn.n, fn.term)
    return out


def _superscript_refs(text: str, mark: str, skip_at: int) -> list[int]:
    """Offsets where the superscript `mark` is cited in the body (`“四个最严⁵”`), not its own note line."""
    return [m.start() for m in SUPERSCRIPT_RUN_RE.finditer(text) if m.group() == mark and m.start() != skip_at]


def _superscript_items(doc: Document, sections: list[Section], excluded: list[tuple[int, int]]) -> list[GlossaryItem]:
    """Page-foot notes `⁵ “四个最严”：最严谨的标准、…` that define a term (a `：` within the first 40 chars).

    Explanatory notes without a term (`¹全区共有各类市场主体17.4万户，…`) stay in the body text.
    """
    text = doc.text
    out: list[GlossaryItem] = []
    for s, e in _lines_in(text, 0, len(text)):
        if "\t" in text[s:e] or any(a <= s < b for a, b in excluded):
            continue
        m = SUPERSCRIPT_LINE_RE.match(text[s:e])
        if not m:
            continue
        body_start = s + m.end()
        parsed = split_term(text[body_start:e])
        if parsed is None:
            continue
        term, definition = parsed
        entry = GlossaryEntry(
            term=term,
            definition=definition,
            doc_id=doc.doc_id,
            source=SOURCE_FOOTNOTE,
            referenced_at=_superscript_refs(text, m.group(1), s + (len(text[s:e]) - len(text[s:e].lstrip()))),
        )
        out.append(GlossaryItem(entry, body_start, e, innermost_section(sections, s).section_id, s))
    return out


def glossary_items(doc: Document, sections: list[Section]) -> list[GlossaryItem]:
    """All glossary entries of `doc` with their spans, in document order."""
    items: list[GlossaryItem] = []
    back: list[tuple[int, int]] = []
    for sec in sections:
        if sec.family == "glossary":
            items.extend(_glossary_section_items(doc, sec))
            back.append((sec.start, sec.end))
        elif sec.family == "notes":
            items.extend(_notes_section_items(doc, sec))
            back.append((sec.start, sec.end))
    items.extend(_superscript_items(doc, sections, back))
    items.sort(key=lambda it: it.start)
    return items


def extract_glossary(doc: Document, sections: list[Section]) -> list[GlossaryEntry]:
    """The glossary entries (`名词解释` items and footnotes) of `doc`, in document order."""
    return [it.entry for it in glossary_items(doc, sections)]
