"""DOCX and PDF files -> text: headings as Markdown `#` lines, table rows as tab-separated lines."""

from __future__ import annotations

import io
from pathlib import Path

from ingest.decoding import UnreadableFile
from ingest.zh.markup import DOCX_HEADING_RE, DOCX_TITLE_STYLES


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
    """One tab-separated line per row; a merged cell (repeated by python-docx) is written once."""
    rows: list[str] = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            # A cell's own line breaks and tabs would break the row apart; a space keeps the words apart.
            text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
            cells.append(text.replace("\t", " "))
        rows.append("\t".join(cells))
    return rows


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
