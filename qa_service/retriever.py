"""The Retriever component: hybrid ranking over the index's arms with scope awareness and domain boosts.

    >>> from ingest.index_reader import load_index
    >>> from qa_service.analysis import QueryAnalyzer
    >>> from qa_service.config import Settings
    >>> from qa_service.scope import ScopeDetector
    >>> settings = Settings()
    >>> index = load_index("index")
    >>> r = Retriever(index, settings.retriever_config())
    >>> analyzer = QueryAnalyzer(index.tokenizer.tokenize, None, ScopeDetector.for_index(index, settings.scope_config()))
    >>> question = "川沙新镇1-7月财政总收入是多少？"
    >>> hits = r.retrieve(RetrievalQuery(query=question, top_k=5), analyzer.analyze(question))
    >>> hits.passages[0].chunk.text[:20]

Stages: per-arm candidates (word BM25, char BM25, dense) -> weighted RRF, fused with the ranking inside
the documents the question names (its QueryAnalysis scope) -> domain boosts (figures, time scopes,
glossary terms) -> filters -> near-duplicate collapse -> optional cross-encoder rerank. `/v1/search`
and `/v1/ask` both run it through qa_service.pipeline, so they rank alike.

In the service the AnswerPipeline does the analysis (`pipeline.search(query)`). Any object with `chunks`,
`retrieve` and `opening` (the PassageRetriever protocol) can stand in for it there: the eval baselines do.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ingest.index_reader import IndexReader
from ingest.models import Chunk
from ingest.zh import match_key

from .config import RetrieverConfig
from .fusion import weighted_rrf
from .scope import Scope

if TYPE_CHECKING:
    from .analysis import QueryAnalysis, RetrievalCues

log = logging.getLogger(__name__)

ARMS: tuple[str, ...] = ("word", "char", "dense")
__all__ = ["ARMS", "PassageRetriever", "RetrievalQuery", "RetrievalResult", "RetrievedPassage", "Retriever", "RetrieverConfig"]


@dataclass
class RetrievalQuery:
    """Typed input of the Retriever."""

    query: str
    top_k: int = 10
    doc_ids: list[str] | None = None
    heading_prefix: str | None = None

    def __post_init__(self) -> None:
        if not self.query or not self.query.strip():
            raise ValueError("query must not be empty")
        if not 1 <= self.top_k <= 1000:
            raise ValueError(f"top_k must be between 1 and 1000. Currently, the top_k is {self.top_k}")


@dataclass
class RetrievedPassage:
    """Typed output: a chunk, its final score and each arm's 1-based rank (None where absent)."""

    chunk: Chunk
    score: float
    ranks: dict[str, int | None] = field(default_factory=dict)


@dataclass
class RetrievalResult:
    """Typed output of a retriever: passages best first."""

    passages: list[RetrievedPassage]


class PassageRetriever(Protocol):
    """The retrieval step of the answer pipeline: the one component a retrieval baseline swaps."""

    chunks: Sequence[Chunk]  # the corpus it ranks

    def retrieve(self, query: RetrievalQuery, analysis: QueryAnalysis) -> RetrievalResult: ...

    def opening(self, doc_id: str) -> Chunk | None:
        """The document's opening passage in this corpus (title, date and reporter lines)."""
        ...


def first_text_chunks(chunks: Sequence[Chunk]) -> dict[str, Chunk]:
    """Each document's text chunk that starts first (the first one listed on a tie)."""
    first: dict[str, Chunk] = {}
    for c in chunks:
        if c.kind == "text" and (c.doc_id not in first or c.start < first[c.doc_id].start):
            first[c.doc_id] = c
    return first


