"""The one configuration object. Every field can be set by an environment variable `REPORTQA_<FIELD>`.

Settings is the only place defaults are written. Components take the frozen config types below, which have
no defaults of their own, built by Settings methods (`settings.retriever_config()`, ...); an evaluation
ablation derives a new one with `dataclasses.replace` instead of mutating the live config.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.config import BuildConfig, ChunkingConfig
from ingest.milvus_store import MilvusConfig


class Weights(Mapping[str, float]):
    """Read-only fusion weights per arm: a frozen config must not change through its mapping either."""

    def __init__(self, weights: Mapping[str, float]):
        self._weights = dict(weights)

    def __getitem__(self, arm: str) -> float:
        return self._weights[arm]

    def __iter__(self) -> Iterator[str]:
        return iter(self._weights)

    def __len__(self) -> int:
        return len(self._weights)

    def __hash__(self) -> int:
        return hash(frozenset(self._weights.items()))

    def __repr__(self) -> str:
        return f"Weights({self._weights!r})"


@dataclass(frozen=True)
class ScopeConfig:
    """How much evidence names a document (qa_service.scope.ScopeDetector)."""

    min_score: float  # a whole question
    mention_min_score: float  # one phrase of a comparison
    tie_ratio: float
    extra_min: float


@dataclass(frozen=True)
class RetrieverConfig:
    """Fusion weights and stages of the hybrid Retriever (qa_service.retriever)."""

    weights: Mapping[str, float]
    rrf_k: int
    candidate_depth: int
    use_scope: bool
    use_boosts: bool
    number_boost: float
    time_boost: float
    definition_boost: float
    scope_weight: float

    def __post_init__(self) -> None:
        # A read-only copy: the config stays frozen even when the caller's dict changes.
        object.__setattr__(self, "weights", Weights(self.weights))


@dataclass(frozen=True)
class ExtractiveConfig:
    """The extractive answerer's knobs (qa_service.extractive)."""

    max_passages: int
    abstain_below: float
    rank_decay: float
    conflict_ratio: float
    max_answer_chars: int


@dataclass(frozen=True)
class RankedConfig:
    """The learned answerer's knobs (qa_service.ranked); its models are in the file at `model_path`."""

    model_path: Path | None  # None: the packaged qa_service/data/answer_model.json
    max_passages: int
    trim_above: int  # a longer answer sentence is shown as its best clause window...
    trim_confidence: float  # ...when the trimmer gives that window at least this probability of holding the answer
    legacy: ExtractiveConfig  # the rule-based answerer's gates, read as features of the abstainer
    abstain_at: float | None  # abstain from this P(unanswerable) on; None: the model file's threshold
    second_at: float  # show the ranker's runner-up too when P(it holds the answer the best does not) >= this...
    second_other_at: float  # ...or >= this when it is in another passage (its sentence then cites a second passage)


@dataclass(frozen=True)
class PipelineConfig:
    """The answer pipeline's own knobs (qa_service.pipeline)."""

    retrieval_depth: int  # passages retrieved at least
    rrf_k: int  # fusion of the retrievals of several query rewrites
    min_support: float  # citation check
    unsupported_sentences: Literal["remove", "flag"]  # what becomes of LLM sentences the check cannot support


