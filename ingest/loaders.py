"""Read report files from disk into `RawFile` records: bytes -> decoded text, nothing cleaned yet.

Usage::

    from ingest.loaders import load_file, iter_input_files, UnreadableFile

    for path in iter_input_files(["reports/", "extra/notes.md"]):
        try:
            raw = load_file(path)
        except UnreadableFile as exc:
            log.warning("skipped %s: %s", exc.path, exc.reason)

Every format is rendered to plain text that the later stages understand: headings become Markdown `#`
lines (so the section parser sees their level) and table rows become tab-separated lines (the layout the
shipped `.txt` reports already use). Characters are never rewritten here; only the container is removed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.models import RawFile, Skipped

log = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")

_FORMAT_BY_EXTENSION: dict[str, str] = {
    ".txt": "txt",
    ".md": "md",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}

# charset-normalizer names the Chinese national encodings by their narrowest match; GB18030 is a strict
# superset of GBK and GB2312, so decoding with it never loses a character the narrower one would read.
_GB_FAMILY = {"gb2312", "gbk", "cp936", "hz", "gb18030", "euc_cn", "ms936"}
_CJK_CODEC_TAGS = ("big5", "gb", "shift_jis", "sjis", "euc", "iso2022", "cp949", "cp950")

# Control characters that never occur in a text report (tab, LF, CR and form feed do).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_RATIO = 0.01

# `# 标题` / `## 小节 ##` (ATX headings).
_MD_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
# python-docx style names: "Heading 1" .. "Heading 9" (and localised "标题 1" in some Word templates).
_DOCX_HEADING_RE = re.compile(r"^(?:Heading|标题)\s*(\d)$", re.IGNORECASE)
# HTML collapses runs of ASCII whitespace; U+00A0 and U+3000 are content and are kept.
_HTML_WS_RE = re.compile(r"[ \t\n\r\f]+")
# Separators between a page's own title and the site's name in <title>.
_TITLE_SEPARATORS = "-–—|_·:：｜"


class UnreadableFile(Exception):
    """A file that cannot be turned into report text; `reason` says why in a few words.

    Reasons in use: "file not found", "empty file", "binary file", "undecodable text", "corrupt docx",
    "corrupt pdf", "encrypted pdf", "no text layer in pdf", "no text in docx", "no text in html",
    "unsupported file type .xyz".
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def load_file(path: str | Path) -> RawFile:
    """Read one file into a `RawFile`; raises `UnreadableFile` for anything that is not a readable report."""
    path = Path(path)
    fmt = _FORMAT_BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        raise UnreadableFile(path, f"unsupported file type {path.suffix.lower() or '(no extension)'}")
    if not path.is_file():
        raise UnreadableFile(path, "file not found")
    data = path.read_bytes()
    if not data:
        raise UnreadableFile(path, "empty file")

    if fmt in ("txt", "md"):
        text, encoding = decode_text(data, path)
        title_hint = _markdown_title(text) if fmt == "md" else None
    elif fmt == "html":
        text, encoding, title_hint = _load_html(data, path)
    elif fmt == "docx":
        text, title_hint = _load_docx(data, path)
        encoding = "docx"
    else:
        text = _load_pdf(data, path)
        encoding, title_hint = "pdf", None

    if not text.strip():
        raise UnreadableFile(path, "empty file" if fmt in ("txt", "md") else f"no text in {fmt}")
    log.debug("loaded %s (%s, %s, %d chars)", path, fmt, encoding, len(text))
    return RawFile(
        path=str(path),
        text=text,
        format=fmt,
        encoding=encoding,
        title_hint=title_hint,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def iter_input_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand the given files and folders into the list of files to load, in a stable order.

    Folders are walked recursively and yield only files with a supported extension (hidden files and
    folders are ignored). A file named explicitly is always returned, whatever its extension, so that
    `load_file` reports it as skipped ("unsupported file type .xyz") rather than it vanishing silently.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        candidates = _walk_folder(path) if path.is_dir() else iter([path])
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found


def load_files(paths: Iterable[str | Path]) -> tuple[list[RawFile], list[Skipped]]:
    """`iter_input_files` + `load_file` for each, collecting the unreadable ones as `Skipped`."""
    files: list[RawFile] = []
    skipped: list[Skipped] = []
    for path in iter_input_files(paths):
        try:
            files.append(load_file(path))
        except UnreadableFile as exc:
            log.warning("skipping %s: %s", exc.path, exc.reason)
            skipped.append(Skipped(path=exc.path, reason=exc.reason))
    return files, skipped


def decode_text(data: bytes, path: str | Path = "<bytes>") -> tuple[str, str]:
    """Decode the bytes of a text file, detecting the encoding; returns (text, encoding name).

    Order: a BOM decides (UTF-8 BOM is stripped); NUL bytes mean binary; strict UTF-8; otherwise
    charset-normalizer, with any GB-family answer decoded as GB18030.
    """
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return _check_not_binary(data.decode(encoding), path), encoding
            except UnicodeDecodeError as exc:
                raise UnreadableFile(path, "undecodable text") from exc
    if b"\x00" in data:
        raise UnreadableFile(path, "binary file")
    try:
        return _check_not_binary(data.decode("utf-8"), path), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = _detect_encoding(data)
    if encoding is None:
        raise UnreadableFile(path, "binary file")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UnreadableFile(path, "undecodable text") from exc
    return _check_not_binary(text, path), encoding


# --------------------------------------------------------------------------------------------------
# Text files
# --------------------------------------------------------------------------------------------------


def _walk_folder(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_EXTENSIONS:
            yield path


def _detect_encoding(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None
    encoding = best.encoding.lower().replace("-", "_")
    if encoding in _GB_FAMILY:
        return "gb18030"
    # Short GBK texts are sometimes guessed as a single-byte Western code page; a report that decodes
    # cleanly as GB18030 into mostly CJK is far more likely Chinese than mojibake Latin-1.
    if not _is_cjk_codec(encoding) and _looks_like_gb18030(data):
        return "gb18030"
    return best.encoding


def _is_cjk_codec(encoding: str) -> bool:
    return any(tag in encoding for tag in _CJK_CODEC_TAGS)


def _looks_like_gb18030(data: bytes) -> bool:
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    visible = [ch for ch in text if not ch.isspace()]
    cjk = sum(1 for ch in visible if "\u4e00" <= ch <= "\u9fff")
    return bool(visible) and cjk / len(visible) >= 0.3


def _check_not_binary(text: str, path: str | Path) -> str:
    """Reject text that decoded but is mostly control characters (a renamed binary file)."""
    controls = len(_CONTROL_RE.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_RATIO:
        raise UnreadableFile(path, "binary file")
    return text


def _markdown_title(text: str) -> str | None:
    """The first level-1 `# heading`; failing that, the first heading of any level."""
    first_any: str | None = None
    for line in text.splitlines():
        match = _MD_HEADING_RE.match(line.strip())
        if not match:
            continue
        if len(match.group(1)) == 1:
            return match.group(2)
        first_any = first_any or match.group(2)
    return first_any


# --------------------------------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------------------------------


def _load_docx(data: bytes, path: Path) -> tuple[str, str | None]:
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
    if name.lower() in ("title", "标题"):
        return 0
    match = _DOCX_HEADING_RE.match(name)
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


# --------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------


def _load_pdf(data: bytes, path: Path) -> str:
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


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

_HTML_DROP = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object"}
_HTML_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_HTML_BLOCKS = {
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "section", "article", "main", "header", "footer",
    "nav", "aside", "blockquote", "pre", "figure", "figcaption", "address", "form", "fieldset", "body",
    "html", "center", "caption", "hr",
}


def _load_html(data: bytes, path: Path) -> tuple[str, str, str | None]:
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
    return _HTML_WS_RE.sub(" ", text).strip()


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
