"""Systems under evaluation: anything that ranks passages for a question (and optionally answers it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class Ranked:
    passage_id: str
    text: str
    kind: str
    score: float


class RetrievalSystem(Protocol):
    name: str

    def rank(self, question: str, depth: int) -> list[Ranked]: ...

    def all_texts(self) -> list[str]: ...


class ReportQARetrieval:
    """reportqa's own Retriever, in-process."""

    name = "reportqa"

    def __init__(self, retriever) -> None:
        self.retriever = retriever

    def rank(self, question: str, depth: int) -> list[Ranked]:
        from qa_service.retriever import RetrievalQuery

        result = self.retriever.retrieve(RetrievalQuery(query=question, top_k=depth))
        return [Ranked(p.chunk.id, p.chunk.text, p.chunk.kind, p.score) for p in result.passages]

    def all_texts(self) -> list[str]:
        return [c.text for c in self.retriever.chunks]
