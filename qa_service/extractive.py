"""The extractive answerer: the shortest span of the top passages that answers, with its source.

No model is needed. For each of the top passages we score its sentences (and table rows and glossary
definitions as whole units) by how much of the question's content they cover, weighted by term
rarity, then trim a winning sentence to the clauses that carry the asked-for figure with its time
scope (`1-7月，财政总收入12.42亿元，同比下降13.2%`). When documents give different values for what
was asked, each is given with its document. When nothing covers enough of the question, abstain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.models import Chunk
from ingest.zh import bare_numbers, char_bigrams, match_key, normalize_for_match, sentence_spans, strip_ws
from ingest.zh.answer import CONTINUATION_RE
from ingest.zh.headings import LIST_NUMBER_RE, definition_head
from ingest.zh.names import NAME_HINT_RE
from ingest.zh.numbers import CN_COUNT_RE, DIGIT_RE, has_figure_with_unit
from ingest.zh.places import strip_place_suffix
from ingest.zh.question import QUESTION_END_MARKS
from ingest.zh.time import DATE_RE, YEAR_OR_DATE_RE, scope_clause_re

from . import messages
from .candidates import clause_spans
from .claims import Claim, DraftAnswer, display_quote
from .config import ExtractiveConfig
from .question import QuestionAnalysis

if TYPE_CHECKING:
    from .answerers import AnswerContext

__all__ = ["Candidate", "ExtractiveAnswerer", "ExtractiveConfig", "abstain"]


@dataclass
class Candidate:
    chunk: Chunk
    rank: int
    start: int  # offsets into chunk.text
    end: int
    score: float
    coverage: float

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]


class ExtractiveAnswerer:
    """The last answerer of the pipeline: it always answers or abstains.

    `place_docs(place)` gives the documents whose text names a place (None: no place filter)."""

    mode = "extractive"
    free_text = False

    def __init__(self, config: ExtractiveConfig, place_docs: Callable[[str], set[str]] | None):
        self.config = config
        self.place_docs = place_docs

    def answer(self, ctx: AnswerContext) -> DraftAnswer:
        scope = ctx.analysis.scope
        return self.draft(ctx.analysis.question, ctx.passages, scope.groups if scope.is_comparison else None)

    def draft(self, q: QuestionAnalysis, passages: Sequence[Chunk], scope_groups: list[list[str]] | None) -> DraftAnswer:
        passages = list(passages[: self.config.max_passages])
        if self.place_docs is not None and q.places:
            allowed = _documents_naming(q.places, self.place_docs)
            if allowed is not None:
                # A question about 嘉定区 when no report mentions it, or about 川沙新镇 answered from a
                # 青浦 report, is not answered by these passages.
                passages = [c for c in passages if c.doc_id in allowed]
        if not passages:
            return abstain(q)
        definition = self._definition(q, passages)
        if definition is not None:
            return DraftAnswer(claims=[definition])
        candidates = [c for c in self.candidates(q, passages) if _fits_intent(q, c.text) and _states_figures(q, c.chunk)]
        if not candidates or candidates[0].coverage < self.config.abstain_below:
            return abstain(q)
        if scope_groups and len(scope_groups) > 1:
            claims = self._per_group(q, candidates, scope_groups)
            if claims:
                return DraftAnswer(claims=claims)
        best = candidates[0]
        claims = [self._claim(q, best)]
        rival = self._disagreeing(q, best, candidates)
        if rival is not None:
            claims[0].prefix = messages.document_prefix(best.chunk.doc_title)
            second = self._claim(q, rival)
            second.prefix = messages.document_prefix(rival.chunk.doc_title)
            claims.append(second)
        return DraftAnswer(claims=claims)

    def _definition(self, q: QuestionAnalysis, passages: Sequence[Chunk]) -> Claim | None:
        """`什么是六保？`: the glossary definition of the named term, whole, when one was retrieved."""
        if not q.wants_definition:
            return None
        wanted = [match_key(t) for t in (q.quoted or q.terms)]
        for chunk in passages:
            if chunk.kind != "definition":
                continue
            head = match_key(definition_head(chunk.text))
            if any(w and w in head for w in wanted):
                quote = chunk.text.strip()
                return Claim(text=display_quote(quote), sources=[chunk], quotes=[quote])
        return None

    # -- candidates ------------------------------------------------------------------------------

    def candidates(self, q: QuestionAnalysis, passages: Sequence[Chunk]) -> list[Candidate]:
        out: list[Candidate] = []
        total = sum(q.weights.values()) or 1.0
        for rank, chunk in enumerate(passages[: self.config.max_passages]):
            context = match_key(" ".join(chunk.heading_path))
            for start, end in _units(chunk):
                unit = chunk.text[start:end]
                cov = _coverage(q, match_key(unit), context, total)
                score = _intent_adjust(q, chunk, unit, cov) * (1.0 - self.config.rank_decay * rank)
                out.append(Candidate(chunk, rank, start, end, score, cov))
        out.sort(key=lambda c: (-c.score, c.rank, c.start))
        return out

    # -- claims ------------------------------------------------------------------------------------

    def _claim(self, q: QuestionAnalysis, cand: Candidate) -> Claim:
        start, end = cand.start, cand.end
        if cand.chunk.kind in ("text",) and (q.wants_figure or q.wants_time) and not q.wants_list:
            start, end = _trim_to_clauses(q, cand.chunk.text, start, end)
        if end - start > self.config.max_answer_chars:
            start, end = _trim_to_clauses(q, cand.chunk.text, start, end)
        quote = cand.chunk.text[start:end].strip()
        return Claim(text=display_quote(quote), sources=[cand.chunk], quotes=[quote])

    def _disagreeing(self, q: QuestionAnalysis, best: Candidate, candidates: list[Candidate]) -> Candidate | None:
        """A close runner-up from another document that states a different figure for the same thing."""
        if not q.wants_figure:
            return None
        best_nums = set(bare_numbers(best.text)) - set(q.numbers)
        for c in candidates[1:12]:
            if c.chunk.doc_id == best.chunk.doc_id or c.score < self.config.conflict_ratio * best.score:
                continue
            nums = set(bare_numbers(c.text)) - set(q.numbers)
            if nums and best_nums and not nums & best_nums and c.coverage >= best.coverage * 0.9:
                return c
        return None

    def _per_group(self, q: QuestionAnalysis, candidates: list[Candidate], groups: list[list[str]]) -> list[Claim]:
        claims = []
        for group in groups:
            best = next((c for c in candidates if c.chunk.doc_id in group), None)
            if best is None or best.coverage < self.config.abstain_below * 0.8:
                continue
            claim = self._claim(q, best)
            claim.prefix = messages.document_prefix(best.chunk.doc_title)
            claims.append(claim)
        return claims


def legacy_gates(
    q: QuestionAnalysis, passages: Sequence[Chunk], config: ExtractiveConfig, place_docs: Callable[[str], set[str]] | None
) -> tuple[float, float, float, float]:
    """The four gates by which this answerer abstains, each 1.0 when it would: (place filter, question figures not
    in any passage, no candidate fits the intent, coverage below `abstain_below`). The learned answerer reads them
    as evidence, not as vetoes."""
    passages = list(passages[: config.max_passages])
    place = 0.0
    if place_docs is not None and q.places:
        allowed = _documents_naming(q.places, place_docs)
        kept = passages if allowed is None else [c for c in passages if c.doc_id in allowed]
        place = float(not kept)
        passages = kept or passages
    cands = ExtractiveAnswerer(config, None).candidates(q, passages)
    states = {c.chunk.id: _states_figures(q, c.chunk) for c in cands}
    fits = [_fits_intent(q, c.text) for c in cands]
    figures = float(not any(states.values()))
    intent = float(not any(fits))
    ok = [c for c, f in zip(cands, fits) if f and states[c.chunk.id]]
    coverage = float(not ok or ok[0].coverage < config.abstain_below)
    return place, figures, intent, coverage


def abstain(q: QuestionAnalysis) -> DraftAnswer:
    subject = q.text.strip().rstrip(QUESTION_END_MARKS)
    return DraftAnswer(claims=[], abstained=True, abstain_text=messages.not_found(subject))


def _units(chunk: Chunk) -> list[tuple[int, int]]:
    """Answerable units of a passage: a table row or definition whole, else its sentences."""
    if chunk.kind in ("table_row", "definition"):
        return [(0, len(chunk.text))]
    if chunk.kind == "table":
        spans, pos = [], 0
        for line in chunk.text.split("\n"):
            if line.strip():
                spans.append((pos, pos + len(line)))
            pos += len(line) + 1
        return spans
    return [(s, e) for s, e in sentence_spans(chunk.text) if len(chunk.text[s:e].strip()) >= 4]


def _coverage(q: QuestionAnalysis, unit: str, context: str, total: float) -> float:
    """Weighted share of question terms found in the unit (heading context counts 60%)."""
    got = 0.0
    for t, w in q.weights.items():
        if t in unit:
            got += w
        elif t in context:
            got += 0.6 * w
    word_cov = got / total if q.weights else 0.0
    # Character bigrams rescue terms jieba cut differently in question and passage.
    qb = char_bigrams(q.norm)
    char_cov = len(qb & char_bigrams(unit + context)) / len(qb) if qb else 0.0
    return 0.7 * word_cov + 0.3 * char_cov


def _intent_adjust(q: QuestionAnalysis, chunk: Chunk, unit: str, cov: float) -> float:
    score = cov
    has_number = bool(DIGIT_RE.search(unit))
    if q.wants_figure and not q.wants_definition:
        score += 0.12 if has_number else -0.15
        if q.asked_unit and has_figure_with_unit(unit, q.asked_unit):
            score += 0.15
    if q.wants_time and DATE_RE.search(unit):
        score += 0.15
    if q.wants_definition and chunk.kind == "definition":
        score += 0.25
    if q.wants_person and NAME_HINT_RE.search(unit):
        score += 0.05
    if q.numbers:
        unit_nums = set(bare_numbers(unit))
        missing = [n for n in q.numbers if n not in unit_nums and n not in strip_ws(" ".join(chunk.heading_path))]
        # A figure the question states (a year, an amount) that the passage lacks is strong
        # evidence the passage is about something else (2021年 vs 2020年).
        score -= 0.15 * len(missing)
    if q.time_scopes:
        norm = match_key(unit + "".join(chunk.heading_path))
        score += 0.04 * sum(1 for t in q.time_scopes if t in norm)
    return score


def _trim_to_clauses(q: QuestionAnalysis, text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a sentence to the clauses that carry the question's terms and figure, keeping scope."""
    clauses = clause_spans(text, start, end)
    if len(clauses) <= 1:
        return start, end

    def window_score(lo: int, hi: int) -> float:
        c = match_key(text[clauses[lo][0] : clauses[hi][1]])
        score = sum(w for t, w in q.weights.items() if t in c)
        if q.wants_figure:
            if q.asked_unit and has_figure_with_unit(c, q.asked_unit):
                score += 2.0
            elif DIGIT_RE.search(c):
                score += 0.5
        if q.wants_time and DATE_RE.search(c):
            score += 2.0
        return score - 0.01 * len(c)

    windows = [(lo, hi) for lo in range(len(clauses)) for hi in range(lo, min(lo + 3, len(clauses)))]
    lo, hi = max(windows, key=lambda w: (window_score(*w), -w[0], -(w[1] - w[0])))
    # Leading scope clause (`1-7月`), and continuation clauses (`同比下降13.2%`).
    if lo > 0 and scope_clause_re().match(match_key(text[clauses[lo - 1][0] : clauses[lo - 1][1]])):
        lo -= 1
    while hi + 1 < len(clauses) and CONTINUATION_RE.match(text[clauses[hi + 1][0] : clauses[hi + 1][1]].strip()):
        hi += 1
    return clauses[lo][0], clauses[hi][1]


