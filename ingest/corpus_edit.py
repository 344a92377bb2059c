"""Editing the corpus of a build: add files, remove a source file's documents, without re-parsing the rest.

A document job (upload, delete) starts from the corpus of the build in service (`corpus_of`: its records, read
back from the index, exactly what parsing produced) and changes only what it was asked to, so a new build
needs no source file of the documents it keeps, and `build_index` reuses their vectors (their chunk ids,
texts and file checksums are unchanged).

A source file is the unit: a compilation file is split into several documents (`000-01`, `000-02`, …), and
removing one of them removes the file with all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .index_reader import IndexReader
from .models import ParsedCorpus, RawFile, Skipped


@dataclass
class AddResult:
    documents: list[str] = field(default_factory=list)  # doc ids added
    skipped: list[Skipped] = field(default_factory=list)


def corpus_of(index: IndexReader) -> ParsedCorpus:
    """The loaded build's corpus: records as stored, files as the manifest lists them (path and sha256)."""
    documents = list(index.documents.values())
    return ParsedCorpus(
        documents=documents,
        sections=[s for d in documents for s in index.sections.get(d.doc_id, [])],
        chunks=list(index.chunks),
        glossary=list(index.glossary),
        files=[RawFile(path=f.path, text="", format=Path(f.path).suffix.lstrip("."), encoding="", sha256=f.sha256)
               for f in index.manifest.files],
        outlines={d.doc_id: index.outlines.get(d.doc_id) for d in documents},
    )


def source_of(corpus: ParsedCorpus, doc_id: str) -> str | None:
    """The source file a document was split from, None for an unknown id."""
    return next((d.source_file for d in corpus.documents if d.doc_id == doc_id), None)


def remove_source(corpus: ParsedCorpus, source_file: str) -> list[str]:
    """Drop every document of `source_file` (records and file entry) from `corpus`; their ids, in corpus order."""
    gone = [d.doc_id for d in corpus.documents if d.source_file == source_file]
    ids = set(gone)
    corpus.documents = [d for d in corpus.documents if d.doc_id not in ids]
    corpus.sections = [s for s in corpus.sections if s.doc_id not in ids]
    corpus.chunks = [c for c in corpus.chunks if c.doc_id not in ids]
    corpus.glossary = [g for g in corpus.glossary if g.doc_id not in ids]
    corpus.files = [f for f in corpus.files if f.path != source_file]
    for doc_id in gone:
        corpus.outlines.pop(doc_id, None)
    return gone


def add_parsed(corpus: ParsedCorpus, parsed: ParsedCorpus, names: dict[str, str]) -> AddResult:
    """Add the parsed files to `corpus`; a file already in it (same path) is replaced.

    `names` maps a parsed file's path to the name to report it by. A file whose document ids another source
    file already uses is skipped (document ids come from file names, and must stay unique).
    """
    result = AddResult(skipped=[Skipped(path=names.get(s.path, Path(s.path).name), reason=s.reason)
                                for s in parsed.skipped])
    for raw in parsed.files:
        docs = [d for d in parsed.documents if d.source_file == raw.path]
        ids = {d.doc_id for d in docs}
        taken = sorted(d.doc_id for d in corpus.documents if d.doc_id in ids and d.source_file != raw.path)
        if taken:
            reason = f"document id {taken[0]} is already used by another file; delete it first or rename the file"
            result.skipped.append(Skipped(path=names.get(raw.path, Path(raw.path).name), reason=reason))
            continue
        remove_source(corpus, raw.path)
        corpus.files.append(raw)
        corpus.documents.extend(docs)
        corpus.sections.extend(s for s in parsed.sections if s.doc_id in ids)
        corpus.chunks.extend(c for c in parsed.chunks if c.doc_id in ids)
        corpus.glossary.extend(g for g in parsed.glossary if g.doc_id in ids)
        corpus.outlines.update({k: v for k, v in parsed.outlines.items() if k in ids})
        result.documents.extend(d.doc_id for d in docs)
    return result
