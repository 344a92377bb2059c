"""HTML files -> text: headings as Markdown `#` lines, blocks as lines, table rows as tab-separated lines."""

from __future__ import annotations

from pathlib import Path

from ingest.decoding import decode_text
from ingest.zh.markup import HTML_WS_RE

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
    return "\n".join(lines), encoding, title_hint


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
    """One tab-separated line per <tr> of this table (rows of nested tables are not repeated)."""
    rows: list[str] = []
    for tr in table.find_all("tr"):  # type: ignore[attr-defined]
        if tr.find_parent("table") is not table:
            continue
        cells = [
            _collapse_html_ws(cell.get_text(" ")).replace("\t", " ")
            for cell in tr.find_all(["td", "th"])
            if cell.find_parent("tr") is tr
        ]
        if any(cells):
            rows.append("\t".join(cells))
    return rows
