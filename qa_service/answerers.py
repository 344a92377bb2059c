"""The answerers of the pipeline, tried in order: each returns a DraftAnswer or passes (None).

    LLMAnswerer        the model's answer, when the request asks for mode=llm and the model is reachable
    ReporterAnswerer   `…报告是由谁作的？`: the reporter a document states
    DocumentDateAnswerer `…的决议是哪天通过的？`: the date a document's header states
    ComparisonAnswerer (qa_service.comparison) two figures compared, each cited, with a computed clause
    FollowUpFigureAnswerer (qa_service.follow_up_answer) a follow-up's figure, read by clause with its scope
    ExtractiveAnswerer (qa_service.extractive) always answers or abstains: the last of the list
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ingest.models import Chunk, Document
from ingest.zh import match_key, strip_ws
from ingest.zh.answer import NOT_FOUND_RE

from .analysis import QueryAnalysis
from .citations import parse_marked_text
from .claims import Claim, DraftAnswer
from .extractive import abstain
from .llm import LLMSession
from .messages import document_date_prefix, reporter_prefix
from .question import QuestionAnalysis
from .retriever import PassageRetriever, RetrievalResult


@dataclass(frozen=True)
class AnswerContext:
    """Typed input of every answerer."""

    analysis: QueryAnalysis
    passages: list[Chunk]  # the top passages the answerers read (the request's top_k)
    retrieved: RetrievalResult  # the whole ranking
    corpus: PassageRetriever  # the retriever's corpus, for a document's opening passage
    llm: LLMSession
    follow_up: bool = False  # the question was rewritten from a follow-up with the conversation's history
    # Another query through the same retriever, with the request's filters: (query, top_k, within these documents)
    # -> its ranking. The comparison answerer retrieves each mention on its own when one ranking does not hold
    # both; None: no retriever.
    search: Callable[[str, int, Collection[str] | None], RetrievalResult] | None = None
    # The score each passage had in the ranking that `search` first found it in: a citation of a passage that only
    # such a retrieval found shows that score (the request's ranking does not hold it).
    searched_scores: dict[str, float] = field(default_factory=dict)


class Answerer(Protocol):
    mode: str  # the response's `mode` when this answerer answers
    # Its claims are generated text rather than quotes: when the citation check can tie none of them to
    # a passage, the answer becomes an abstention.
    free_text: bool

    def answer(self, ctx: AnswerContext) -> DraftAnswer | None: ...


class LLMAnswerer:
    """The model's answer with its [n] markers; passes when the request's LLM session is not live."""

    mode = "llm"
    free_text = True

    def answer(self, ctx: AnswerContext) -> DraftAnswer | None:
        reply = ctx.llm.call(lambda client: client.answer(ctx.analysis.text, ctx.passages))
        return None if reply is None else self.read_reply(reply, ctx)

    def read_reply(self, reply: str, ctx: AnswerContext) -> DraftAnswer:
        """The model's reply (whole, or streamed and joined) as a draft: its sentences with their markers."""
        if NOT_FOUND_RE.search(reply) and "[" not in reply:
            return abstain(ctx.analysis.question)
        return DraftAnswer(claims=parse_marked_text(reply, ctx.passages))


READ_DOCUMENTS = 5  # the top passages whose documents a reporter question may name
HEADER_CHARS = 200  # a document's opening read as its header (title, date and meeting lines, reporter)


