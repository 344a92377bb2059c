"""Building an index the way `reportqa ingest` does, for every command that needs one (ingest, eval --squad).

One place, so an index built for an evaluation is built exactly as a user's would be: same parsing, chunking,
embedding model and search text, all from the settings in effect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from reportqa.common import fail


def parse_inputs(inputs: list[Path], settings: Any, progress: Any = None):
    """Load, clean, section and chunk every file (ingest.pipeline.ParseResult); unreadable files are listed."""
    from ingest.pipeline import ParseOptions, parse_paths

    return parse_paths(inputs, ParseOptions(settings.chunk_size, settings.chunk_overlap), progress=progress)


def build_parsed(parsed: Any, index_dir: Path, settings: Any, embed_model: Optional[str], rebuild: bool, progress: Any = None):
    """Build (or update) the index in `index_dir` from a ParseResult; a CLI error when it cannot be built."""
    from ingest.embeddings import EmbedderUnavailable
    from ingest.index_store import IndexBusy, ModelMismatch, build_index, make_search_text

    corpus = parsed.corpus
    if not corpus.chunks:
        fail("the input has no text to index (every file was empty or only a title line)")
    try:
        return build_index(
            corpus,
            index_dir,
            embed_model=embed_model or settings.embed_model,
            rebuild=rebuild,
            chunking={"chunk_size": settings.chunk_size, "overlap": settings.chunk_overlap},
            hnsw_threshold=settings.hnsw_threshold,
            search_text=make_search_text(settings.search_with_heading),
            outlines=parsed.outlines,
            sections=corpus.sections,
            progress=progress,
        )
    except (EmbedderUnavailable, IndexBusy, ModelMismatch) as exc:
        fail(str(exc))
