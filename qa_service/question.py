"""What a question asks: its intent (figure, person, definition, list, time) and its content terms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.zh import bare_numbers, match_key
from ingest.zh.places import question_places
from ingest.zh.question import (
    DEFINITION_RE,
    FIGURE_RE,
    LIST_RE,
    DOCUMENT_DATE_RE,
    REPORTER_RE,
    STOPWORDS,
    WHEN_RE,
    WHO_RE,
)
from ingest.zh.question import asked_unit as unit_asked
from ingest.zh.text import QUOTED_TERM_RE
from ingest.zh.time import figure_scopes, time_scope_re

# Time scopes as query analysis reads them (with 今年/去年; the retriever's boost has its own variant).
_TIME_SCOPE_RE = time_scope_re("question")


@dataclass
class QuestionAnalysis:
    text: str
    norm: str
    terms: list[str]
    numbers: list[str]
    time_scopes: list[str]
    wants_figure: bool
    wants_person: bool
    wants_definition: bool
    wants_list: bool
    wants_time: bool
    weights: dict[str, float] = field(default_factory=dict)
    asked_unit: str | None = None
    wants_reporter: bool = False
    wants_document_date: bool = False  # the date a document was passed, given or delivered
    places: list[str] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)  # terms in quotes: “四个最严”


def analyze(question: str, tokenize: Callable[[str], list[str]], idf: Callable[[str], float] | None = None) -> QuestionAnalysis:
    norm = match_key(question)
    tokens = []
    for t in tokenize(question):
        if t in STOPWORDS or len(t) < 2 and not t.isdigit():
            continue
        if t not in tokens:
            tokens.append(t)
    # Drop a token that is a substring of a longer token also present: search mode emits both
    # `人民法院` and `法院`, and counting both would double-weight one concept.
    terms = [t for t in tokens if not any(t != u and t in u for u in tokens)]
    weights = {t: (idf(t) if idf else 1.0) * (1.0 + 0.1 * min(len(t), 6)) for t in terms}
    weights = {t: w for t, w in weights.items() if w > 0}
    return QuestionAnalysis(
        text=question,
        norm=norm,
        terms=terms,
        numbers=[n for n in bare_numbers(question)],
        time_scopes=figure_scopes(norm),  # not a comparison's base: `比去年同期…`
        wants_figure=bool(FIGURE_RE.search(norm)),
        wants_person=bool(WHO_RE.search(norm)),
        wants_definition=bool(DEFINITION_RE.search(norm)),
        wants_list=bool(LIST_RE.search(norm)),
        wants_time=bool(WHEN_RE.search(norm)),
        weights=weights,
        asked_unit=unit_asked(norm),
        wants_reporter=bool(REPORTER_RE.search(norm)),
        wants_document_date=bool(DOCUMENT_DATE_RE.search(norm)),
        places=question_places(norm),
        quoted=[t for t in QUOTED_TERM_RE.findall(question)],
    )