def named_document(
    ctx: AnswerContext, documents: Mapping[str, Document], has: Callable[[Document], str | None], kinds: frozenset[str],
) -> Document | None:
    """The document a question about a document names, among those of its scope and of the top passages: one whose
    whole title the question holds (`青浦区人民法院2020年上半年工作报告是哪天作的？`), whatever its header states; else,
    of those whose header states what is asked (`has`), the one whose header (title, opening lines, reporter) holds
    most of the question's idf-weighted terms, on a tie the top passage's. A title several documents share (`kinds`:
    履职报告) names a kind of document, not one. `在…会议上作讲话的是谁？` names the speech,
    whose passage may rank below the meeting's attendance list; `作履职报告的…经济委员会主任是谁？` tells two reports
    titled 履职报告 apart by their reporters; the meeting's agenda, whose opening lists the reports but states no
    reporter, is not the document asked about."""
    ranked = [p.chunk.doc_id for p in ctx.retrieved.passages[:READ_DOCUMENTS]]
    ids = dict.fromkeys([*ctx.analysis.scope.doc_ids, *ranked])
    docs = [d for i in ids if (d := documents.get(i)) is not None]
    question = ctx.analysis.question.norm
    titled = [d for d in docs if (key := match_key(d.title)) and key not in kinds and key in question]
    if titled:
        return max(titled, key=lambda d: len(d.title))
    docs = [d for d in docs if has(d)]
    if not docs:
        return None
    weights = ctx.analysis.question.weights
    shared = {d.doc_id: math.fsum(w for t, w in weights.items() if t in _header(ctx, d)) for d in docs}
    best = max(shared.values())
    named = [d for d in docs if shared[d.doc_id] == best]
    if len(named) == 1:
        return named[0]
    return next((d for d in named if ranked and d.doc_id == ranked[0]), None)


def _header(ctx: AnswerContext, doc: Document) -> str:
    """Title, reporter and opening lines (`——2020年7月15日在…第三十六次会议上`), as a match key."""
    opening = ctx.corpus.opening(doc.doc_id)
    return match_key(doc.title + (doc.reporter or "") + (opening.text[:HEADER_CHARS] if opening is not None else ""))


def _header_line(opening: Chunk, value: str) -> str | None:
    """The opening's line that states `value` (whitespace ignored): the quote a header answer cites."""
    key = strip_ws(value)
    return next((line.strip() for line in opening.text.splitlines() if key in strip_ws(line)), None)


class HeaderAnswerer:
    """A question about a document itself, answered with what its header states, cited to its opening passage.
    The document is the one the question names (named_document); it passes when that one's header states nothing
    of the kind, or when none does. Subclasses say which questions they take, what they read and how it is introduced."""

    mode = "extractive"
    free_text = False

    def __init__(self, documents: Mapping[str, Document]):
        self.documents = documents
        titles = Counter(match_key(d.title) for d in documents.values())
        self.kinds = frozenset(t for t, n in titles.items() if n > 1)  # titles shared by several documents

    def asks(self, question: QuestionAnalysis) -> bool:
        raise NotImplementedError

    def value(self, doc: Document) -> str | None:
        raise NotImplementedError

    def prefix(self, doc_title: str) -> str:
        raise NotImplementedError

    def answer(self, ctx: AnswerContext) -> DraftAnswer | None:
        if not self.asks(ctx.analysis.question):
            return None
        doc = named_document(ctx, self.documents, self.value, self.kinds)
        value = self.value(doc) if doc is not None else None
        opening = ctx.corpus.opening(doc.doc_id) if doc is not None and value else None
        quote = _header_line(opening, value) if opening is not None and value else None
        if doc is None or value is None or quote is None:
            return None
        return DraftAnswer(claims=[Claim(text=value, sources=[opening], quotes=[quote], prefix=self.prefix(doc.title))])


class ReporterAnswerer(HeaderAnswerer):
    """`…报告是由谁作的？`, `在…会议上作讲话的是谁？`: the reporter the document states."""

    def asks(self, question: QuestionAnalysis) -> bool:
        return question.wants_reporter

    def value(self, doc: Document) -> str | None:
        return doc.reporter

    def prefix(self, doc_title: str) -> str:
        return reporter_prefix(doc_title)


class DocumentDateAnswerer(HeaderAnswerer):
    """`…的决议是哪天通过的？`, `…的讲话是哪天发表的？`: the date the document's header states."""

    def asks(self, question: QuestionAnalysis) -> bool:
        return question.wants_document_date

    def value(self, doc: Document) -> str | None:
        return doc.date

    def prefix(self, doc_title: str) -> str:
        return document_date_prefix(doc_title)
