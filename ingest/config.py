"""ingest's configuration types: frozen, and without defaults of their own.

The values in effect are written once, in qa_service.config.Settings (`chunking_config()`, `build_config()`);
ingest cannot import qa_service, so the types live here and the CLI, eval and tests build them from Settings.
This module imports nothing heavy: building a Settings object must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ChunkingConfig:
    """How text is cut into chunks (ingest.chunking)."""

    chunk_size: int  # most characters of a text chunk
    overlap: int  # characters of whole sentences repeated between the pieces of a long section

    def __post_init__(self) -> None:
        if self.chunk_size <= 0:
            raise ValueError(f"chunk_size must be greater than 0. Currently, the chunk_size is {self.chunk_size}")
        if not 0 <= self.overlap < self.chunk_size:
            raise ValueError(f"overlap must be in [0, chunk_size). Currently, the overlap is {self.overlap}")


@dataclass(frozen=True)
class BuildConfig:
    """Everything `ingest.index_build.build_index` needs besides the corpus."""

    index_dir: Path
    embed_model: str  # "auto", "offline", "none", or a sentence-transformers name / local path
    rebuild: bool  # retrain the offline model and re-embed everything
    chunking: ChunkingConfig  # how the corpus was cut (recorded in the manifest)
    search_with_heading: bool  # the arms index the heading path above the chunk text
    hnsw_threshold: int  # above this many chunks the dense arm is HNSW instead of exact
    parallel_min_chunks: int  # from this many chunks on, the BM25 arms are tokenised in worker processes
    tokenize_workers: int  # at most this many (and at most the CPU count)
