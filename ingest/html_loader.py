"""HTML files -> text: headings as Markdown `#` lines, blocks as lines, table rows as tab-separated lines.

A saved web page is mostly navigation, breadcrumbs, link lists and a footer around the report. The whole
<body> is rendered (structure kept: headings, blocks, tables), then only its main content is kept: trafilatura
(a maintained main-content extractor) says which text is the page's content, and the rendered lines it
contains, with the headings among and just above them, are kept (`_main_lines`). Matching rendered lines
against trafilatura's text, rather than rendering trafilatura's own output, keeps headings it drops (a page
title outside the content <div>) and our table layout. When trafilatura finds nothing the whole body is kept.
A table's header row (all <th> cells) gets the header rule under it (ingest.tables.HEADER_RULE).
"""

from __future__ import annotations

import logging
from pathlib import Path

from ingest.decoding import decode_text
from ingest.tables import header_rule, is_header_rule, split_cells
from ingest.zh.markup import HTML_WS_RE

log = logging.getLogger(__name__)

_ANCHOR_CHARS = 8  # a line this long found in the main content is content, not a link that happens to match

# Separators between a page's own title and the site's name in <title>.
_TITLE_SEPARATORS = "-–—|_·:：｜"
_HTML_DROP = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object"}
_HTML_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_HTML_BLOCKS = {
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "section", "article", "main", "header", "footer",
    "nav", "aside", "blockquote", "pre", "figure", "figcaption", "address", "form", "fieldset", "body",
    "html", "center", "caption", "hr",
}


def load_html(data: bytes, path: Path) -> tuple[str, str, str | None]:
    from bs4 import BeautifulSoup

    text, encoding = decode_text(data, path)
    soup = BeautifulSoup(text, "lxml")
    title_hint = _html_title(soup)
    lines: list[str] = []
    _render_html(soup.body or soup, lines)
    main = _main_text(text, path)
    if main:
        lines = _main_lines(lines, main)
    return "\n".join(lines), encoding, title_hint


def _main_text(html: str, path: Path) -> str:
    """The page's main content as trafilatura sees it, whitespace and table bars removed ("" when none)."""
    import trafilatura

    try:
        extracted = trafilatura.extract(
            html, include_tables=True, include_comments=False, include_images=False, include_links=False,
            favor_recall=True,  # a report's own paragraphs matter more than a stray link list
        )
    except Exception as exc:  # noqa: BLE001 - trafilatura's parsers raise many kinds; the whole body is the fallback
        log.warning("%s: main-content extraction failed (%s); keeping the whole page", path, exc)
        return ""
    return _squeeze(extracted or "").replace("|", "")


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _main_lines(lines: list[str], main: str) -> list[str]:
    """The rendered lines inside the main content: from the first to the last line of at least `_ANCHOR_CHARS`
    characters that trafilatura kept, widened over the kept lines and headings right next to them; inside,
    lines trafilatura dropped are dropped unless they are headings. A short link (`首页`) that happens to occur
    in the content does not widen it unless it stands next to it."""
    heading = [line.startswith("#") or is_header_rule(split_cells(line)) for line in lines]
    kept = [bool(key) and key in main for key in (_squeeze(line.lstrip("#")) for line in lines)]
    anchors = [i for i, line in enumerate(lines) if kept[i] and len(_squeeze(line)) >= _ANCHOR_CHARS]
    if not anchors:
        return lines
    first, last = anchors[0], anchors[-1]
    while first > 0 and (kept[first - 1] or heading[first - 1]):
        first -= 1
    while last + 1 < len(lines) and kept[last + 1]:
        last += 1
    return [line for i, line in enumerate(lines[first : last + 1], start=first) if kept[i] or heading[i]]


