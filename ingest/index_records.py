"""The records of a build: chunks, documents (with outline and sections) and glossary, written and read back.

Files in a build folder::

    chunks.jsonl      Chunk.to_dict() per line (row i = chunk index i in every arm); read by row when large
                      (ingest.chunk_store)
    documents.json    Document dicts (with text) + "outline" and "sections" per document
    glossary.json     GlossaryEntry dicts
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .chunk_store import load_chunks
from .models import Chunk, Document, Footnote, GlossaryEntry, ParsedCorpus, Section


@dataclass(frozen=True)
class IndexRecords:
    """What a build stores besides its search structures."""

    chunks: Sequence[Chunk]  # a list, or for a large build a ChunkStore (parsed by row on access)
    documents: dict[str, Document]  # doc_id -> document, in corpus order
    outlines: dict[str, Any]  # doc_id -> nested heading tree (None when the build had none)
    sections: dict[str, list[Section]]  # doc_id -> its sections
    glossary: list[GlossaryEntry]


def write_records(build: Path, corpus: ParsedCorpus) -> None:
    with open(build / "chunks.jsonl", "w", encoding="utf-8") as f:
        for c in corpus.chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False))
            f.write("\n")
    (build / "documents.json").write_text(
        json.dumps(_documents_payload(corpus), ensure_ascii=False), encoding="utf-8"
    )
    (build / "glossary.json").write_text(
        json.dumps([g.to_dict() for g in corpus.glossary], ensure_ascii=False, indent=1), encoding="utf-8"
    )


def _documents_payload(corpus: ParsedCorpus) -> list[dict[str, Any]]:
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for s in corpus.sections:
        by_doc.setdefault(s.doc_id, []).append(asdict(s))
    docs = []
    for d in corpus.documents:
        row = d.to_dict()
        row["outline"] = corpus.outlines.get(d.doc_id)
        row["sections"] = by_doc.get(d.doc_id, [])
        docs.append(row)
    return docs


def _known(cls: type, row: dict[str, Any]) -> dict[str, Any]:
    """The row's keys the dataclass has (a newer build may store more)."""
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return {k: v for k, v in row.items() if k in fields}


def read_records(build: Path) -> IndexRecords:
    chunks = load_chunks(build / "chunks.jsonl")
    documents: dict[str, Document] = {}
    outlines: dict[str, Any] = {}
    sections: dict[str, list[Section]] = {}
    for row in json.loads((build / "documents.json").read_text(encoding="utf-8")):
        d = _known(Document, row)
        d["footnotes"] = [Footnote(**fn) for fn in d.get("footnotes") or []]
        doc = Document(**d)
        documents[doc.doc_id] = doc
        outlines[doc.doc_id] = row.get("outline")
        sections[doc.doc_id] = [Section(**_known(Section, s)) for s in row.get("sections") or []]
    glossary = [
        GlossaryEntry(**_known(GlossaryEntry, g))
        for g in json.loads((build / "glossary.json").read_text(encoding="utf-8"))
    ]
    return IndexRecords(chunks=chunks, documents=documents, outlines=outlines, sections=sections, glossary=glossary)
