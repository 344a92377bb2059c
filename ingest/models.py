"""Typed records that flow from ingest to the index on disk and on to qa_service.

Every stage of ingest takes and returns these, so each stage can be tested alone:
loader -> RawFile, cleaner -> CleanedFile, documents -> Document, sections -> Section,
chunking -> Chunk, glossary -> GlossaryEntry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ChunkKind = Literal["text", "table", "table_row", "definition"]
CHUNK_KINDS: tuple[str, ...] = ("text", "table", "table_row", "definition")


@dataclass
class RawFile:
    """A file read from disk and decoded to text (no cleaning yet)."""

    path: str
    text: str
    format: str  # txt | md | docx | pdf | html
    encoding: str  # the detected encoding, or the container format for docx/pdf
    title_hint: str | None = None  # markdown '#', html <title>/<h1>, docx Title/Heading 1
    sha256: str = ""


@dataclass
class Footnote:
    """A docx-conversion footnote: `[footnoteRef:N]` in the text, `[N: 、术语：释义]` as its definition."""

    n: int
    term: str
    definition: str
    ref_offsets: list[int] = field(default_factory=list)  # offsets in the cleaned document text


@dataclass
class Document:
    """One report: a whole file, or one contents entry of a compilation (a gazette)."""

    doc_id: str
    title: str
    source_file: str
    text: str  # cleaned text; never rewritten characters, footnote definitions appended under 注释
    page: int | None = None
    date: str | None = None
    reporter: str | None = None  # office and name, e.g. "青浦区经济委员会主任 朱要武"
    footnotes: list[Footnote] = field(default_factory=list)
    # Whether the opening line(s) of `text` spell the title. False when the title was derived (from the
    # file name or the first sentence) because the first line is body text: it is then chunked like any other.
    title_in_text: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Section:
    """A heading and the span of cleaned text it governs (heading line included)."""

    section_id: str
    doc_id: str
    heading: str
    level: int  # 0 = the document itself, 1.. nested headings
    family: str  # the heading pattern family that produced it, e.g. "cn_num" for 一、
    start: int
    end: int
    parent_id: str | None = None
    children: list[str] = field(default_factory=list)


@dataclass
class Chunk:
    """A retrievable passage; `id` is the passage_id users cite."""

    id: str
    doc_id: str
    doc_title: str
    heading_path: list[str]
    kind: str  # one of CHUNK_KINDS
    text: str
    start: int
    end: int
    page: int | None = None
    prev_id: str | None = None
    next_id: str | None = None
    parent_id: str | None = None
    section_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Chunk":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class GlossaryEntry:
    term: str
    definition: str
    doc_id: str
    source: str  # "footnote" | "名词解释"
    referenced_at: list[int] = field(default_factory=list)  # offsets in the document's cleaned text
    chunk_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class ParsedCorpus:
    """Everything ingest derives from a set of files, before any index is built."""

    documents: list[Document]
    sections: list[Section]
    chunks: list[Chunk]
    glossary: list[GlossaryEntry]
    files: list[RawFile]
    skipped: list[Skipped] = field(default_factory=list)
    outlines: dict[str, list] = field(default_factory=dict)  # doc_id -> nested heading tree (sections.outline)
