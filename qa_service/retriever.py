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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ingest.index_reader import IndexReader
from ingest.models import Chunk
from ingest.zh import match_key
from ingest.zh.question import DEFINITION_TERM_SPLIT_RE

from .config import RetrieverConfig
from .fusion import Fusion, fuse
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
        # An index without these lookups (another store behind the same ranking methods) gets them built here.
        self._by_id: dict[str, int] = getattr(index, "chunk_pos", None) or {c.id: i for i, c in enumerate(self.chunks)}
        self._doc_rows = getattr(index, "doc_rows", None) or _rows_by_doc(self.chunks)
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
        fused = base
        if scope.doc_ids:
            # Scope is a soft signal: the ranking of the question's remaining words inside the named
            # documents is fused with the global ranking, so a wrong scope guess cannot hide the evidence.
            if scope.is_comparison:
                scoped = _interleave_ids([self._fuse_arms(q.query, scope.residual_query, self._restrict(allowed, g)).rows for g in scope.groups])
            else:
                scoped = self._fuse_arms(q.query, scope.residual_query, self._restrict(allowed, scope.doc_ids)).rows
            fused = fuse({"base": base.rows, "scope": scoped}, {"base": 1.0, "scope": self.config.scope_weight}, self.config.rrf_k)
        # Only as many passages are made as the query returns (the reranker reads more).
        need = max(q.top_k * 3, 20) if self.reranker is not None else q.top_k
        ranked = self._finish(analysis.cues, fused, base, need)
        if self.reranker is not None and ranked:
            ranked = self._rerank(q.query, ranked[: max(q.top_k * 3, 20)])
        return RetrievalResult(passages=ranked[: q.top_k])

    # -- ranking -------------------------------------------------------------------------------

    def _fuse_arms(self, question: str, ranking_query: str, mask: np.ndarray | None) -> Fusion:
        """Weighted RRF of the arms: rows best first, their fused scores and each arm's 1-based rank."""
        depth, weights = self.config.candidate_depth, self.config.weights
        rankings: dict[str, list[int]] = {}
        index = self.index
        arms = index.arms  # a property that builds its list: read once
        if "word" in arms and weights.get("word", 0) > 0:
            rankings["word"] = index.rank_word(index.tokenizer.tokenize(ranking_query), depth, mask)
        if "char" in arms and weights.get("char", 0) > 0:
            rankings["char"] = index.rank_char(index.tokenizer.char_tokens(ranking_query), depth, mask)
        if "dense" in arms and weights.get("dense", 0) > 0:
            rankings["dense"] = index.rank_dense(question, depth, mask)
        return fuse(rankings, self.config.weights, self.config.rrf_k)

    def _finish(self, cues: RetrievalCues, fused: Fusion, base: Fusion, need: int) -> list[RetrievedPassage]:
        """Normalise fused scores to (0, 1], apply domain boosts, sort, collapse duplicates; the first `need`
        passages, with the arms' ranks of the unscoped ranking (`base`).

        Why not all candidates: a boost is at most `max_boost`, so once the `need`-th passage kept scores above
        max_boost x the next candidate's normalised score, no later candidate can reach the result. The passages
        and their order are those of boosting, sorting (stable) and collapsing every candidate."""
        if fused.rows.size == 0:
            return []
        rows, norm = fused.rows.tolist(), fused.scores
        top = norm.max()
        if top > 0:
            norm = norm / top
        norm = norm.tolist()
        boost = self._booster(cues) if self.config.use_boosts else None
        ceiling = boost.ceiling if boost is not None else 1.0
        scored: list[tuple[float, int, int]] = []  # (-final score, position in fused order, row)
        kept: list[int] = []
        step, done = max(need, 16), 0
        while done < len(rows):
            end = min(len(rows), done + step)
            for j in range(done, end):
                s = norm[j] * boost(rows[j]) if boost is not None else norm[j]
                scored.append((-s, j, rows[j]))
            done, step = end, step * 2
            scored.sort()
            kept = self._collapse_rows([r for _, _, r in scored], need)
            if done < len(rows) and len(kept) >= need and -scored[kept[need - 1]][0] > norm[done] * ceiling:
                break
        return [
            RetrievedPassage(chunk=self.chunks[scored[p][2]], score=float(-scored[p][0]), ranks=_ranks(base, scored[p][2]))
            for p in kept[:need]
        ]

    def _booster(self, cues: RetrievalCues) -> _Booster | None:
        terms = [t for t in self._glossary_terms if t in cues.norm] if cues.wants_definition else []
        if not (cues.numbers or cues.times or terms):
            return None
        return _Booster(self.config, self.chunks, cues.numbers, tuple(cues.times), terms)

    def _definition_terms(self) -> list[str]:
        terms = set()
        for entry in self.index.glossary:
            for t in DEFINITION_TERM_SPLIT_RE.split(entry.term):
                t = match_key(t).strip("*")
                if len(t) >= 2:
                    terms.add(t)
        return sorted(terms, key=len, reverse=True)

    # -- filters and duplicates ----------------------------------------------------------------

    def _allowed_mask(self, doc_ids: list[str] | None, heading_prefix: str | None) -> np.ndarray | None:
        if not doc_ids and not heading_prefix:
            return None
        mask = self._doc_mask(doc_ids) if doc_ids else np.ones(len(self.chunks), dtype=bool)
        if heading_prefix:
            mask &= self.index.heading_mask(heading_prefix)
        return mask

    def _restrict(self, mask: np.ndarray | None, doc_ids: list[str]) -> np.ndarray:
        scoped = self._doc_mask(doc_ids)
        return scoped if mask is None else (mask & scoped)

    def _doc_mask(self, doc_ids: Sequence[str]) -> np.ndarray:
        """Rows of the given documents (unknown ids match nothing), set from each document's rows listed at load
        rather than by comparing every chunk's doc_id."""
        mask = np.zeros(len(self.chunks), dtype=bool)
        for d in set(doc_ids):
            mask[self._doc_rows(d)] = True
        return mask

    def _collapse_rows(self, rows: Sequence[int], need: int) -> list[int]:
        """Positions in `rows` kept when a table_row and its table say the same thing (whichever ranks first is
        kept), up to `need` of them."""
        seen_tables: set[str] = set()
        out: list[int] = []
        for p, i in enumerate(rows):
            c = self.chunks[i]
            family = c.parent_id if c.kind == "table_row" and c.parent_id else c.id if c.kind == "table" else None
            if family is not None:
                if family in seen_tables:
                    continue
                seen_tables.add(family)
            out.append(p)
            if len(out) >= need:
                break
        return out

    def _rerank(self, question: str, ranked: list[RetrievedPassage]) -> list[RetrievedPassage]:
        scores = self.reranker.predict([(question, p.chunk.text) for p in ranked])
        for p, s in zip(ranked, scores):
            p.score = float(s)
        return sorted(ranked, key=lambda p: -p.score)

    def chunk(self, passage_id: str) -> Chunk | None:
        i = self._by_id.get(passage_id)
        return None if i is None else self.chunks[i]


