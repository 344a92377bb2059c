"""The one configuration object. Every field can be set by an environment variable `REPORTQA_<FIELD>`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.config import BuildConfig, ChunkingConfig


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTQA_", env_file=None, extra="ignore")

    # Index location and how `reportqa ingest` builds it.
    index: Path = Field(Path("index"), description="Index directory (REPORTQA_INDEX).")
    embed_model: str = Field("auto", description="sentence-transformers name or path, 'auto' or 'none'.")
    chunk_size: int = Field(500, ge=100, le=5000, description="Maximum characters of a text chunk.")
    chunk_overlap: int = Field(80, ge=0, le=1000, description="Characters of whole sentences repeated between pieces.")
    search_with_heading: bool = Field(True, description="Prefix the heading path to the text the lexical arms index.")
    hnsw_threshold: int = Field(50_000, ge=1, description="Above this many chunks FAISS uses HNSW instead of exact search.")
    # Spawning a tokeniser process costs ~1 s; below this many chunks one process is faster.
    parallel_min_chunks: int = Field(20_000, ge=0, description="From this many chunks on, BM25 tokenising runs in worker processes.")
    tokenize_workers: int = Field(2, ge=1, description="Tokeniser worker processes (at most the CPU count; the target machine has 2 cores).")

    # Retrieval: weighted reciprocal-rank fusion of the arms (set by measurement on the tune split).
    weight_word: float = Field(1.0, ge=0.0)
    weight_char: float = Field(1.0, ge=0.0)
    weight_dense: float = Field(0.05, ge=0.0)
    rrf_k: int = Field(60, ge=1)
    scope_weight: float = Field(1.0, ge=0.0, description="Weight of the ranking inside the documents a question names.")
    scope_min_score: float = Field(12.0, ge=0.0, description="Evidence needed before a question counts as naming a document.")
    candidate_depth: int = Field(100, ge=10, le=1000, description="Candidates each arm contributes before fusion.")
    reranker: str | None = Field(None, description="Optional sentence-transformers CrossEncoder name or path.")

    # Answering.
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://localhost:8001/v1.")
    llm_model: str | None = None
    llm_api_key: str = "not-needed"
    llm_timeout: float = Field(30.0, gt=0)
    abstain_threshold: float = Field(0.3, ge=0.0, le=1.0)

    # Server.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    @property
    def fusion_weights(self) -> dict[str, float]:
        return {"word": self.weight_word, "char": self.weight_char, "dense": self.weight_dense}

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    def chunking_config(self) -> ChunkingConfig:
        return ChunkingConfig(chunk_size=self.chunk_size, overlap=self.chunk_overlap)

    def build_config(self, *, embed_model: str | None = None, rebuild: bool = False) -> BuildConfig:
        """How `reportqa ingest` builds `self.index`; `embed_model` overrides the setting (--embed-model)."""
        return BuildConfig(
            index_dir=Path(self.index),
            embed_model=embed_model or self.embed_model,
            rebuild=rebuild,
            chunking=self.chunking_config(),
            search_with_heading=self.search_with_heading,
            hnsw_threshold=self.hnsw_threshold,
            parallel_min_chunks=self.parallel_min_chunks,
            tokenize_workers=self.tokenize_workers,
        )
