"""The answer pipeline: one explicit chain of typed steps behind /v1/ask, the CLI and every eval system.

    PipelineRequest
      -> Condenser        follow-up made standalone (rules; the LLM when in use)      -> question
      -> QueryAnalyzer    terms, intents, figures, time scopes, places, scope            -> QueryAnalysis
      -> QueryRewriter    report-vocabulary rewrites (LLM only)                          -> queries
      -> PassageRetriever one ranking per query, fused by reciprocal rank               -> RetrievalResult
      -> answerers        LLM, reporter, comparison, follow-up figure, extractive:
                          the first that does not pass                                  -> DraftAnswer
      -> Verifier         citations checked against the retrieved passages               -> DraftAnswer
      -> render           [n] markers numbered by first use                              -> PipelineResult

`run` is `finish(prepare(request))`: the chat stream prepares (everything up to the answer) before its first byte,
streams the LLM's answer, then finishes with the streamed reply. A retrieval baseline is
`pipeline.with_retriever(its_retriever)`: every other step is the same object.
The LLM's failures do not travel as flags: the request's LLMSession stops using the model at its first
failure and its reason is the result's `fallback`.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from ingest.models import Chunk, Document

from . import conversation
from .analysis import QueryAnalysis, QueryAnalyzer
from .answer_features import Similarity
from .answer_model import load_answer_model
from .answerers import AnswerContext, Answerer, DocumentDateAnswerer, LLMAnswerer, ReporterAnswerer
from .citations import verify
from .claims import DraftAnswer, RenderedCitation, render
from .comparison import ComparisonAnswerer
from .config import PipelineConfig, Settings
from .extractive import ExtractiveAnswerer, abstain
from .follow_up_answer import FollowUpFigureAnswerer
from .llm import LLMClient, LLMSession
from .question import QuestionAnalysis
from .ranked import RankedAnswerer
from .retriever import PassageRetriever, RetrievalQuery, RetrievalResult
from .errors import InvalidQuestion
from .schemas import MAX_QUERY_CHARS, Turn
from .scope import ScopeDetector


@dataclass(frozen=True)
class PipelineRequest:
    question: str
    top_k: int  # passages handed to the answerers
    mode: str = "extractive"  # "extractive" | "llm"
    history: tuple[Turn, ...] = ()
    doc_ids: tuple[str, ...] | None = None
    heading_prefix: str | None = None
    context_k: int | None = None  # hand the answerers fewer passages than top_k (a baseline's recipe)


@dataclass
class PipelineResult:
    question: str  # the standalone question that was answered
    analysis: QueryAnalysis
    retrieved: RetrievalResult
    draft: DraftAnswer  # verified
    answer: str
    citations: list[RenderedCitation]
    mode: str  # "llm" when the model's answer was used
    fallback: str | None  # why an llm request was answered without the model
    retrieve_ms: float
    answer_ms: float

    @property
    def abstained(self) -> bool:
        return self.draft.abstained

    @property
    def abstain_probability(self) -> float | None:
        return self.draft.abstain_probability

    @property
    def abstain_reason(self) -> str | None:
        return self.draft.abstain_reason if self.draft.abstained else None


@dataclass(frozen=True)
class PreparedRequest:
    """A request up to its answer (AnswerPipeline.prepare): what `finish` answers from. The chat stream
    prepares before its first byte, so a bad question is still a 4xx, then streams the LLM's answer."""

    pipeline: AnswerPipeline  # the one that prepared it finishes it, even if the index is reloaded meanwhile
    request: PipelineRequest
    question: str  # the standalone question
    context: AnswerContext  # its analysis, passages and LLM session
    started: float
    retrieved_at: float

    @property
    def llm(self) -> LLMSession:
        return self.context.llm


class Condenser:
    """Follow-up questions made standalone: by rule, then by the LLM when it is in use."""

    def condense(self, question: str, history: Sequence[Turn], llm: LLMSession) -> str:
        if not history:
            return question
        standalone = conversation.condense(question, history)
        if llm.active and conversation.is_follow_up(question):
            by_model = llm.call(lambda client: client.condense(question, history))
            if by_model is not None:
                standalone = by_model
        if len(standalone) > MAX_QUERY_CHARS:
            # The question rule holds for what is answered, not only for what was typed: a follow-up
            # completed from a long history turn would otherwise skip the limit.
            raise InvalidQuestion(
                f"the follow-up made standalone is {len(standalone)} characters; the limit is {MAX_QUERY_CHARS}"
            )
        return standalone


class QueryRewriter:
    """Everyday wording rewritten into the reports' vocabulary (multi-query); the question stays first."""

    def rewrite(self, question: str, llm: LLMSession) -> list[str]:
        queries = llm.call(lambda client: client.rewrite(question))
        return queries if queries is not None else [question]