def _interleave_ids(lists: list[np.ndarray]) -> list[int]:
    """Merge per-scope rankings round-robin so each compared document is represented at the top."""
    out: list[int] = []
    seen: set[int] = set()
    lists = [r.tolist() for r in lists]
    for rank in range(max((len(r) for r in lists), default=0)):
        for r in lists:
            if rank < len(r) and r[rank] not in seen:
                seen.add(r[rank])
                out.append(r[rank])
    return out


def _rows_by_doc(chunks: Sequence[Chunk]) -> Callable[[str], np.ndarray]:
    rows: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        rows.setdefault(c.doc_id, []).append(i)
    arrays = {d: np.asarray(r, dtype=np.int64) for d, r in rows.items()}
    none = np.zeros(0, dtype=np.int64)
    return lambda doc_id: arrays.get(doc_id, none)


def _ranks(base: Fusion, row: int) -> dict[str, int | None]:
    ranks = base.ranks
    return {arm: ranks[arm].get(row) if arm in ranks else None for arm in ARMS}


class _Booster:
    """Multiplicative boosts for the figures, time scopes and glossary terms a question names, per candidate row."""

    def __init__(self, cfg: RetrieverConfig, chunks: Sequence[Chunk], numbers: Sequence[str], times: Sequence[str], terms: list[str]):
        self.cfg, self.chunks, self.numbers, self.times, self.terms = cfg, chunks, numbers, times, terms
        # the largest boost any passage can get: bounds what a candidate not yet boosted can reach
        self.ceiling = 1.0 + cfg.number_boost * len(numbers) + cfg.time_boost * len(times) + (cfg.definition_boost if terms else 0.0)

    def __call__(self, row: int) -> float:
        cfg, chunk = self.cfg, self.chunks[row]
        text = match_key(chunk.text)  # only the candidates, cached across queries
        b = 1.0
        if self.numbers:
            b += cfg.number_boost * sum(1 for n in self.numbers if n in text)
        if self.times:
            b += cfg.time_boost * sum(1 for t in self.times if t in text)
        if self.terms and chunk.kind == "definition":
            if any(text.startswith(t) or t in text[: len(t) + 6] for t in self.terms):
                b += cfg.definition_boost
        return b