def _html_title(soup: object) -> str | None:
    """<title>, unless it is the <h1> plus site decoration (`青浦区审计报告 - 门户网站`): then the <h1>."""
    title_tag = soup.title  # type: ignore[attr-defined]
    title = _collapse_html_ws(title_tag.get_text()) if title_tag else ""
    h1_tag = soup.find("h1")  # type: ignore[attr-defined]
    h1 = _collapse_html_ws(h1_tag.get_text(" ")) if h1_tag else ""
    if h1 and (not title or _is_decorated(title, h1)):
        return h1
    return title or None


def _is_decorated(title: str, h1: str) -> bool:
    """`青浦区审计报告 - 门户网站` / `门户网站 | 青浦区审计报告` is the <h1> plus the site's name."""
    if title.startswith(h1):
        rest = title[len(h1) :].lstrip()
    elif title.endswith(h1):
        rest = title[: -len(h1)].rstrip()[::-1]
    else:
        return False
    return bool(rest) and rest[0] in _TITLE_SEPARATORS


def _collapse_html_ws(text: str) -> str:
    return HTML_WS_RE.sub(" ", text).strip()


def _render_html(node: object, lines: list[str]) -> None:
    """Append the text lines of `node`: headings as `#` lines, blocks as lines, tables as tab rows."""
    from bs4 import NavigableString, Tag
    from bs4.element import PreformattedString

    pending: list[str] = []

    def flush() -> None:
        for part in "".join(pending).split("\n"):
            part = _collapse_html_ws(part)
            if part:
                lines.append(part)
        pending.clear()

    for child in node.children:  # type: ignore[attr-defined]
        # Comments, <!DOCTYPE> and processing instructions are strings to BeautifulSoup but not text.
        if isinstance(child, PreformattedString):
            continue
        if isinstance(child, NavigableString):
            pending.append(str(child))
            continue
        if not isinstance(child, Tag) or child.name in _HTML_DROP:
            continue
        if child.name == "br":
            pending.append("\n")
        elif child.name in _HTML_HEADINGS:
            flush()
            heading = _collapse_html_ws(child.get_text(" "))
            if heading:
                lines.append("#" * _HTML_HEADINGS[child.name] + " " + heading)
        elif child.name == "table":
            flush()
            lines.extend(_html_table_rows(child))
        elif child.name in _HTML_BLOCKS or _has_block_descendant(child):
            flush()
            _render_html(child, lines)
        else:
            pending.append(_inline_text(child))
    flush()


def _inline_text(tag: object) -> str:
    from bs4 import NavigableString, Tag
    from bs4.element import PreformattedString

    parts: list[str] = []
    for piece in tag.descendants:  # type: ignore[attr-defined]
        if isinstance(piece, PreformattedString):
            continue
        if isinstance(piece, NavigableString):
            if not any(parent.name in _HTML_DROP for parent in piece.parents if isinstance(parent, Tag)):
                parts.append(str(piece))
        elif isinstance(piece, Tag) and piece.name == "br":
            parts.append("\n")
    return "".join(parts)


def _has_block_descendant(tag: object) -> bool:
    names = _HTML_BLOCKS | set(_HTML_HEADINGS) | {"table"}
    return tag.find(lambda t: t.name in names) is not None  # type: ignore[attr-defined]


def _html_table_rows(table: object) -> list[str]:
    """One tab-separated line per <tr> of this table (rows of nested tables are not repeated); the header rule
    under a first row of <th> cells only."""
    rows: list[str] = []
    head_width = 0
    for tr in table.find_all("tr"):  # type: ignore[attr-defined]
        if tr.find_parent("table") is not table:
            continue
        tags = [cell for cell in tr.find_all(["td", "th"]) if cell.find_parent("tr") is tr]
        cells = [_collapse_html_ws(cell.get_text(" ")).replace("\t", " ") for cell in tags]
        if any(cells):
            if not rows and len(tags) >= 2 and all(t.name == "th" for t in tags):
                head_width = len(tags)
            rows.append("\t".join(cells))
    if head_width and len(rows) >= 2:
        rows.insert(1, header_rule(head_width))
    return rows