class Verifier:
    """Every claim checked against the retrieved passages (qa_service.citations.verify).

    A generated (LLM) sentence the check cannot support is removed from the answer, or with
    `unsupported="flag"` kept and marked; either way it is listed in `unsupported_sentences`.
    """

    def __init__(self, tokenize: Callable[[str], list[str]], min_support: float, unsupported: str):
        self.tokenize = tokenize
        self.min_support = min_support
        self.unsupported = unsupported

    def check(self, draft: DraftAnswer, retrieved: Sequence[Chunk], q: QuestionAnalysis, free_text: bool) -> DraftAnswer:
        draft = verify(draft, retrieved, self.tokenize, self.min_support)
        if free_text and not draft.abstained:
            unsupported_claims = [c for c in draft.claims if not c.sources and c.computed is None]
            if self.unsupported == "remove":
                draft.claims = [c for c in draft.claims if not any(c is u for u in unsupported_claims)]
            for claim in unsupported_claims:
                claim.flagged = True
        if free_text and not draft.abstained and not any(c.sources for c in draft.claims):
            unsupported = draft.unsupported
            draft = abstain(q)  # nothing the model said could be tied to a passage
            draft.unsupported = unsupported  # still reported: the caller sees what was rejected
        return draft


@dataclass(frozen=True)
class AnswerPipeline:
    analyzer: QueryAnalyzer
    retriever: PassageRetriever
    answerers: tuple[Answerer, ...]  # the last one always answers
    verifier: Verifier
    condenser: Condenser
    rewriter: QueryRewriter
    llm: LLMClient | None
    config: PipelineConfig

    def with_retriever(self, retriever: PassageRetriever) -> AnswerPipeline:
        """The same pipeline over another retriever: how a retrieval baseline is built."""
        return dataclasses.replace(self, retriever=retriever)

    def search(self, query: RetrievalQuery) -> RetrievalResult:
        """Analyse and retrieve only (/v1/search): the ranking `run` answers from."""
        return self.retriever.retrieve(query, self.analyzer.analyze(query.query, query.doc_ids))

    def run(self, request: PipelineRequest) -> PipelineResult:
        return self.finish(self.prepare(request))

    def prepare(self, request: PipelineRequest) -> PreparedRequest:
        """Every step before the answer: condense, analyse, rewrite, retrieve (LLM steps in the request's session)."""
        t0 = time.perf_counter()
        llm = LLMSession(self.llm, wanted=request.mode == "llm")
        question = self.condenser.condense(request.question, request.history, llm)
        analysis = self.analyzer.analyze(question, request.doc_ids)
        queries = self.rewriter.rewrite(question, llm)
        retrieved = self._retrieve(queries, analysis, request)
        top = [p.chunk for p in retrieved.passages][: request.context_k or request.top_k]
        follow_up = question != request.question
        searched: dict[str, float] = {}
        search = functools.partial(self._search_within, request, searched)
        context = AnswerContext(analysis, top, retrieved, self.retriever, llm, follow_up, search, searched)
        return PreparedRequest(self, request, question, context, t0, time.perf_counter())

    def finish(self, prepared: PreparedRequest, streamed_reply: str | None = None) -> PipelineResult:
        """Answer, verify, render. `streamed_reply`: the LLM's answer already streamed to the client (used when
        the stream ended well, i.e. the session is still live; otherwise the other answerers answer)."""
        ctx = prepared.context
        if streamed_reply is not None and ctx.llm.active:
            llm_answerer = next(a for a in self.answerers if isinstance(a, LLMAnswerer))
            answerer, draft = llm_answerer, llm_answerer.read_reply(streamed_reply, ctx)
        else:
            answerer, draft = self._answer(ctx)
        passages = [p.chunk for p in ctx.retrieved.passages]
        draft = self.verifier.check(draft, passages, ctx.analysis.question, answerer.free_text)
        text, citations = render(draft, ctx.searched_scores | {p.chunk.id: p.score for p in ctx.retrieved.passages})
        t2 = time.perf_counter()
        return PipelineResult(
            question=prepared.question,
            analysis=ctx.analysis,
            retrieved=ctx.retrieved,
            draft=draft,
            answer=text,
            citations=citations,
            mode=answerer.mode,
            fallback=ctx.llm.fallback,
            retrieve_ms=(prepared.retrieved_at - prepared.started) * 1000,
            answer_ms=(t2 - prepared.retrieved_at) * 1000,
        )

    def _retrieve(self, queries: list[str], analysis: QueryAnalysis, request: PipelineRequest) -> RetrievalResult:
        """One retrieval per query (each rewrite analysed on its own), fused by reciprocal rank."""
        depth = max(self.config.retrieval_depth, request.top_k)
        doc_ids = list(request.doc_ids) if request.doc_ids else None
        results = []
        for q in queries:
            qa = analysis if q == analysis.text else self.analyzer.analyze(q, request.doc_ids)
            rq = RetrievalQuery(query=q, top_k=depth, doc_ids=doc_ids, heading_prefix=request.heading_prefix)
            results.append(self.retriever.retrieve(rq, qa))
        return results[0] if len(results) == 1 else fuse_queries(results, depth, self.config.rrf_k)

    def _search_within(self, request: PipelineRequest, searched: dict[str, float], query: str, top_k: int,
                       within: Collection[str] | None = None) -> RetrievalResult:
        """One more query (an answerer's) through the same retriever, within the request's documents and headings
        (and `within`, when given); each passage's score is kept in `searched` for its citation."""
        doc_ids = list(request.doc_ids) if request.doc_ids else None
        if within is not None:
            doc_ids = sorted(set(within) & set(doc_ids)) if doc_ids else sorted(within)
            if not doc_ids:  # no document both: nothing, never the whole corpus (an empty filter is no filter)
                return RetrievalResult([])
        rq = RetrievalQuery(query=query, top_k=top_k, doc_ids=doc_ids, heading_prefix=request.heading_prefix)
        result = self.retriever.retrieve(rq, self.analyzer.analyze(query, request.doc_ids))
        for p in result.passages:
            searched.setdefault(p.chunk.id, p.score)
        return result

    def _answer(self, ctx: AnswerContext) -> tuple[Answerer, DraftAnswer]:
        for answerer in self.answerers:
            draft = answerer.answer(ctx)
            if draft is not None:
                return answerer, draft
        raise RuntimeError("every answerer passed; the last one must always answer")


