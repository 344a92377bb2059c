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
from pathlib import Path

from ingest.cleaning import Cleaned, clean_text
from ingest.contents import Contents, ContentsEntry, find_contents, normalize_title
from ingest.models import Document, Footnote, RawFile
from ingest.report_header import find_date, find_reporter, header_lines
from ingest.title_locator import locate_titles, title_key
from ingest.zh import Line, lines_with_offsets
from ingest.zh.headings import MD_TITLE_LINE_RE
from ingest.zh.titles import looks_like_title, short_title

log = logging.getLogger(__name__)

__all__ = [
    "NOTES_HEADING", "Contents", "ContentsEntry", "append_notes", "build_documents", "find_contents", "normalize_title",
]

NOTES_HEADING = "注释"


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


def append_notes(text: str, footnotes: list[Footnote]) -> str:
    """`text` followed by a `注释` section: one `术语：释义` line per footnote, in footnote order."""
    if not footnotes:
        return text
    notes = [f"{fn.term}：{fn.definition}" if fn.term else fn.definition for fn in footnotes]
    return text.rstrip() + "\n\n" + NOTES_HEADING + "\n" + "\n".join(notes)


def _split_compilation(
    raw: RawFile, cleaned: Cleaned, lines: list[Line], contents: Contents, stem: str
) -> list[Document]:
    first_body_line = next((i for i, line in enumerate(lines) if line.start > contents.end), None)
    if first_body_line is None:
        return []
    matches = locate_titles(lines, first_body_line, contents.entries)
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
        header = header_lines(lines, match.last_line)
        documents.append(
            _make_document(
                raw, cleaned, start, end,
                doc_id=f"{stem}-{number:02d}",
                title=entry.title,
                page=entry.page,
                date=find_date(header),
                reporter=find_reporter(header, entry.name),
            )
        )
    return documents


def _single_document(raw: RawFile, cleaned: Cleaned, lines: list[Line], stem: str) -> Document:
    title, title_line, in_text = _single_title(raw, lines)
    header = header_lines(lines, title_line) if title_line is not None else []
    document = _make_document(
        raw, cleaned, 0, len(cleaned.text),
        doc_id=stem,
        title=title,
        page=None,
        date=find_date(header),
        reporter=find_reporter(header, None),
        all_footnotes=True,
    )
    document.title_in_text = in_text
    return document


def _single_title(raw: RawFile, lines: list[Line]) -> tuple[str, int | None, bool]:
    """Title of a file that is one document, the index of the line that carries it (if any), and whether
    the text's opening line(s) spell it.

    Markdown: the first `#` heading; HTML/DOCX: the loader's <title>/<h1> or Title/Heading 1. Otherwise the
    first non-empty line when it looks like a title (short, no sentence end, no figure) and is not the only
    line; else a title derived from the file name, or the first sentence cut short, with the first line
    kept as body text (a one-line .txt is all body).
    """
    nonblank = [i for i, line in enumerate(lines) if line.text.strip()]
    first_line = nonblank[0] if nonblank else None
    hint = raw.title_hint
    if raw.format == "md" and not hint:
        hint = next((line.text for line in lines if MD_TITLE_LINE_RE.match(line.text)), None)
    if hint and hint.strip():
        key = title_key(hint)
        top = list(enumerate(lines[:40]))
        line_index = next((i for i, line in top if line.text.strip() and title_key(line.text) == key), None)
        if line_index is None:  # <title>区政府工作报告 - 门户网站</title>: the header follows the first heading
            line_index = next((i for i, line in top if line.text.startswith("#")), None)
        if line_index is None and first_line is not None and not looks_like_title(lines[first_line].text):
            return normalize_title(hint), None, False  # the page's text starts at once: no line is its title
        return normalize_title(hint), line_index if line_index is not None else first_line, True
    if first_line is None:
        return Path(raw.path).stem, None, False
    if len(nonblank) > 1 and looks_like_title(lines[first_line].text):
        return normalize_title(lines[first_line].text), first_line, True
    return _derived_title(Path(raw.path).stem, "\n".join(lines[i].text for i in nonblank[:3])), None, False


def _derived_title(stem: str, opening: str) -> str:
    """A title for a text without one: its file name when that names something (letters or Han), else
    its first sentence cut short."""
    if any(ch.isalpha() for ch in stem):
        return stem
    return short_title(opening)


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
