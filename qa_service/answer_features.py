"""Generic features of answer candidates and of a question's evidence, for the learned answerer.

Nothing here is a phrase list or a veto: each former gate of the extractive answerer (figures of the question
missing from the passage, the place filter, intent fit, coverage) is a number the models weigh.

Candidate (unit or clause window) features, `UNIT_FEATURES`:
  cov_unit      idf-weighted share of the question's terms found in the candidate
  cov_ctx       the same over candidate + heading path (the heading counts 60%)
  bigram        share of the question's character bigrams found in the candidate
  proximity     1/(1+d/8), d = characters from a span of the asked answer type to the nearest matched term
  type_match    the candidate states the answer type the question asks for (ingest.zh.answer_types)
  type_missing  the question asks for a type the candidate does not state
  figure_unit   the question asks for a number and the candidate states a figure with its unit
  heading       idf-weighted share of question terms in the passage's heading path
  rank_inv      1/(1+rank) of the passage among those read
  ret_score     the passage's retrieval score (normalised to the best) and ret_margin, its lead over the next
  time_agree    share of the question's time scopes present in candidate, headings or the document's own period
                (its title and opening): a year that restates the report's period agrees
  place_agree   share of the question's places in candidate/headings/document (0.5 when only elsewhere in its document)
  semantic      cosine of question and candidate under the index's embedder (0 without one)
  figures       share of the figures the question states found in the candidate, its headings or document period
  intent_fit    the old gate's test: a figure question's candidate has a count that is not a date
  log_len       log of the candidate's length; kind flags is_row, is_definition, is_list, is_window
  year_clash, period_clash   the question names a year (a period of the year: 上半年, 全年, 1-7月) and the
                candidate names only others; where the candidate names none, its headings, then its document's
                title speak for it. Absence is not a clash (a report states its period once), and a year that
                restates the report's own period agrees: `2016年…合同外资` against `2017-2019年…` clashes,
                `2020年1-7月…政务信息` against `1-7月发布…` in the 2020 report does not
  defines_asked the candidate is a glossary definition of a term the question names (`“三定”指什么？` and
                `三定：定人、定时、定岗。`): a definition repeats only its term, so its coverage of the question is
                low next to any sentence that uses the term in the question's context
  cov_rel, semantic_rel   cov_ctx and semantic minus their best among the candidates compared with it
  word_inv, char_inv, dense_inv   1/rank of the candidate's passage in each retrieval arm (0 when the arm missed
                it): the fused order alone hid that word BM25 often ranks the answer's paragraph first
Runner-up features, `SECOND_FEATURES` (one row per question, for the decision to show the ranker's runner-up
beside its best unit when the ranker is unsure): the ranker's probability of the best and of the runner-up (the
best unit not overlapping the best one), their log-odds margin, whether they share a passage, and both lengths.
The best-sentence yardstick's signal (question bigrams shared, counted: `shared_bigrams`) and its pick
(`best_sentence_pick`) are features of the abstainer only: as ranking features they cost on the reports, whose
long sentences share many bigrams with any question.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ingest.models import Chunk
from ingest.zh import bare_numbers, char_bigrams, match_key, normalize_for_match
from ingest.zh.text import defined_term, without_quotes
from ingest.zh.answer_types import has_figure_unit, question_type, typed_spans
from ingest.zh.headings import LIST_NUMBER_RE
from ingest.zh.numbers import CN_COUNT_RE
from ingest.zh.places import strip_place_suffix
from ingest.zh.time import YEAR_OR_DATE_RE, periods_named, years_named

from .candidates import AnswerCandidate
from .question import QuestionAnalysis

UNIT_FEATURES: tuple[str, ...] = (
    "cov_unit", "cov_ctx", "bigram", "proximity", "type_match", "type_missing", "figure_unit", "heading",
    "rank_inv", "ret_score", "ret_margin", "time_agree", "place_agree", "semantic", "figures", "intent_fit",
    "log_len", "is_row", "is_definition", "is_list", "is_window", "year_clash", "period_clash", "defines_asked",
    "cov_rel", "semantic_rel",
    "word_inv", "char_inv", "dense_inv",
)
SECOND_FEATURES: tuple[str, ...] = ("top_p", "second_p", "margin", "same_passage", "top_log_len", "second_log_len")
_RELATIVE = {"cov_rel": "cov_ctx", "semantic_rel": "semantic"}
_ARMS = ("word", "char", "dense")
_BEST_SENTENCE_PASSAGES = 3  # the yardstick's "BM25 top 3"
_N_ROW = len(UNIT_FEATURES) - len(_RELATIVE) - len(_ARMS)
_COL = {name: i for i, name in enumerate(UNIT_FEATURES)}
_POSSEG_TYPES = ("person", "place")
_POSSEG_UNITS = 12  # person/place questions tag at most this many units (the POS tagger costs ~1 ms per 100 chars)

Similarity = Callable[[str, Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class QuestionView:
    """What the features read of a question, computed once per request."""

    q: QuestionAnalysis
    atype: str | None  # number | person | date | place | list | None
    total: float  # sum of the term weights
    bigrams: frozenset[str]
    stated: tuple[str, ...]  # figures the question states (2+ digits or a decimal)
    scopes: tuple[str, ...]
    years: frozenset[int]  # the years the question names
    periods: frozenset[str]  # the periods of a year it names (ingest.zh.time.periods_named)
    unquoted: str  # the question's match key without quote marks
    unknown_share: float  # share of the question's terms the corpus never uses


@dataclass
class Featurized:
    """One question's candidates and their features: what the answerer decides from, and what training fits on."""

    qv: QuestionView
    units: list[AnswerCandidate]
    x: np.ndarray  # UNIT_FEATURES per unit
    ev: Evidence
    scores: list[float]  # retrieval score per passage read
    top_ranks: dict[str, int | None]  # the top passage's rank in each retrieval arm
    gates: tuple[float, ...]  # the rule-based answerer's gates (qa_service.extractive.legacy_gates), 1.0 = it would abstain


