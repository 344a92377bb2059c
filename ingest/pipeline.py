"""The parsing pipeline: files -> RawFile -> Documents -> Sections -> Chunks + glossary (no index yet)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .chunking import chunk_document
from .config import ChunkingConfig
from .documents import build_documents
from .loaders import UnreadableFile, iter_input_files, load_file
from .models import ParsedCorpus, Skipped
from .sections import outline, parse_sections

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total)


def shipped_reports_dir() -> Path:
    """The reports that ship inside the package (so the default corpus works in any install)."""
    return Path(str(resources.files("ingest") / "data" / "reports"))


@dataclass
class ParseResult:
    corpus: ParsedCorpus  # corpus.outlines: doc_id -> nested heading tree
    stage_seconds: dict[str, float] = field(default_factory=dict)


def parse_paths(
    paths: Iterable[str | Path],
    chunking: ChunkingConfig,
    progress: ProgressFn | None = None,
) -> ParseResult:
    """Load, clean, split, section and chunk every file; unreadable files are listed, not fatal."""
    timings: dict[str, float] = {"load": 0.0, "parse": 0.0, "chunk": 0.0}
    files = iter_input_files(paths)
    corpus = ParsedCorpus(documents=[], sections=[], chunks=[], glossary=[], files=[])
    for i, path in enumerate(files):
        t0 = time.perf_counter()
        try:
            raw = load_file(path)
        except UnreadableFile as exc:
            log.warning("skipping %s: %s", path, exc.reason)
            corpus.skipped.append(Skipped(path=str(path), reason=exc.reason))
            continue
        finally:
            timings["load"] += time.perf_counter() - t0
        t1 = time.perf_counter()
        documents = build_documents(raw)
        if not documents or not any(d.text.strip() for d in documents):
            corpus.skipped.append(Skipped(path=str(path), reason="no text"))
            continue
        corpus.files.append(raw)
        for doc in documents:
            sections = parse_sections(doc)
            t2 = time.perf_counter()
            timings["parse"] += t2 - t1
            chunks, glossary = chunk_document(doc, sections, chunking)
            corpus.documents.append(doc)
            corpus.sections.extend(sections)
            corpus.chunks.extend(chunks)
            corpus.glossary.extend(glossary)
            corpus.outlines[doc.doc_id] = outline(sections)
            t1 = time.perf_counter()
            timings["chunk"] += t1 - t2
        if progress:
            progress("parse", i + 1, len(files))
    return ParseResult(corpus=corpus, stage_seconds={k: round(v, 3) for k, v in timings.items()})
