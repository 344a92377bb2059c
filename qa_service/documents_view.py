"""The documents API's view of an index: `GET /v1/documents`, `GET /v1/documents/{id}` and `reportqa documents`.

The index reader hands over typed records (Document, Section); this module decides what a client sees.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from ingest.index_reader import IndexReader
from ingest.models import Document

from .schemas import DocumentDetail, DocumentSummary


def document_summary(index: IndexReader, d: Document) -> DocumentSummary:
    return DocumentSummary(
        id=d.doc_id,
        title=d.title,
        source_file=PurePath(d.source_file).name,  # the file's name: responses carry no server paths
        page=d.page,
        date=d.date,
        reporter=d.reporter,
        n_sections=sum(1 for s in index.sections.get(d.doc_id, []) if s.level > 0),
        n_chunks=index.chunk_count(d.doc_id),
    )


def document_summaries(index: IndexReader) -> list[DocumentSummary]:
    """Every indexed document, in corpus order."""
    return [document_summary(index, d) for d in index.documents.values()]


def document_detail(index: IndexReader, doc_id: str, with_text: bool = False) -> DocumentDetail | None:
    """One document with its outline (and its text when asked); None for an unknown id."""
    d = index.documents.get(doc_id)
    if d is None:
        return None
    return DocumentDetail(
        **document_summary(index, d).model_dump(),
        outline=_outline(index, doc_id),
        text=d.text if with_text else None,
    )


def _outline(index: IndexReader, doc_id: str) -> list[dict[str, Any]]:
    """The nested heading tree ingest stored, else a flat list of the document's headings."""
    outline = index.outlines.get(doc_id)
    if outline is not None:
        return outline
    return [
        {"section_id": s.section_id, "heading": s.heading, "level": s.level, "start": s.start, "end": s.end,
         "parent_id": s.parent_id}
        for s in index.sections.get(doc_id, [])
        if s.level > 0
    ]
