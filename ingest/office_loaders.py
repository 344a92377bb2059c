"""DOCX and PDF files -> text: headings as Markdown `#` lines, table rows as tab-separated lines.

A Word table's header row is followed by a rule line (ingest.tables.HEADER_RULE), so its rows become
self-describing `列名：值；…` passages even when a header cell looks like a figure (`2022年`).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from ingest.decoding import UnreadableFile
from ingest.tables import header_rule
from ingest.zh.markup import DOCX_HEADING_RE, DOCX_TITLE_STYLES

_BARE_FIGURE_RE = re.compile(r"^[-+]?\d+(?:[.,]\d+)*\s*%?$")


def load_docx(data: bytes, path: Path) -> tuple[str, str | None]:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises zip, KeyError, XML and package errors alike
        raise UnreadableFile(path, "corrupt docx") from exc

    lines: list[str] = []
    title_hint: str | None = None
    first_heading1: str | None = None
    for block in blocks:
        if isinstance(block, Table):
            lines.extend(_docx_table_rows(block))
            continue
        text = block.text.strip()
        if not text:
            lines.append("")
            continue
        level = _docx_heading_level(block)
        if level is None:
            lines.append(text)
            continue
        lines.append("#" * max(level, 1) + " " + text)
        if level == 0:
            title_hint = title_hint or text
        elif level == 1:
            first_heading1 = first_heading1 or text
    if title_hint is None:
        title_hint = first_heading1
    return "\n".join(lines), title_hint


def _docx_heading_level(paragraph: object) -> int | None:
    """0 for the Title style, n for "Heading n", None for body paragraphs.

    The Title style is rendered as a level-1 `#` line (there is no level 0 in Markdown).
    """
    style = getattr(paragraph, "style", None)
    name = (getattr(style, "name", None) or "").strip()
    if name.lower() in DOCX_TITLE_STYLES:
        return 0
    match = DOCX_HEADING_RE.match(name)
    return int(match.group(1)) if match else None


def _docx_table_rows(table: object) -> list[str]:
    """One tab-separated line per row (a merged cell, repeated by python-docx, is written once), with the
    header rule under the first row when it is a header (`_is_docx_header`)."""
    rows = [_docx_row_cells(row) for row in table.rows]  # type: ignore[attr-defined]
    lines = ["\t".join(cells) for cells in rows]
    if rows and _is_docx_header(table.rows[0], rows):  # type: ignore[attr-defined]
        lines.insert(1, header_rule(len(rows[0])))
    return lines


def _is_docx_header(first_row: object, rows: list[list[str]]) -> bool:
    """Word's "repeat as header row" mark; else the first row of a table of ≥2 rows when every cell of it is
    filled and none is a bare figure (`9.5`, `12%`): tables in reports open with their column names."""
    if first_row._tr.xpath("./w:trPr/w:tblHeader"):  # type: ignore[attr-defined]
        return True
    head = rows[0]
    return len(rows) >= 2 and len(head) >= 2 and all(head) and not any(_BARE_FIGURE_RE.match(c) for c in head)


def _docx_row_cells(row: object) -> list[str]:
    cells: list[str] = []
    previous = None
    for cell in row.cells:  # type: ignore[attr-defined]
        if previous is not None and cell._tc is previous:
            continue
        previous = cell._tc
        # A cell's own line breaks and tabs would break the row apart; a space keeps the words apart.
        text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
        cells.append(text.replace("\t", " "))
    return cells


def load_pdf(data: bytes, path: Path) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile(path, "encrypted pdf")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableFile:
        raise
    except Exception as exc:  # pypdf raises PdfReadError, ValueError, KeyError... on damaged files
        raise UnreadableFile(path, "corrupt pdf") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise UnreadableFile(path, "no text layer in pdf")
    return text