@dataclass(frozen=True)
class LLMConfig:
    """The LLM client (qa_service.llm) and its circuit breaker (qa_service.circuit)."""

    base_url: str
    model: str
    api_key: str
    timeout: float  # seconds for a whole reply; streamed: to the first token and between tokens
    circuit_failures: int
    circuit_cooldown: float


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

    # Where the index is searched (qa_service.store): our files in `index`, or Milvus (then `index` is a cache).
    store: Literal["embedded", "milvus"] = Field("embedded", description="embedded: the index folder's files; milvus: a Milvus server or milvus-lite file.")
    milvus_uri: str = Field("milvus.db", description="milvus-lite file path, or a server's http://host:19530 (REPORTQA_STORE=milvus).")
    milvus_token: str | None = Field(None, description="Milvus token (user:password or a Zilliz API key).")
    milvus_collection: str = Field("reportqa", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Prefix of the Milvus collections and alias of this index.")
    milvus_poll_seconds: float = Field(1.0, ge=0.0, description="How often a server asks Milvus whether a new build was published.")
    milvus_lease_seconds: float = Field(60.0, gt=0.0, description="The Milvus write lease expires this long after its holder's last renewal (a dead writer is superseded after it).")
    milvus_lease_wait_seconds: float = Field(600.0, ge=0.0, description="How long a writer (document job, ingest) waits for the Milvus write lease.")

    # Retrieval: weighted reciprocal-rank fusion of the arms (set by measurement on the tune split).
    weight_word: float = Field(1.0, ge=0.0)
    weight_char: float = Field(1.0, ge=0.0)
    weight_dense: float = Field(0.05, ge=0.0)
    rrf_k: int = Field(60, ge=1)
    scope_weight: float = Field(1.0, ge=0.0, description="Weight of the ranking inside the documents a question names.")
    scope_min_score: float = Field(12.0, ge=0.0, description="Evidence needed before a question counts as naming a document.")
    # One phrase of a comparison (`区政府工作报告和计划执行情况报告…`) names a document with less evidence.
    scope_mention_min_score: float = Field(4.0, ge=0.0, description="Evidence needed for one compared phrase to name a document.")
    scope_tie_ratio: float = Field(0.97, gt=0.0, le=1.0, description="Documents scoring this share of the best are named too.")
    scope_extra_min: float = Field(2.5, ge=0.0, description="Distinctive evidence another named document must add.")
    use_scope: bool = Field(True, description="Rank inside the documents a question names (off: an ablation).")
    use_boosts: bool = Field(True, description="Domain boosts for figures, time scopes and glossary terms (off: an ablation).")
    boost_number: float = Field(0.0, ge=0.0, description="Boost per figure of the question a passage states.")
    boost_time: float = Field(0.1, ge=0.0, description="Boost per time scope of the question a passage states.")
    boost_definition: float = Field(1.0, ge=0.0, description="Boost of the glossary definition of a term the question asks about.")
    candidate_depth: int = Field(100, ge=10, le=1000, description="Candidates each arm contributes before fusion.")
    reranker: str | None = Field(None, description="Optional sentence-transformers CrossEncoder name or path.")

    # Answering.
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://localhost:8001/v1.")
    llm_model: str | None = None
    llm_api_key: str = "not-needed"
    llm_timeout: float = Field(30.0, gt=0, description="Seconds an LLM reply may take (streamed: to the first token and between tokens).")
    # A dead LLM costs one timeout, not one per request: after this many consecutive failures LLM-mode requests
    # fall back at once (`fallback: "llm_circuit_open"`) until a probe after the cool-down succeeds.
    llm_circuit_failures: int = Field(1, ge=1, description="Consecutive LLM failures that open the circuit breaker.")
    llm_circuit_cooldown: float = Field(30.0, gt=0, description="Seconds the open circuit refuses LLM calls before one probe.")
    unsupported_sentences: Literal["remove", "flag"] = Field(
        "remove", description="LLM sentences the citation check cannot support: removed from the answer, or kept and flagged."
    )
    abstain_threshold: float = Field(0.3, ge=0.0, le=1.0, description="Question coverage below which the extractive answer abstains.")
    retrieval_depth: int = Field(10, ge=1, le=1000, description="Passages retrieved at least; the citation check reads them all.")
    answer_passages: int = Field(5, ge=1, le=50, description="Top passages the extractive answerer reads.")
    answer_rank_decay: float = Field(0.06, ge=0.0, lt=1.0, description="Score lost per rank by a passage's sentences.")
    answer_conflict_ratio: float = Field(0.85, gt=0.0, le=1.0, description="A rival figure from another document this close is shown too.")
    answer_max_chars: int = Field(220, ge=20, description="Longer answer sentences are trimmed to their clauses.")
    answerer: Literal["ranked", "rules"] = Field("ranked", description="The extractive answerer: the learned ranker with its calibrated abstention, or the older hand-set rules.")
    answer_model: Path | None = Field(None, description="Answer model JSON written by `reportqa train-answerer` (default: the packaged one).")
    answer_trim_above: int = Field(150, ge=10, description="An answer sentence longer than this is shown as its best clause window.")
    answer_abstain_at: float | None = Field(None, ge=0.0, le=1.0, description="Abstain from this P(unanswerable) on (default: the model file's threshold; its `fit.operating_points` lists others).")
    answer_candidate_passages: int = Field(10, ge=1, le=50, description="Passages of the retrieved ranking whose candidates the learned answerer scores (the request's top_k first).")
    answer_second_at: float = Field(0.10, ge=0.0, le=1.0, description="The learned answerer also shows its runner-up candidate (cited) when the model gives it at least this probability of holding the answer its best one does not (1: never).")
    answer_second_other_at: float = Field(0.25, ge=0.0, le=1.0, description="The same for a runner-up in another passage than the best candidate's (higher: a wrong sentence of a second passage costs citation recall; 1: never).")
    answer_trim_confidence: float = Field(0.0, ge=0.0, le=1.0, description="...when the trimmer's probability that the window holds the answer is at least this.")
    citation_min_support: float = Field(0.5, ge=0.0, le=1.0, description="Share of a sentence's key terms a cited passage must hold.")

    # Document management over HTTP (POST/DELETE /v1/documents, GET /v1/jobs/{id}); jobs are kept in <index>/jobs.
    sources: Path | None = Field(None, description="Folder where uploaded source files are kept (default: <index>/sources).")
    jobs_queue_max: int = Field(16, ge=1, description="Document jobs waiting at most; past it POST/DELETE /v1/documents answer 429.")
    jobs_batch_max: int = Field(32, ge=1, description="Queued document jobs applied together in one build at most.")
    jobs_keep: int = Field(1000, ge=1, description="Finished document jobs kept on disk for GET /v1/jobs/{id}.")
    upload_max_bytes: int = Field(50 * 2**20, ge=1, description="Largest upload (all files of one request); past it 413.")

    # Server.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int | None = Field(None, ge=1, description="`reportqa serve` worker processes (default: the number of cores).")

    # Limits and back-pressure (qa_service.limits, qa_service.rate_limit, qa_service.server).
    body_max_bytes: int = Field(2**20, ge=1024, description="Largest request body except uploads; past it 413 (counted as it streams).")
    header_timeout: float = Field(10.0, gt=0, description="Seconds a request's headers may take from its first byte; then the connection is dropped.")
    body_timeout: float = Field(30.0, gt=0, description="Seconds a request body (not an upload) may take to arrive; then 408 and the connection is closed.")
    upload_timeout: float = Field(300.0, gt=0, description="Seconds an upload (POST /v1/documents) may take to arrive; then 408.")
    keep_alive_timeout: int = Field(5, ge=1, description="Seconds an idle keep-alive connection is kept.")
    keep_alive_requests: int = Field(50, ge=1, description="Requests one connection may carry; the last gets `Connection: close`, so keep-alive clients spread over the workers again.")
    # Answering is CPU-bound: on 2 cores more threads only add GIL contention (and slow /healthz). The
    # answering threads are their own pool, so they never take the threads other routes use.
    answer_concurrency: int = Field(4, ge=1, le=64, description="Answering requests (/v1/ask, /v1/search, chat) computed at once per worker.")
    answer_queue: int = Field(64, ge=0, description="Answering requests that may wait for a slot per worker; past it 503 with Retry-After.")
    # Python hands its lock to a waiting thread only every switch interval (default 5 ms): with answering threads
    # busy in Python code, the event loop (and /healthz) waits that long for each step. 1 ms halved /healthz
    # latency under load in eval/bench_abuse.py's history phase, with answering throughput unchanged.
    switch_interval: float = Field(0.001, gt=0, le=0.1, description="Seconds Python lets a thread run before the lock goes to another (sys.setswitchinterval) in the server.")
    retry_after: int = Field(1, ge=1, description="Seconds sent in Retry-After with a 503 (answering full) response.")
    rate_limit: str = Field("", description='Requests per API key (anonymous: per client IP) on /v1, e.g. "20/second;600/minute"; empty: no limit. Per worker.')

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_syntax(cls, value: str) -> str:
        if value.strip():
            from limits import parse_many

            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(f'rate_limit: {exc} (expected e.g. "20/second;600/minute")') from None
        return value.strip()

    # Access control (qa_service.auth). No keys at all: every request has the admin role, and `reportqa serve`
    # refuses a non-loopback --host unless allow_anonymous is set.
    api_keys: str | None = Field(None, description='API keys and their roles, e.g. "k1:admin,k2:query" (REPORTQA_API_KEYS).')
    api_keys_file: Path | None = Field(None, description="A file of `key:role` lines (# comments); adds to api_keys.")
    allow_anonymous: bool = Field(False, description="Serve a non-loopback address without keys (everyone is admin).")
    cors_origins: str = Field("", description='Origins allowed by CORS, comma-separated ("*" for any); empty: CORS off.')
    access_log: bool = Field(True, description="`reportqa serve` writes one JSON line per request to stderr.")

    @field_validator("api_keys_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # REPORTQA_API_KEYS_FILE= (set but empty) means no file, not the working directory
        return None if isinstance(value, str) and not value.strip() else value

    def sources_dir(self) -> Path:
        """Uploaded source files: inside the index directory by default, so they move (and back up) with it."""
        return Path(self.sources) if self.sources is not None else Path(self.index) / "sources"

    def jobs_dir(self) -> Path:
        """Document jobs, one JSON file each, shared by every worker serving the index."""
        return Path(self.index) / "jobs"

    @property
    def fusion_weights(self) -> dict[str, float]:
        return {"word": self.weight_word, "char": self.weight_char, "dense": self.weight_dense}

    def scope_config(self) -> ScopeConfig:
        return ScopeConfig(
            min_score=self.scope_min_score,
            mention_min_score=self.scope_mention_min_score,
            tie_ratio=self.scope_tie_ratio,
            extra_min=self.scope_extra_min,
        )

    def retriever_config(self) -> RetrieverConfig:
        return RetrieverConfig(
            weights=self.fusion_weights,
            rrf_k=self.rrf_k,
            candidate_depth=self.candidate_depth,
            use_scope=self.use_scope,
            use_boosts=self.use_boosts,
            number_boost=self.boost_number,
            time_boost=self.boost_time,
            definition_boost=self.boost_definition,
            scope_weight=self.scope_weight,
        )

    def extractive_config(self) -> ExtractiveConfig:
        return ExtractiveConfig(
            max_passages=self.answer_passages,
            abstain_below=self.abstain_threshold,
            rank_decay=self.answer_rank_decay,
            conflict_ratio=self.answer_conflict_ratio,
            max_answer_chars=self.answer_max_chars,
        )

    def ranked_config(self) -> RankedConfig:
        return RankedConfig(
            model_path=self.answer_model,
            max_passages=self.answer_candidate_passages,
            trim_above=self.answer_trim_above,
            trim_confidence=self.answer_trim_confidence,
            legacy=self.extractive_config(),
            abstain_at=self.answer_abstain_at,
            second_at=self.answer_second_at,
            second_other_at=self.answer_second_other_at,
        )

    def pipeline_config(self) -> PipelineConfig:
        return PipelineConfig(
            retrieval_depth=self.retrieval_depth, rrf_k=self.rrf_k, min_support=self.citation_min_support,
            unsupported_sentences=self.unsupported_sentences,
        )

    def llm_config(self) -> LLMConfig | None:
        if not (self.llm_base_url and self.llm_model):
            return None
        return LLMConfig(
            base_url=self.llm_base_url, model=self.llm_model, api_key=self.llm_api_key, timeout=self.llm_timeout,
            circuit_failures=self.llm_circuit_failures, circuit_cooldown=self.llm_circuit_cooldown,
        )

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    def chunking_config(self) -> ChunkingConfig:
        return ChunkingConfig(chunk_size=self.chunk_size, overlap=self.chunk_overlap)

    def milvus_config(self) -> MilvusConfig:
        return MilvusConfig(uri=self.milvus_uri, token=self.milvus_token, prefix=self.milvus_collection,
                            poll_seconds=self.milvus_poll_seconds, lease_seconds=self.milvus_lease_seconds,
                            lease_wait_seconds=self.milvus_lease_wait_seconds)

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