def question_view(q: QuestionAnalysis) -> QuestionView:
    known = sum(1 for t in q.terms if t in q.weights)
    return QuestionView(
        q=q,
        atype=question_type(q.text),
        total=sum(q.weights.values()) or 1.0,
        bigrams=frozenset(char_bigrams(q.norm)),
        stated=tuple(n for n in q.numbers if len(n) >= 2 or "." in n),
        scopes=tuple(dict.fromkeys(q.time_scopes)),
        years=years_named(q.norm),
        periods=periods_named(q.norm),
        unquoted=match_key(without_quotes(q.text)),
        unknown_share=1.0 - known / len(q.terms) if q.terms else 0.0,
    )


@dataclass
class Evidence:
    """Per-request facts about the passages read: retrieval scores and each document's own period."""

    scores: list[float]  # retrieval score per passage read
    period: dict[str, str]  # doc_id -> match key of its title and opening lines
    place_share: dict[str, float]  # doc_id -> share of the question's places the document mentions
    sims: dict[tuple[str, int, int], float]  # (chunk id, start, end) -> semantic similarity
    arm_ranks: list[dict[str, int | None]] = field(default_factory=list)  # per passage read: its rank in each arm

    def margin(self, rank: int) -> float:
        nxt = self.scores[rank + 1] if rank + 1 < len(self.scores) else 0.0
        return self.scores[rank] - nxt


def evidence(
    qv: QuestionView,
    passages: Sequence[Chunk],
    scores: Sequence[float],
    opening: Callable[[str], Chunk | None],
    place_docs: Callable[[str], set[str] | frozenset[str]] | None,
    arm_ranks: Sequence[dict[str, int | None]] = (),
) -> Evidence:
    period: dict[str, str] = {}
    for c in passages:
        if c.doc_id not in period:
            first = opening(c.doc_id)
            period[c.doc_id] = match_key(c.doc_title + (first.text[:200] if first is not None else ""))
    place_share = {d: _place_share(qv.q.places, d, place_docs) for d in period}
    return Evidence(list(scores), period, place_share, {}, [dict(r) for r in arm_ranks])


def _place_share(places: list[str], doc_id: str, place_docs: Callable[[str], set[str] | frozenset[str]] | None) -> float:
    if not places or place_docs is None:
        return 1.0
    found = 0
    for place in places:
        docs = place_docs(place)
        name = strip_place_suffix(place)
        if not docs and len(name) >= 2:
            docs = place_docs(name)
        found += doc_id in docs
    return found / len(places)


