"""QAService: the loaded index and the answer pipeline (qa_service.pipeline) behind both the HTTP API and the CLI."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.index_reader import IndexReader
from ingest.models import Chunk

from . import documents_view
from .config import Settings
from .errors import NotFound, public_path
from .index_holder import IndexHolder, ManifestKey
from .vector_cache import VectorCache
from .llm import LLMClient
from .messages import WARM_UP_QUESTION
from .pipeline import AnswerPipeline, PipelineRequest, PipelineResult, PreparedRequest, build_pipeline
from .retriever import RetrievalQuery, RetrievalResult, Retriever
from .schemas import (
    AskRequest,
    AskResponse,
    Citation,
    DocumentDetail,
    DocumentSummary,
    Passage,
    Ready,
    RetrievedRef,
    SearchResponse,
    SearchResult,
    Timings,
)
from .scope import ScopeDetector
from .store import open_store

log = logging.getLogger(__name__)

_VECTOR_CACHE_SIZE = 50_000  # texts; 384 float32 each is ~75 MB at most per worker


@dataclass
class Loaded:
    index: IndexReader
    retriever: Retriever
    manifest_key: ManifestKey  # the manifest.json it was loaded from (qa_service.index_holder)

    def term_weight(self, term: str) -> float:
        """IDF of a question term; 0 for words the reports never use (everyday paraphrase words), so
        answer coverage is measured over the words that could have matched."""
        return self.index.idf(term) if self.index.has_word(term) else 0.0

    vectors: VectorCache = field(default_factory=lambda: VectorCache(_VECTOR_CACHE_SIZE))

    def similarity(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """Cosine of the question and each text under the index's embedding model (zeros without one).

        The answerer embeds every candidate sentence of the passages it reads, and the same passages come back
        for many questions: vectors are cached per text (embedding was ~28% of the answer step)."""
        embedder = self.index.embedder
        if embedder is None or not texts:
            return np.zeros(len(texts))
        vectors = self.vectors.get([question, *texts], embedder.encode)
        return vectors[1:] @ vectors[0]

    def place_docs(self, place: str) -> frozenset[str]:
        """Documents whose text mentions a place name (used to keep answers about 川沙 in 川沙's report)."""
        return self.index.docs_mentioning(place)


class QAService:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.store = open_store(self.settings)  # embedded files or Milvus (qa_service.store)
        self._holder: IndexHolder[Loaded] = IndexHolder(self.index_dir, self._load, self._load_previous, self.store.key)
        self._pipeline: tuple[Loaded, AnswerPipeline] | None = None
        self._pipeline_lock = threading.Lock()
        self.llm: LLMClient | None = None
        # Called with every answer (the HTTP app counts them in its metrics; the CLI adds none).
        self.answer_observers: list[Callable[[AskResponse], None]] = []
        llm_config = self.settings.llm_config()
        if llm_config is not None:
            self.llm = LLMClient(llm_config)

    # -- index lifecycle -----------------------------------------------------------------------

    @property
    def index_dir(self) -> Path:
        return Path(self.settings.index)

    def loaded(self) -> Loaded:
        """The index in service; reloaded when `reportqa ingest` (or a document job) has replaced manifest.json.

        A newer build that fails to load (a damaged file) leaves the last good one in service
        (qa_service.index_holder); with none, IndexUnavailable names the file and the rebuild command.
        """
        return self._holder.current()

    @property
    def damage(self) -> str | None:
        """Why the newest build is not in service, when it failed to load (reported by /readyz)."""
        failure = self._holder.damage
        return failure.error.message if failure else None

    def _load(self, key: ManifestKey) -> Loaded:
        return self._serve(self.store.load(), key)

    def _load_previous(self, key: ManifestKey) -> Loaded | None:
        index = self.store.load_previous()
        return self._serve(index, key) if index is not None else None

    def _serve(self, index: IndexReader, key: ManifestKey) -> Loaded:
        _single_threaded_faiss()
        reranker = None
        if self.settings.reranker:
            from sentence_transformers import CrossEncoder

            reranker = CrossEncoder(self.settings.reranker)
        config = self.settings.retriever_config()
        log.info("loaded index %s build %s (%d chunks)", self.index_dir, index.manifest.build_id, len(index.chunks))
        return Loaded(index=index, retriever=Retriever(index, config, reranker), manifest_key=key)

    def pipeline(self) -> AnswerPipeline:
        """The answer pipeline over the index in service (rebuilt when the index is reloaded)."""
        loaded = self.loaded()
        current = self._pipeline
        if current is not None and current[0] is loaded:
            return current[1]
        with self._pipeline_lock:
            if self._pipeline is None or self._pipeline[0] is not loaded:
                self._pipeline = (loaded, self._build_pipeline(loaded))
            return self._pipeline[1]

    def _build_pipeline(self, loaded: Loaded) -> AnswerPipeline:
        index = loaded.index
        return build_pipeline(
            self.settings,
            retriever=loaded.retriever,
            tokenize=index.tokenizer.tokenize,
            term_weight=loaded.term_weight,
            # precomputes which documents mention the places the reports name (index.mentions), once per index
            scope_detector=ScopeDetector.for_index(index, self.settings.scope_config()),
            documents=index.documents,
            place_docs=loaded.place_docs,
            llm=self.llm,
            similarity=loaded.similarity,
        )

    def warm_up(self) -> None:
        """Load the index and answer one question, so the embedding model (loaded lazily) and jieba's
        dictionary are ready before the first user request instead of costing it seconds."""
        self.ask(AskRequest(question=WARM_UP_QUESTION))

    # -- lookups ---------------------------------------------------------------------------------

    def retrieve(self, query: str, top_k: int, doc_ids: list[str] | None = None, heading_prefix: str | None = None) -> RetrievalResult:
        return self.pipeline().search(RetrievalQuery(query=query, top_k=top_k, doc_ids=doc_ids or None, heading_prefix=heading_prefix))

    def search(self, query: str, top_k: int, doc_ids: list[str] | None = None, heading_prefix: str | None = None) -> SearchResponse:
        result = self.retrieve(query, top_k, doc_ids, heading_prefix)
        return SearchResponse(
            results=[
                SearchResult(
                    passage_id=p.chunk.id,
                    doc_id=p.chunk.doc_id,
                    doc_title=p.chunk.doc_title,
                    heading_path=p.chunk.heading_path,
                    kind=p.chunk.kind,
                    text=p.chunk.text,
                    score=round(p.score, 6),
                    ranks=p.ranks,
                )
                for p in result.passages
            ]
        )

    def passage(self, passage_id: str) -> Passage:
        chunk = self.loaded().retriever.chunk(passage_id)
        if chunk is None:
            raise NotFound(f"unknown passage_id: {passage_id!r}")
        return passage_model(chunk)

    def documents(self) -> list[DocumentSummary]:
        return documents_view.document_summaries(self.loaded().index)

    def document(self, doc_id: str, with_text: bool = False) -> DocumentDetail:
        detail = documents_view.document_detail(self.loaded().index, doc_id, with_text=with_text)
        if detail is None:
            raise NotFound(f"unknown doc_id: {doc_id!r}")
        return detail

    def ready(self, load: bool = True) -> Ready | None:
        """The readiness report; with `load=False`, None instead of loading a build (the caller loads it off
        the event loop)."""
        loaded = self.loaded() if load else self._holder.current_if_loaded()
        if loaded is None:
            return None
        manifest = loaded.index.manifest
        damage = self.damage
        return Ready(
            status="degraded" if damage else "ready",
            damage=damage,
            index=public_path(self.index_dir),
            build_id=manifest.build_id,
            counts=dict(manifest.counts),
            embedding_model=manifest.embedding.model,
            arms=list(loaded.index.arms),
            answer_modes=["extractive", "llm"] if self.llm else ["extractive"],
            llm_model=self.llm.model if self.llm else None,
            llm_circuit=self.llm.breaker.state if self.llm else None,
        )

    # -- answering -------------------------------------------------------------------------------

    def ask(self, req: AskRequest) -> AskResponse:
        return self.complete(req, self.prepare(req))

    def prepare(self, req: AskRequest) -> PreparedRequest:
        """The request up to its answer (a bad question raises here, before a stream's first byte)."""
        filters = req.filters
        request = PipelineRequest(
            question=req.question,
            top_k=req.top_k,
            mode=req.mode,
            history=tuple(req.history or ()),
            doc_ids=tuple(filters.doc_ids) if filters and filters.doc_ids else None,
            heading_prefix=filters.heading_prefix if filters else None,
        )
        return self.pipeline().prepare(request)

    def complete(self, req: AskRequest, prepared: PreparedRequest, streamed_reply: str | None = None) -> AskResponse:
        """The verified answer of a prepared request (`streamed_reply`: the LLM's reply already streamed)."""
        response = ask_response(req, prepared.pipeline.finish(prepared, streamed_reply))
        for observe in self.answer_observers:
            observe(response)
        return response

    def build_id(self) -> str | None:
        """The build id of the index in service, without loading one (None before the first load)."""
        loaded = self._holder.in_service
        return loaded.index.manifest.build_id if loaded is not None else None


def ask_response(req: AskRequest, result: PipelineResult) -> AskResponse:
    """The API's view of a pipeline result."""
    total = result.retrieve_ms + result.answer_ms
    return AskResponse(
        answer=result.answer,
        abstained=result.abstained,
        abstain_probability=result.abstain_probability,
        abstain_reason=result.abstain_reason,
        mode=result.mode,
        fallback=result.fallback,
        citations=[citation_model(c.n, c.chunk, c.quote, c.score) for c in result.citations],
        retrieved=[RetrievedRef(passage_id=p.chunk.id, score=round(p.score, 6)) for p in result.retrieved.passages],
        unsupported_sentences=result.draft.unsupported,
        timings_ms=Timings(retrieve=round(result.retrieve_ms, 2), answer=round(result.answer_ms, 2), total=round(total, 2)),
        standalone_question=result.question if result.question != req.question else None,
    )


def _single_threaded_faiss() -> None:
    """One query gains nothing from FAISS's OpenMP threads, and under concurrent requests on 2 cores
    they fight each other: an exact search went from 0.18 ms to 32 ms with the default 2 threads."""
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss is a dependency; a lexical-only index works without it
        return
    faiss.omp_set_num_threads(1)


def passage_model(chunk: Chunk) -> Passage:
    return Passage(
        passage_id=chunk.id,
        doc_id=chunk.doc_id,
        doc_title=chunk.doc_title,
        kind=chunk.kind,
        heading_path=chunk.heading_path,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        page=chunk.page,
        prev_id=chunk.prev_id,
        next_id=chunk.next_id,
        parent_id=chunk.parent_id,
        document_url=f"/v1/documents/{chunk.doc_id}",
    )


def citation_model(n: int, chunk: Chunk, quote: str, score: float) -> Citation:
    return Citation(
        n=n,
        passage_id=chunk.id,
        doc_id=chunk.doc_id,
        doc_title=chunk.doc_title,
        heading_path=chunk.heading_path,
        text=chunk.text,
        quote=quote,
        start=chunk.start,
        end=chunk.end,
        page=chunk.page,
        score=round(score, 6),
    )
