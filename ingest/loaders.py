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
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.decoding import UnreadableFile, decode_text
from ingest.html_loader import load_html
from ingest.models import RawFile, Skipped
from ingest.office_loaders import load_docx, load_pdf
from ingest.zh.markup import MD_HEADING_RE

log = logging.getLogger(__name__)

__all__ = ["SUPPORTED_EXTENSIONS", "UnreadableFile", "decode_text", "iter_input_files", "load_file", "load_files"]

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")

_FORMAT_BY_EXTENSION: dict[str, str] = {
    ".txt": "txt",
    ".md": "md",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}


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
        text, encoding, title_hint = load_html(data, path)
    elif fmt == "docx":
        text, title_hint = load_docx(data, path)
        encoding = "docx"
    else:
        text = load_pdf(data, path)
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


def _walk_folder(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_EXTENSIONS:
            yield path


def _markdown_title(text: str) -> str | None:
    """The first level-1 `# heading`; failing that, the first heading of any level."""
    first_any: str | None = None
    for line in text.splitlines():
        match = MD_HEADING_RE.match(line.strip())
        if not match:
            continue
        if len(match.group(1)) == 1:
            return match.group(2)
        first_any = first_any or match.group(2)
    return first_any
