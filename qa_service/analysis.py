"""QueryAnalysis: what a question asks and which documents it names, computed once per request.

The retriever reads its cues (figures, time scopes, a definition ask) and the scope; the answerers read
the question analysis (terms, weights, intents, places) and the scope. Nothing downstream re-derives them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.zh import bare_numbers, match_key
from ingest.zh.question import RETRIEVAL_DEFINITION_RE
from ingest.zh.time import time_scope_re

from .question import QuestionAnalysis, analyze
from .scope import Scope, ScopeDetector

# The retriever's boosts were measured with their own variants of the time-scope and definition cues
# (the answerer's also have 今年/去年 and 是哪几…; see ingest/zh/data): unifying them would change
# rankings, so both readings are kept, each named for its reader.
_BOOST_TIME_RE = time_scope_re("retrieval")
_BOOST_DEFINITION_RE = RETRIEVAL_DEFINITION_RE


@dataclass(frozen=True)
class RetrievalCues:
    """What the retriever's domain boosts look for in a passage."""

    norm: str  # the question as matched against passages (glossary terms are looked up in it)
    numbers: tuple[str, ...]  # figures of 2+ digits or with a decimal point
    times: frozenset[str]  # time scopes: 上半年, 1-7月, 2020年
    wants_definition: bool

    @classmethod
    def of(cls, question: str) -> RetrievalCues:
        norm = match_key(question)
        return cls(
            norm=norm,
            numbers=tuple(n for n in bare_numbers(question) if len(n) >= 2 or "." in n),
            times=frozenset(_BOOST_TIME_RE.findall(norm)),
            wants_definition=bool(_BOOST_DEFINITION_RE.search(norm)),
        )


@dataclass(frozen=True)
class QueryAnalysis:
    """One question, analysed: the typed output of QueryAnalyzer, input of the retriever and answerers."""

    text: str
    question: QuestionAnalysis
    cues: RetrievalCues
    scope: Scope  # documents the question names; empty when none is, or when the request filters by doc_ids


class QueryAnalyzer:
    """The analysis step. `term_weight` rates question terms (IDF in the index); the scope detector
    knows the index's documents (None: no scope, e.g. a corpus without document metadata)."""

    def __init__(
        self,
        tokenize: Callable[[str], list[str]],
        term_weight: Callable[[str], float] | None,
        scope_detector: ScopeDetector | None,
    ):
        self.tokenize = tokenize
        self.term_weight = term_weight
        self.scope_detector = scope_detector

    def analyze(self, text: str, doc_ids: Sequence[str] | None = None) -> QueryAnalysis:
        # A request filtered to documents has its scope already: detection would only narrow it wrongly.
        if self.scope_detector is None or doc_ids:
            scope = Scope(residual_query=text)
        else:
            scope = self.scope_detector.detect(text)
        return QueryAnalysis(
            text=text,
            question=analyze(text, self.tokenize, self.term_weight),
            cues=RetrievalCues.of(text),
            scope=scope,
        )