def fuse_queries(results: Sequence[RetrievalResult], depth: int, k: int) -> RetrievalResult:
    """Reciprocal-rank fusion of the rankings of several queries (the original question's first);
    scores are normalised to the best."""
    fused: dict[str, float] = {}
    by_id = {}
    for r in results:
        for rank, p in enumerate(r.passages, start=1):
            fused[p.chunk.id] = fused.get(p.chunk.id, 0.0) + 1.0 / (k + rank)
            by_id.setdefault(p.chunk.id, p)
    order = sorted(fused, key=lambda i: -fused[i])[:depth]
    top = max(fused.values(), default=1.0)
    passages = []
    for pid in order:
        p = by_id[pid]
        p.score = fused[pid] / top
        passages.append(p)
    return RetrievalResult(passages=passages)


def extractive_answerer(
    settings: Settings, place_docs: Callable[[str], set[str] | frozenset[str]] | None, similarity: Similarity | None
) -> Answerer:
    """The last answerer: the learned one (settings.answerer == "ranked", the default) or the hand-set rules."""
    if settings.answerer == "rules":
        return ExtractiveAnswerer(settings.extractive_config(), place_docs)
    config = settings.ranked_config()
    return RankedAnswerer(load_answer_model(config.model_path), config, place_docs, similarity)


def build_pipeline(
    settings: Settings,
    *,
    retriever: PassageRetriever,
    tokenize: Callable[[str], list[str]],
    term_weight: Callable[[str], float] | None = None,
    scope_detector: ScopeDetector | None = None,
    documents: Mapping[str, Document] | None = None,
    place_docs: Callable[[str], set[str] | frozenset[str]] | None = None,
    llm: LLMClient | None = None,
    similarity: Similarity | None = None,
) -> AnswerPipeline:
    """The pipeline with its configs taken from settings. Without documents there is no reporter
    answerer, without a scope detector no scope, without place_docs no place filter (small corpora
    in tests); the service passes them all."""
    answerers: list[Answerer] = [LLMAnswerer()]
    if documents is not None:
        answerers += [ReporterAnswerer(documents), DocumentDateAnswerer(documents)]
    answerers += [ComparisonAnswerer(place_docs), FollowUpFigureAnswerer(place_docs)]
    answerers.append(extractive_answerer(settings, place_docs, similarity))
    config = settings.pipeline_config()
    return AnswerPipeline(
        analyzer=QueryAnalyzer(tokenize, term_weight, scope_detector),
        retriever=retriever,
        answerers=tuple(answerers),
        verifier=Verifier(tokenize, config.min_support, config.unsupported_sentences),
        condenser=Condenser(),
        rewriter=QueryRewriter(),
        llm=llm,
        config=config,
    )
