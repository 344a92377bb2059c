"""Systems under evaluation: anything that ranks passages for a question and (optionally) answers it.

A system hands the runner plain records (Ranked, CitedPassage, SystemAnswer) so the same metrics apply to
reportqa in-process, reportqa over HTTP (eval.http_system) and the baselines (eval.baselines). Every in-process
system answers through the same qa_service AnswerPipeline; a retrieval baseline swaps only its retriever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.models import Chunk
from qa_service.analysis import QueryAnalysis
from qa_service.pipeline import AnswerPipeline, PipelineRequest
from qa_service.retriever import PassageRetriever, RetrievalQuery, RetrievalResult, RetrievedPassage, first_text_chunks
from qa_service.schemas import Turn

log = logging.getLogger(__name__)


@dataclass
class Ranked:
    passage_id: str
    text: str
    kind: str
    score: float


@dataclass
class CitedPassage:
    """A rendered citation `[n]`: the passage it names and the quote the answerer took from it."""

    n: int
    passage_id: str
    text: str
    quote: str


@dataclass
class SystemAnswer:
    answer: str
    abstained: bool
    citations: list[CitedPassage]
    retrieved: list[Ranked]  # the depth-10 (or deeper) ranking the answer was drawn from
    retrieve_ms: float
    fallback: str | None = None
    mode: str = "extractive"
    abstain_probability: float | None = None  # the answerability model's P(wrong or unanswerable)
    abstain_reason: str | None = None


class RetrievalSystem(Protocol):
    name: str

    def rank(self, question: str, depth: int) -> list[Ranked]: ...

    def all_texts(self) -> list[str]: ...


class AnsweringSystem(RetrievalSystem, Protocol):
    def answer(self, question: str, top_k: int, mode: str, history: Sequence[Mapping[str, str]] = ()) -> SystemAnswer:
        """Answer `question`; a follow-up's earlier turns ({"role", "content"}) are its conversation history."""
        ...

    def context_k(self, top_k: int) -> int:
        """How many passages the answerer is handed (context_chars counts these)."""
        ...

    def describe(self) -> dict[str, Any]: ...


class PipelineSystem:
    """A system that answers through qa_service's AnswerPipeline: reportqa itself and every baseline.

    Systems differ in the pipeline they are given; a retrieval baseline's is reportqa's with another
    retriever (`pipeline.with_retriever`), so it differs from reportqa by its retrieval alone.
    """

    def __init__(self, name: str, pipeline: AnswerPipeline, *, fixed_k: int | None = None, config: dict[str, Any] | None = None) -> None:
        self.name = name
        self.pipeline = pipeline
        self.fixed_k = fixed_k
        self.config = config or {}

    @property
    def retriever(self) -> PassageRetriever:
        return self.pipeline.retriever

    def rank(self, question: str, depth: int) -> list[Ranked]:
        result = self.pipeline.search(RetrievalQuery(query=question, top_k=depth))
        return [Ranked(p.chunk.id, p.chunk.text, p.chunk.kind, p.score) for p in result.passages]

    def all_texts(self) -> list[str]:
        return [c.text for c in self.retriever.chunks]

    def context_k(self, top_k: int) -> int:
        """How many passages the answerers are handed (context_chars counts these)."""
        return self.fixed_k or top_k

    def answer(self, question: str, top_k: int, mode: str, history: Sequence[Mapping[str, str]] = ()) -> SystemAnswer:
        turns = tuple(Turn(role=t["role"], content=t["content"]) for t in history)
        res = self.pipeline.run(PipelineRequest(question=question, top_k=top_k, mode=mode, history=turns, context_k=self.fixed_k))
        return SystemAnswer(
            answer=res.answer,
            abstained=res.abstained,
            abstain_probability=res.abstain_probability,
            abstain_reason=res.abstain_reason,
            citations=[CitedPassage(c.n, c.chunk.id, c.chunk.text, c.quote) for c in res.citations],
            retrieved=[Ranked(p.chunk.id, p.chunk.text, p.chunk.kind, p.score) for p in res.retrieved.passages],
            retrieve_ms=res.retrieve_ms,
            fallback=res.fallback,
            mode=res.mode,
        )

    def describe(self) -> dict[str, Any]:
        return {"system": self.name, **self.config}


class ReportQASystem(PipelineSystem):
    """reportqa in-process: the pipeline QAService.ask (and so /v1/ask) runs, or that pipeline with an
    ablated retriever (`pipeline=`)."""

    def __init__(self, service: Any, name: str = "reportqa", pipeline: AnswerPipeline | None = None) -> None:
        super().__init__(name, pipeline or service.pipeline())
        self.service = service

    def describe(self) -> dict[str, Any]:
        cfg = self.retriever.config
        return {
            "system": self.name,
            "index": self.service.loaded().index.manifest.to_dict(),
            "fusion_weights": dict(cfg.weights),
            "rrf_k": cfg.rrf_k,
            "scope": cfg.use_scope,
            "boosts": cfg.use_boosts,
        }


class RankerRetriever:
    """A baseline's retrieval step: its own chunks and ranking function behind the PassageRetriever protocol.

    `ranker(question, depth)` returns (chunk rows, scores) best first. It ranks the whole corpus. A `doc_ids`
    filter (the comparison answerer reads a mention within the documents naming its place) keeps that ranking's
    passages of those documents; `heading_prefix` is reportqa's own and is refused here.
    """

    def __init__(self, chunks: list[Chunk], ranker: Callable[[str, int], tuple[list[int], list[float]]]) -> None:
        self.chunks = chunks
        self.ranker = ranker
        self._openings = first_text_chunks(chunks)

    def retrieve(self, query: RetrievalQuery, analysis: QueryAnalysis) -> RetrievalResult:
        if query.heading_prefix:
            raise ValueError("a baseline ranker does not filter by heading_prefix")
        if query.doc_ids:
            wanted = set(query.doc_ids)
            ranked = zip(*self.ranker(query.query, len(self.chunks)))
            kept = [(i, s) for i, s in ranked if self.chunks[i].doc_id in wanted]
            rows, scores = [i for i, _ in kept], [s for _, s in kept]
        else:
            rows, scores = self.ranker(query.query, query.top_k)
        rows, scores = rows[: query.top_k], scores[: query.top_k]
        return RetrievalResult(passages=[RetrievedPassage(self.chunks[i], float(s)) for i, s in zip(rows, scores)])

    def opening(self, doc_id: str) -> Chunk | None:
        return self._openings.get(doc_id)


class ChunkRankingSystem(PipelineSystem):
    """A baseline with its own chunks and ranking function, answered by reportqa's pipeline (`base`)."""

    def __init__(
        self,
        name: str,
        chunks: list[Chunk],
        ranker: Callable[[str, int], tuple[list[int], list[float]]],
        base: AnswerPipeline,
        *,
        fixed_k: int | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name, base.with_retriever(RankerRetriever(chunks, ranker)), fixed_k=fixed_k, config=config)
        self.chunks = chunks

    def describe(self) -> dict[str, Any]:
        return {"system": self.name, "chunks": len(self.chunks), **self.config}
