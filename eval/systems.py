"""Systems under evaluation: anything that ranks passages for a question and (optionally) answers it.

A system hands the runner plain records (Ranked, CitedPassage, SystemAnswer) so the same metrics apply to
reportqa in-process, reportqa over HTTP (eval.http_system) and the baselines (eval.baselines).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest.models import Chunk

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


class RetrievalSystem(Protocol):
    name: str

    def rank(self, question: str, depth: int) -> list[Ranked]: ...

    def all_texts(self) -> list[str]: ...


class AnsweringSystem(RetrievalSystem, Protocol):
    def answer(self, question: str, top_k: int, mode: str) -> SystemAnswer: ...

    def context_k(self, top_k: int) -> int:
        """How many passages the answerer is handed (context_chars counts these)."""
        ...

    def describe(self) -> dict[str, Any]: ...


def ranked_from_chunks(chunks: Sequence[Chunk], scores: Sequence[float]) -> list[Ranked]:
    return [Ranked(c.id, c.text, c.kind, float(s)) for c, s in zip(chunks, scores)]


class ReportQARetrieval:
    """reportqa's own Retriever, in-process (retrieval only)."""

    name = "reportqa"

    def __init__(self, retriever) -> None:
        self.retriever = retriever

    def rank(self, question: str, depth: int) -> list[Ranked]:
        from qa_service.retriever import RetrievalQuery

        result = self.retriever.retrieve(RetrievalQuery(query=question, top_k=depth))
        return [Ranked(p.chunk.id, p.chunk.text, p.chunk.kind, p.score) for p in result.passages]

    def all_texts(self) -> list[str]:
        return [c.text for c in self.retriever.chunks]


class ReportQASystem(ReportQARetrieval):
    """reportqa in-process: QAService.ask, exactly what /v1/ask runs."""

    def __init__(self, service, name: str = "reportqa") -> None:
        self.service = service
        self.name = name
        super().__init__(service.loaded().retriever)

    def answer(self, question: str, top_k: int, mode: str) -> SystemAnswer:
        from qa_service.schemas import AskRequest

        res = self.service.ask(AskRequest(question=question, top_k=top_k, mode=mode))
        retrieved = []
        for ref in res.retrieved:
            chunk = self.retriever.chunk(ref.passage_id)
            if chunk is not None:
                retrieved.append(Ranked(chunk.id, chunk.text, chunk.kind, ref.score))
        return SystemAnswer(
            answer=res.answer,
            abstained=res.abstained,
            citations=[CitedPassage(c.n, c.passage_id, c.text, c.quote) for c in res.citations],
            retrieved=retrieved,
            retrieve_ms=res.timings_ms.retrieve,
            fallback=res.fallback,
            mode=res.mode,
        )

    def context_k(self, top_k: int) -> int:
        return top_k

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


@dataclass
class ExtractiveOverPassages:
    """reportqa's extractive answerer, citation check and renderer over any ranked Chunk list.

    The same three steps QAService.ask runs in extractive mode (no scope groups: only reportqa's retriever
    detects comparisons), so a baseline differs from reportqa by its retrieval alone.
    """

    tokenize: Callable[[str], list[str]]
    idf: Callable[[str], float] | None = None
    abstain_below: float = 0.35
    _answerer: Any = field(default=None, init=False, repr=False)

    def __call__(self, question: str, chunks: Sequence[Chunk], scores: Sequence[float], top_k: int) -> tuple[str, bool, list[CitedPassage]]:
        from qa_service.citations import verify
        from qa_service.claims import render
        from qa_service.extractive import ExtractiveAnswerer, ExtractiveConfig
        from qa_service.question import analyze

        if self._answerer is None:
            self._answerer = ExtractiveAnswerer(ExtractiveConfig(abstain_below=self.abstain_below))
        q = analyze(question, self.tokenize, self.idf)
        draft = self._answerer.answer(q, list(chunks[:top_k]))
        draft = verify(draft, list(chunks), self.tokenize)
        text, cites = render(draft, {c.id: float(s) for c, s in zip(chunks, scores)})
        return text, draft.abstained, [CitedPassage(c.n, c.chunk.id, c.chunk.text, c.quote) for c in cites]


class ChunkRankingSystem:
    """A baseline: its own chunks and ranking function, answered by reportqa's extractive answerer.

    `ranker(question, depth)` returns (chunk rows, scores) best first.
    """

    def __init__(
        self,
        name: str,
        chunks: list[Chunk],
        ranker: Callable[[str, int], tuple[list[int], list[float]]],
        answerer: ExtractiveOverPassages,
        *,
        fixed_k: int | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.chunks = chunks
        self.ranker = ranker
        self.answerer = answerer
        self.fixed_k = fixed_k
        self.config = config or {}

    def _ranked(self, question: str, depth: int) -> tuple[list[Chunk], list[float]]:
        rows, scores = self.ranker(question, depth)
        return [self.chunks[i] for i in rows[:depth]], list(scores[:depth])

    def rank(self, question: str, depth: int) -> list[Ranked]:
        chunks, scores = self._ranked(question, depth)
        return ranked_from_chunks(chunks, scores)

    def all_texts(self) -> list[str]:
        return [c.text for c in self.chunks]

    def context_k(self, top_k: int) -> int:
        return self.fixed_k or top_k

    def answer(self, question: str, top_k: int, mode: str) -> SystemAnswer:
        t0 = time.perf_counter()
        chunks, scores = self._ranked(question, max(10, top_k))
        retrieve_ms = (time.perf_counter() - t0) * 1000
        text, abstained, cites = self.answerer(question, chunks, scores, self.context_k(top_k))
        return SystemAnswer(text, abstained, cites, ranked_from_chunks(chunks, scores), retrieve_ms)

    def describe(self) -> dict[str, Any]:
        return {"system": self.name, "chunks": len(self.chunks), **self.config}
