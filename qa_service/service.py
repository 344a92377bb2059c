"""QAService: the loaded index, the retriever and the answerers behind both the HTTP API and the CLI."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.index_reader import IndexNotFound, IndexReader, load_index
from ingest.models import Chunk
from ingest.zh import strip_ws

from . import conversation, documents_view
from .citations import parse_marked_text, verify
from .claims import Claim, DraftAnswer, render
from .config import Settings
from .errors import IndexUnavailable, NotFound
from .extractive import ExtractiveAnswerer, ExtractiveConfig, abstain
from .llm import NOT_FOUND_RE, LLMClient, LLMUnavailable
from .question import analyze
from .retriever import RetrievalQuery, RetrievalResult, Retriever, RetrieverConfig
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

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    index: IndexReader
    retriever: Retriever
    manifest_mtime: float

    def term_weight(self, term: str) -> float:
        """IDF of a question term; 0 for words the reports never use (everyday paraphrase words), so
        answer coverage is measured over the words that could have matched."""
        return self.index.idf(term) if self.index.has_word(term) else 0.0

    def first_chunk(self, doc_id: str) -> Chunk | None:
        """The document's opening passage (title, date and reporter lines)."""
        return self.index.first_chunk(doc_id)

    def place_docs(self, place: str) -> frozenset[str]:
        """Documents whose text mentions a place name (used to keep answers about 川沙 in 川沙's report)."""
        return self.index.docs_mentioning(place)