class Retriever:
    """Hybrid retriever over a loaded index (see module docstring for an example)."""

    def __init__(self, index: IndexReader, config: RetrieverConfig, reranker: Any | None = None):
        self.index = index
        self.config = config
        self.reranker = reranker
        self.chunks: list[Chunk] = index.chunks
        self._doc_of = np.array([c.doc_id for c in self.chunks], dtype=object)
        self._by_id = {c.id: i for i, c in enumerate(self.chunks)}
        self._glossary_terms = self._definition_terms()

    @property
    def arms(self) -> list[str]:
        return list(self.index.arms)

    def opening(self, doc_id: str) -> Chunk | None:
        return self.index.first_chunk(doc_id)  # computed once at load (ingest.lookups)

    def retrieve(self, q: RetrievalQuery, analysis: QueryAnalysis) -> RetrievalResult:
        if analysis.text != q.query:
            raise ValueError("the analysis is of another query")
        scope = analysis.scope if self.config.use_scope else Scope(residual_query=q.query)
        allowed = self._allowed_mask(q.doc_ids, q.heading_prefix)
        base = self._fuse_arms(q.query, q.query, allowed)
        if scope.doc_ids:
            # Scope is a soft signal: the ranking of the question's remaining words inside the named
            # documents is fused with the global ranking, so a wrong scope guess cannot hide the evidence.
            if scope.is_comparison:
                scoped = _interleave_ids([self._fuse_arms(q.query, scope.residual_query, self._restrict(allowed, g)) for g in scope.groups])
            else:
                scoped = self._fuse_arms(q.query, scope.residual_query, self._restrict(allowed, scope.doc_ids))
            order, fused, _ = weighted_rrf({"base": base[0], "scope": scoped[0]}, {"base": 1.0, "scope": self.config.scope_weight}, self.config.rrf_k)
            arm_ranks = base[1]
        else:
            order, fused, arm_ranks = base[0], base[2], base[1]
        ranked = self._finish(analysis.cues, order, fused, arm_ranks)
        ranked = self._collapse_duplicates(ranked)
        if self.reranker is not None and ranked:
            ranked = self._rerank(q.query, ranked[: max(q.top_k * 3, 20)])
        return RetrievalResult(passages=ranked[: q.top_k])

    # -- ranking -------------------------------------------------------------------------------

    def _fuse_arms(self, question: str, ranking_query: str, mask: np.ndarray | None) -> tuple[list[int], dict[int, dict[str, int]], dict[int, float]]:
        """Weighted RRF of the arms: (rows best first, 1-based rank per arm per row, fused score per row)."""
        depth = self.config.candidate_depth
        rankings: dict[str, list[int]] = {}
        index = self.index
        if "word" in index.arms and self.config.weights.get("word", 0) > 0:
            rankings["word"] = index.rank_word(index.tokenizer.tokenize(ranking_query), depth, mask)
        if "char" in index.arms and self.config.weights.get("char", 0) > 0:
            rankings["char"] = index.rank_char(index.tokenizer.char_tokens(ranking_query), depth, mask)
        if "dense" in index.arms and self.config.weights.get("dense", 0) > 0:
            rankings["dense"] = index.rank_dense(question, depth, mask)
        order, fused, arm_ranks = weighted_rrf(rankings, self.config.weights, self.config.rrf_k)
        return order, arm_ranks, fused

    def _finish(self, cues: RetrievalCues, order: list[int], fused: dict[int, float], arm_ranks: dict[int, dict[str, int]]) -> list[RetrievedPassage]:
        """Normalise fused scores to (0, 1], apply domain boosts, attach per-arm ranks."""
        if not order:
            return []
        scores = np.array([fused[i] for i in order])
        scores = scores / scores.max() if scores.max() > 0 else scores
        if self.config.use_boosts:
            scores = scores * self._boosts(cues, order)
        final = sorted(zip(order, scores), key=lambda t: -t[1])
        return [
            RetrievedPassage(
                chunk=self.chunks[i],
                score=float(s),
                ranks={arm: arm_ranks.get(i, {}).get(arm) for arm in ARMS},
            )
            for i, s in final
        ]

    def _boosts(self, cues: RetrievalCues, order: Sequence[int]) -> np.ndarray:
        """Multiplicative boosts for the figures, time scopes and glossary terms the question names."""
        cfg = self.config
        numbers, times = cues.numbers, cues.times
        terms = [t for t in self._glossary_terms if t in cues.norm] if cues.wants_definition else []
        boosts = np.ones(len(order))
        for j, i in enumerate(order):
            text = match_key(self.chunks[i].text)  # only the candidates, cached across queries
            b = 1.0
            if numbers:
                b += cfg.number_boost * sum(1 for n in numbers if n in text)
            if times:
                b += cfg.time_boost * sum(1 for t in times if t in text)
            if terms and self.chunks[i].kind == "definition":
                if any(text.startswith(t) or t in text[: len(t) + 6] for t in terms):
                    b += cfg.definition_boost
            boosts[j] = b
        return boosts

    def _definition_terms(self) -> list[str]:
        terms = set()
        for entry in self.index.glossary:
            for t in re.split(r"[“”\"、]+", entry.term):
                t = match_key(t).strip("*")
                if len(t) >= 2:
                    terms.add(t)
        return sorted(terms, key=len, reverse=True)

    # -- filters and duplicates ----------------------------------------------------------------

    def _allowed_mask(self, doc_ids: list[str] | None, heading_prefix: str | None) -> np.ndarray | None:
        if not doc_ids and not heading_prefix:
            return None
        mask = np.ones(len(self.chunks), dtype=bool)
        if doc_ids:
            mask &= np.isin(self._doc_of, list(doc_ids))
        if heading_prefix:
            mask &= self.index.heading_mask(heading_prefix)
        return mask

    def _restrict(self, mask: np.ndarray | None, doc_ids: list[str]) -> np.ndarray:
        scoped = np.isin(self._doc_of, doc_ids)
        return scoped if mask is None else (mask & scoped)

    def _collapse_duplicates(self, ranked: list[RetrievedPassage]) -> list[RetrievedPassage]:
        """A table_row and its table say the same thing: keep whichever ranks first."""
        seen_tables: set[str] = set()
        out: list[RetrievedPassage] = []
        for p in ranked:
            c = p.chunk
            family = c.parent_id if c.kind == "table_row" and c.parent_id else c.id if c.kind == "table" else None
            if family is not None:
                if family in seen_tables:
                    continue
                seen_tables.add(family)
            out.append(p)
        return out

    def _rerank(self, question: str, ranked: list[RetrievedPassage]) -> list[RetrievedPassage]:
        scores = self.reranker.predict([(question, p.chunk.text) for p in ranked])
        for p, s in zip(ranked, scores):
            p.score = float(s)
        return sorted(ranked, key=lambda p: -p.score)

    def chunk(self, passage_id: str) -> Chunk | None:
        i = self._by_id.get(passage_id)
        return None if i is None else self.chunks[i]


def _interleave_ids(fusions: list[tuple[list[int], dict, dict]]) -> tuple[list[int], dict, dict]:
    """Merge per-scope rankings round-robin so each compared document is represented at the top."""
    out: list[int] = []
    seen: set[int] = set()
    lists = [f[0] for f in fusions]
    for rank in range(max((len(r) for r in lists), default=0)):
        for r in lists:
            if rank < len(r) and r[rank] not in seen:
                seen.add(r[rank])
                out.append(r[rank])
    return out, {}, {}