def add_similarity(qv: QuestionView, cands: Sequence[AnswerCandidate], ev: Evidence, similarity: Similarity | None) -> None:
    """Semantic similarity of the question to each candidate (one batch through the embedder)."""
    todo = [c for c in cands if (c.chunk.id, c.start, c.end) not in ev.sims]
    if similarity is None or not todo:
        return
    sims = similarity(qv.q.text, [c.text for c in todo])
    for c, s in zip(todo, sims):
        ev.sims[(c.chunk.id, c.start, c.end)] = float(s)


def features(qv: QuestionView, cands: Sequence[AnswerCandidate], ev: Evidence) -> np.ndarray:
    """The UNIT_FEATURES matrix of the candidates (one row each)."""
    tagged = _tagged(qv, cands)
    rows = [_row(qv, c, ev, tagged is None or i in tagged) for i, c in enumerate(cands)]
    x = np.asarray(rows, dtype=np.float64).reshape(len(rows), _N_ROW)
    if not len(rows):
        return np.zeros((0, len(UNIT_FEATURES)))
    # Relative to the best of the question's candidates: a pointwise model then sees how a candidate compares.
    rel = [x[:, _COL[name]] - x[:, _COL[name]].max() for name in _RELATIVE.values()]
    return np.column_stack([x, *rel, _arm_ranks(cands, ev)])


def _tagged(qv: QuestionView, cands: Sequence[AnswerCandidate]) -> set[int] | None:
    """Which candidates a person or place question runs the POS tagger on (None: all of them): the
    `_POSSEG_UNITS` covering most of the question's weight, first in passage order on a tie. Passage order alone
    left a roll of names, which comes after its passage's sentences, untyped."""
    if qv.atype not in _POSSEG_TYPES or len(cands) <= _POSSEG_UNITS:
        return None
    weights = qv.q.weights
    covered = [sum(w for t, w in weights.items() if t in match_key(c.text)) for c in cands]
    return set(sorted(range(len(cands)), key=lambda i: (-covered[i], i))[:_POSSEG_UNITS])


def _arm_ranks(cands: Sequence[AnswerCandidate], ev: Evidence) -> np.ndarray:
    """word_inv, char_inv, dense_inv: 1/rank of each candidate's passage in each retrieval arm (0: not found)."""
    ranks = [ev.arm_ranks[c.rank] if c.rank < len(ev.arm_ranks) else {} for c in cands]
    return np.array([[1.0 / r if (r := rk.get(arm)) else 0.0 for arm in _ARMS] for rk in ranks]).reshape(len(cands), len(_ARMS))


def shared_bigrams(qv: QuestionView, cands: Sequence[AnswerCandidate]) -> np.ndarray:
    """How many of the question's character bigrams each candidate holds: the best-sentence yardstick's score."""
    return np.array([len(qv.bigrams & char_bigrams(match_key(c.text))) for c in cands], dtype=np.float64)


def best_sentence_pick(cands: Sequence[AnswerCandidate], x: np.ndarray, shared: np.ndarray) -> int | None:
    """The candidate the best-sentence yardstick would answer with: among the sentences of the word arm's top 3
    passages (in word rank, then text order), the first sharing the most question bigrams."""
    word = x[:, _COL["word_inv"]]
    eligible = [i for i, c in enumerate(cands) if c.kind == "sentence" and word[i] >= 1.0 / _BEST_SENTENCE_PASSAGES]
    if not eligible:
        return None
    eligible.sort(key=lambda i: (-word[i], cands[i].start))
    return max(eligible, key=lambda i: (shared[i], -eligible.index(i)))


def _row(qv: QuestionView, cand: AnswerCandidate, ev: Evidence, typed: bool) -> list[float]:
    q = qv.q
    chunk = cand.chunk
    unit = match_key(cand.text)
    heading = match_key(" ".join(chunk.heading_path))
    in_unit = [t for t in q.weights if t in unit]
    got = sum(q.weights[t] for t in in_unit)
    got_ctx = got + 0.6 * sum(w for t, w in q.weights.items() if t not in unit and t in heading)
    head = sum(w for t, w in q.weights.items() if t in heading)
    spans = typed_spans(unit, qv.atype) if qv.atype and typed else []
    period = ev.period.get(chunk.doc_id, "")
    around = unit + heading + period
    return [
        got / qv.total,
        got_ctx / qv.total,
        len(qv.bigrams & char_bigrams(unit)) / len(qv.bigrams) if qv.bigrams else 0.0,
        _proximity(unit, spans, in_unit),
        float(bool(spans)),
        float(bool(qv.atype) and not spans),
        float(qv.atype == "number" and has_figure_unit(unit)),
        head / qv.total,
        1.0 / (1.0 + cand.rank),
        ev.scores[cand.rank] if cand.rank < len(ev.scores) else 0.0,
        ev.margin(cand.rank) if cand.rank < len(ev.scores) else 0.0,
        sum(1 for s in qv.scopes if s in around) / len(qv.scopes) if qv.scopes else 1.0,
        _place_agree(q.places, unit + heading, ev.place_share.get(chunk.doc_id, 1.0)),
        ev.sims.get((chunk.id, cand.start, cand.end), 0.0),
        _figures_share(qv.stated, around),
        float(_fits_intent(q, cand.text)),
        math.log1p(len(unit)),
        float(cand.kind == "row"),
        float(cand.kind == "definition"),
        float(cand.kind == "list"),
        float(cand.kind == "window"),
        _clash(qv.years, years_named, unit, heading, chunk.doc_title),
        _clash(qv.periods, periods_named, unit, heading, chunk.doc_title),
        float(cand.kind == "definition" and bool(defines(cand.text, qv.unquoted))),
    ]