class QAService:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self._loaded: Loaded | None = None
        self._lock = threading.Lock()
        self.extractive = ExtractiveAnswerer(ExtractiveConfig(abstain_below=self.settings.abstain_threshold))
        self.llm: LLMClient | None = None
        if self.settings.llm_configured:
            self.llm = LLMClient(self.settings.llm_base_url, self.settings.llm_model, self.settings.llm_api_key, self.settings.llm_timeout)

    # -- index lifecycle -----------------------------------------------------------------------

    @property
    def index_dir(self) -> Path:
        return Path(self.settings.index)

    def loaded(self) -> Loaded:
        """The index in service; reloaded when `reportqa ingest` has replaced manifest.json."""
        manifest = self.index_dir / "manifest.json"
        try:
            mtime = manifest.stat().st_mtime
        except FileNotFoundError:
            raise IndexUnavailable(
                f"no index at {self.index_dir}; build it with: reportqa ingest --index {self.index_dir}"
            ) from None
        current = self._loaded
        if current is not None and current.manifest_mtime == mtime:
            return current
        with self._lock:
            if self._loaded is None or self._loaded.manifest_mtime != mtime:
                self._loaded = self._load(mtime)
            return self._loaded

    def _load(self, mtime: float) -> Loaded:
        try:
            index = load_index(self.index_dir)
        except IndexNotFound as exc:
            raise IndexUnavailable(str(exc)) from None
        _single_threaded_faiss()
        reranker = None
        if self.settings.reranker:
            from sentence_transformers import CrossEncoder

            reranker = CrossEncoder(self.settings.reranker)
        config = RetrieverConfig(
            weights=self.settings.fusion_weights,
            rrf_k=self.settings.rrf_k,
            candidate_depth=self.settings.candidate_depth,
            scope_weight=self.settings.scope_weight,
            scope_min_score=self.settings.scope_min_score,
        )
        log.info("loaded index %s (%d chunks)", self.index_dir, len(index.chunks))
        # The Retriever's scope detector precomputes the places the reports name (index.mentions) here, not
        # during the first request.
        return Loaded(index=index, retriever=Retriever(index, config, reranker), manifest_mtime=mtime)

    def warm_up(self) -> None:
        """Load the index and answer one question, so the embedding model (loaded lazily) and jieba's
        dictionary are ready before the first user request instead of costing it seconds."""
        self.ask(AskRequest(question="财政收入是多少？"))

    # -- lookups ---------------------------------------------------------------------------------

    def retrieve(self, query: str, top_k: int, doc_ids: list[str] | None = None, heading_prefix: str | None = None) -> RetrievalResult:
        return self.loaded().retriever.retrieve(RetrievalQuery(query=query, top_k=top_k, doc_ids=doc_ids or None, heading_prefix=heading_prefix))

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

    def ready(self) -> Ready:
        loaded = self.loaded()
        manifest = loaded.index.manifest
        return Ready(
            index=str(self.index_dir),
            build_id=manifest.build_id,
            counts=dict(manifest.counts),
            embedding_model=manifest.embedding.model,
            arms=list(loaded.index.arms),
            answer_modes=["extractive", "llm"] if self.llm else ["extractive"],
            llm_model=self.llm.model if self.llm else None,
        )

    # -- answering -------------------------------------------------------------------------------

    def ask(self, req: AskRequest) -> AskResponse:
        t0 = time.perf_counter()
        loaded = self.loaded()
        tokenize = loaded.index.tokenizer.tokenize
        filters = req.filters
        doc_ids = filters.doc_ids if filters else None
        heading_prefix = filters.heading_prefix if filters else None
        fallback: str | None = None
        use_llm = req.mode == "llm"
        if use_llm and self.llm is None:
            use_llm, fallback = False, "llm_not_configured"

        question = req.question
        if req.history:
            question = conversation.condense(req.question, req.history)
            if use_llm and conversation.is_follow_up(req.question):
                try:
                    question = self.llm.condense(req.question, req.history)
                except LLMUnavailable as exc:
                    # The LLM is down or slow: skip its other calls rather than wait out each timeout.
                    log.info("condense fell back: %s", exc.reason)
                    use_llm, fallback = False, exc.reason

        depth = max(10, req.top_k)
        queries = [question]
        if use_llm:
            try:
                queries = self.llm.rewrite(question)
            except LLMUnavailable as exc:
                use_llm, fallback = False, exc.reason
        result = self._retrieve_many(loaded.retriever, queries, depth, doc_ids, heading_prefix)
        t1 = time.perf_counter()
        passages = [p.chunk for p in result.passages]
        top = passages[: req.top_k]
        scores = {p.chunk.id: p.score for p in result.passages}
        q = analyze(question, tokenize, loaded.term_weight)
        draft: DraftAnswer | None = None
        mode = "extractive"
        if use_llm:
            try:
                reply = self.llm.answer(question, top)
                mode = "llm"
                draft = abstain(q) if NOT_FOUND_RE.search(reply) and "[" not in reply else DraftAnswer(claims=parse_marked_text(reply, top))
            except LLMUnavailable as exc:
                fallback = exc.reason
        if draft is None and q.wants_reporter:
            draft = self._reporter_answer(loaded, result)
        if draft is None:
            draft = self.extractive.answer(
                q, top, result.scope.groups if result.scope.is_comparison else None, place_docs=loaded.place_docs
            )
        draft = verify(draft, passages, tokenize)
        if mode == "llm" and not draft.abstained and not any(c.sources for c in draft.claims):
            unsupported = draft.unsupported
            draft = abstain(q)  # nothing the model said could be tied to a passage
            draft.unsupported = unsupported  # still reported: the caller sees what was rejected
        answer_text, cites = render(draft, scores)
        t2 = time.perf_counter()
        return AskResponse(
            answer=answer_text,
            abstained=draft.abstained,
            mode=mode,
            fallback=fallback,
            citations=[citation_model(c.n, c.chunk, c.quote, c.score) for c in cites],
            retrieved=[RetrievedRef(passage_id=p.chunk.id, score=round(p.score, 6)) for p in result.passages],
            unsupported_sentences=draft.unsupported,
            timings_ms=Timings(retrieve=round((t1 - t0) * 1000, 2), answer=round((t2 - t1) * 1000, 2), total=round((t2 - t0) * 1000, 2)),
            standalone_question=question if question != req.question else None,
        )

    @staticmethod
    def _reporter_answer(loaded: Loaded, result: RetrievalResult) -> DraftAnswer | None:
        """`…报告是由谁作的？`: the reporter the document states, cited to its opening passage."""
        doc_ids = result.scope.doc_ids or [p.chunk.doc_id for p in result.passages[:1]]
        if len(doc_ids) != 1:
            return None
        doc = loaded.index.documents.get(doc_ids[0])
        opening = loaded.first_chunk(doc_ids[0]) if doc else None
        if not doc or not doc.reporter or opening is None or strip_ws(doc.reporter) not in strip_ws(opening.text):
            return None
        quote = next((line.strip() for line in opening.text.splitlines() if strip_ws(doc.reporter) in strip_ws(line)), doc.reporter)
        return DraftAnswer(claims=[Claim(text=doc.reporter, sources=[opening], quotes=[quote], prefix=f"《{doc.title}》的报告人：")])

    @staticmethod
    def _retrieve_many(retriever: Retriever, queries: list[str], depth: int, doc_ids, heading_prefix) -> RetrievalResult:
        """One retrieval per query rewrite, fused by reciprocal rank (the original question first)."""
        results = [retriever.retrieve(RetrievalQuery(query=q, top_k=depth, doc_ids=doc_ids or None, heading_prefix=heading_prefix)) for q in queries]
        if len(results) == 1:
            return results[0]
        fused: dict[str, float] = {}
        by_id = {}
        for r in results:
            for rank, p in enumerate(r.passages, start=1):
                fused[p.chunk.id] = fused.get(p.chunk.id, 0.0) + 1.0 / (60 + rank)
                by_id.setdefault(p.chunk.id, p)
        order = sorted(fused, key=lambda i: -fused[i])[:depth]
        top = max(fused.values())
        passages = []
        for pid in order:
            p = by_id[pid]
            p.score = fused[pid] / top
            passages.append(p)
        return RetrievalResult(passages=passages, scope=results[0].scope)


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