def _fits_intent(q: QuestionAnalysis, unit: str) -> bool:
    """A figure question needs a figure in the answer (not a list number); a date question a date."""
    body = normalize_for_match(LIST_NUMBER_RE.sub("", unit))
    if q.wants_time and not q.wants_figure:
        return bool(DATE_RE.search(body) or DIGIT_RE.search(body))
    if q.wants_figure and not (q.wants_definition or q.wants_list or q.wants_person):
        # A date or a year is not the figure asked for (`──2020年8月18日在…会议上` answers no 多少).
        figures = YEAR_OR_DATE_RE.sub("", body)
        return bool(CN_COUNT_RE.search(figures))
    return True


def _states_figures(q: QuestionAnalysis, chunk: Chunk) -> bool:
    """Every figure the question states (2016年, 1-7月, 50亿) appears in the passage or its headings:
    a passage about 2019 does not answer a question about 2016."""
    stated = [n for n in q.numbers if len(n) >= 2 or "." in n]
    if not stated:
        return True
    have = set(bare_numbers(chunk.text + " ".join(chunk.heading_path)))
    return all(n in have for n in stated)


def _documents_naming(places: list[str], place_docs: Callable[[str], set[str]]) -> set[str] | None:
    """Documents that mention every named place (by full name, else by its name without 镇/区)."""
    allowed: set[str] | None = None
    for place in places:
        docs = place_docs(place)
        if not docs:
            name = strip_place_suffix(place)
            docs = place_docs(name) if len(name) >= 2 else set()
        allowed = docs if allowed is None else allowed & docs
    return allowed