def _clash(asked: frozenset, named: Callable[[str], frozenset], unit: str, heading: str, title: str) -> float:
    """1.0 when the nearest of candidate, headings and document title that names any year (period) names none of
    the question's; 0.0 when it names one of them, when none names any, or when the question names none."""
    if not asked:
        return 0.0
    for text in (unit, heading, match_key(title)):
        found = named(text)
        if found:
            return float(not (found & asked))
    return 0.0


def defines(definition: str, question: str) -> str:
    """The term a definition defines when the question (a match key without quotes) names it, else ''."""
    term = defined_term(definition)
    return term if len(term) >= 2 and term in question else ""


def _proximity(unit: str, spans: list[tuple[int, int]], terms: list[str]) -> float:
    if not spans or not terms:
        return 0.0
    places = [(i, i + len(t)) for t in terms for i in _find_all(unit, t)]
    best = min((max(0, max(s, a) - min(e, b)) for s, e in spans for a, b in places), default=None)
    return 0.0 if best is None else 1.0 / (1.0 + best / 8.0)


def _find_all(text: str, term: str, limit: int = 4) -> list[int]:
    out, at = [], text.find(term)
    while at >= 0 and len(out) < limit:
        out.append(at)
        at = text.find(term, at + 1)
    return out


def _place_agree(places: list[str], near: str, doc_share: float) -> float:
    if not places:
        return 1.0
    here = sum(1 for p in places if p in near or strip_place_suffix(p) in near) / len(places)
    return max(here, 0.5 * doc_share)


def _figures_share(stated: tuple[str, ...], around: str) -> float:
    if not stated:
        return 1.0
    have = set(bare_numbers(around))
    return sum(1 for n in stated if n in have) / len(stated)


def _fits_intent(q: QuestionAnalysis, text: str) -> bool:
    """The old veto, now a feature: a figure question's candidate holds a count that is not a date."""
    body = normalize_for_match(LIST_NUMBER_RE.sub("", text))
    if q.wants_figure and not (q.wants_definition or q.wants_list or q.wants_person):
        return bool(CN_COUNT_RE.search(YEAR_OR_DATE_RE.sub("", body)))
    return True


def runner_up(cands: Sequence[AnswerCandidate], logits: np.ndarray, best: int) -> int | None:
    """The best-scoring candidate other than `best` that repeats none of it: not overlapping it in its passage,
    and neither text holding the other (overlapping chunks repeat sentences). None when there is none."""
    top = cands[best]
    key = match_key(top.text)
    for i in np.argsort(-logits, kind="stable"):
        c = cands[int(i)]
        if int(i) == best or (c.chunk.id == top.chunk.id and c.start < top.end and top.start < c.end):
            continue
        other = match_key(c.text)
        if other and other not in key and key not in other:
            return int(i)
    return None


def second_features(cands: Sequence[AnswerCandidate], logits: np.ndarray, best: int, second: int) -> np.ndarray:
    """The SECOND_FEATURES row of a best unit and its runner-up."""
    p = 1.0 / (1.0 + np.exp(-logits[[best, second]]))
    a, b = cands[best], cands[second]
    return np.array([
        p[0], p[1], logits[best] - logits[second], float(a.chunk.id == b.chunk.id),
        math.log1p(len(match_key(a.text))), math.log1p(len(match_key(b.text))),
    ], dtype=np.float64)
