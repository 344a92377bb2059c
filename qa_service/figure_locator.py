"""Where a passage states the figure a phrase names: `审结各类案件` -> `审结19567件` in
`1—6月，我院共受理各类案件20813件，同比增加7.28%；审结19567件`.

A figure is read with its clause: the phrase's terms in the figure's own clause count whole, earlier in its
sentence (a sentence ends at 。！？, not at `；`) or in the passage's headings half. One of the phrase's rarest
terms must be in the figure's clause or the one before; its time scopes must be in the sentence or headings,
and a sentence dated to another year is not read. Ties go to the clause most like the phrase, holding its head
noun (Chinese noun phrases are head-final) and the fewest words nobody asked about (`审结民间借贷案件677件` for
`审结各类案件`). Used by the comparison answerer (two phrases) and the follow-up answerer (one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.models import Chunk
from ingest.zh import char_bigrams, fold_width, match_key, sentence_spans
from ingest.zh.comparison import (
    FIGURE_CLAUSE_RE,
    FIGURE_SENTENCE_ENDS,
    QUOTE_LEADING_MARKS,
    YEAR_RE,
    Figure,
    counts,
    figures,
    respective_figures,
    time_forms,
)
from ingest.zh.follow_up import change_re
from ingest.zh.text import HAN_RE
from ingest.zh.time import time_scope_re, whole_year_stated

from .claims import Claim, display_quote

PASSAGES = 8  # how deep in the ranking a figure is looked for
_MIN_COVER = 0.5  # share of a phrase's term weight the figure's clauses must hold
_RANK_DECAY = 0.03
_CONTEXT_SHARE = 0.5
_KEY_SHARE = 0.8  # terms this close to the rarest one are as distinctive
_LIKENESS_WEIGHT = 0.5  # the phrase's character bigrams in the figure's clause
_HEAD_WEIGHT = 0.3  # the phrase's last term (its head noun) in the figure's own clause
_ASKED_WEIGHT = 0.3  # share of the clause's words that the question asked about
TIMES_RE = time_scope_re("question")


@dataclass(frozen=True)
class Mention:
    text: str  # normalised: its character bigrams break ties between clauses with the same terms
    times: tuple[str, ...]  # time scopes it names (2019年, 上半年): its figure's sentence or headings must too
    terms: dict[str, float]  # its own weighted terms
    shared: dict[str, float]  # terms of what both mentions measure (the question's other pieces, asking words out)
    doc_ids: frozenset[str] | None  # a document group of the scope, or any document
    prefix: str = ""
    asked: frozenset[str] = field(default_factory=frozenset)  # the question's character bigrams
    unit: str | None = None  # the unit asked for (`多少件` -> 件, a rate -> %): figures in others are not read
    # The place it names when doc_ids are the documents naming it: the town report states 川沙新镇 in its opening
    # lines, not by its figures, so the place is read as a heading of every passage of those documents.
    place: str = ""
    # It asks how the measure changed (`…转移支付增长了多少？`): the figure is the one a change predicate states
    # (`…136096万元，完成预算的96.6%，增长4.3%`), its measure named anywhere before it in the sentence.
    change: bool = False


@dataclass(frozen=True)
class Found:
    chunk: Chunk
    figure: Figure
    start: int  # the quote's span in chunk.text
    score: float

    @property
    def quote(self) -> str:
        return self.chunk.text[self.start : self.figure.end].strip().lstrip(QUOTE_LEADING_MARKS).strip()


def locate(m: Mention, passages: Sequence[Chunk], exclude: Found | None) -> Found | None:
    """The figure whose clause window covers most of the mention's terms (best first, ties to rank)."""
    total = sum(m.terms.values()) + sum(m.shared.values()) or 1.0
    key = _key_terms(m)
    best: Found | None = None
    for rank, chunk in enumerate(passages):
        if m.doc_ids is not None and chunk.doc_id not in m.doc_ids:
            continue
        heading = match_key(" ".join(chunk.heading_path)) + ("\x00" + m.place if m.place else "")
        for s, e in sentence_spans(chunk.text, FIGURE_SENTENCE_ENDS):
            for found in _sentence_figures(m, chunk, s, e, heading, total, key):
                if exclude is not None and found.chunk.id == exclude.chunk.id and found.figure == exclude.figure:
                    continue
                score = found.score * (1.0 - _RANK_DECAY * rank)
                if best is None or score > best.score:
                    best = Found(found.chunk, found.figure, found.start, score)
    return best


def _key_terms(m: Mention) -> frozenset[str]:
    """The mention's rarest terms other than its time scopes: one of them must be by the figure."""
    content = {t: w for t, w in m.terms.items() if not TIMES_RE.fullmatch(t) and not (m.place and t in m.place)}
    content = content or m.terms
    top = max(content.values())
    return frozenset(t for t, w in content.items() if w >= _KEY_SHARE * top)


def _sentence_figures(m: Mention, chunk: Chunk, s: int, e: int, heading: str, total: float, key: frozenset[str]) -> list[Found]:
    """Figures of one sentence with the mention's cover: its terms in the figure's clause count whole, earlier
    in the sentence or in the headings half (`1—6月，我院共受理各类案件…；审结19567件` scopes 审结); one of its
    rarest terms must be in the figure's clause or the one before. The shared measure's terms (`上半年农村富余劳动力
    新增就业人数` when the mentions are `正文` and `表2`) count like the mention's."""
    text = chunk.text
    clauses = [c.span() for c in FIGURE_CLAUSE_RE.finditer(text, s, e) if c.group(0).strip()]
    sentence = match_key(text[s:e]) + heading
    if any(not any(form in sentence for form in time_forms(t)) and not whole_year_stated(t, sentence) for t in m.times):
        return []
    years = {t for t in m.times if YEAR_RE.fullmatch(t)}
    stated = set(YEAR_RE.findall(match_key(text[s:e])))
    if years and stated and not years & stated:
        return []  # the sentence dates its figures to another year than the mention's
    wanted = char_bigrams(m.text)
    # Chinese noun phrases are head-final: what `国考、市考断面水质优良率` measures is its last term, 优良率.
    head = max(m.terms, key=lambda t: m.text.rfind(t)) if m.text and m.terms else ""
    out = []
    # `500件730人，同比分别下降41.7%、40.7%`: 40.7% is read as what 730人 is (its clause is the window's start;
    # `人数` its count noun).
    paired = respective_figures(text, s, e)
    for i, (cs, ce) in enumerate(clauses):
        window_start = clauses[i - 1][0] if i > 0 else cs
        earlier = match_key(text[s:cs]) + "\x00" + counts([f.unit for f in figures(text[s:cs])])
        for fig in figures(text[cs:ce]):
            if m.unit is not None and fig.unit != m.unit:
                continue
            end = cs + fig.end
            pair = paired.get(cs + fig.start)
            start = next((c for c, _ in reversed(clauses) if pair is not None and c <= pair.start), window_start)
            before = match_key(text[start:cs])
            clause = match_key(text[cs:end])
            own = clause + "\x00" + counts([fig.unit] + ([pair.unit] if pair is not None else []))
            if m.change:
                # A change's measure is named in an earlier clause (`财政总收入12.42亿元，同比下降13.2%`): the nearest
                # naming it starts the figure's window.
                named = _naming_clause(text, clauses[: i + 1], key)
                if named is None or not change_re().search(clause):
                    continue
                start = named
                before = match_key(text[start:cs])
                own += "\x00" + before
            elif not any(k in clause or k in before for k in key):
                continue
            cover = sum(w * (1.0 if t in own else _CONTEXT_SHARE if t in earlier or t in heading else 0.0)
                        for t, w in (m.terms | m.shared).items()) / total
            if cover < _MIN_COVER:
                continue
            placed = Figure(fold_width(fig.value), fig.unit, cs + fig.start, end)
            # Likeness and head are read up to the figure: the object may be named before (`受理各类案件…；审结19567件`).
            upto = match_key(text[start if m.change else s : end])
            likeness = len(wanted & char_bigrams(upto)) / len(wanted) if wanted else 0.0
            score = cover + _LIKENESS_WEIGHT * likeness
            score += _HEAD_WEIGHT if head and head in upto else 0.0
            score += _ASKED_WEIGHT * _asked_share(clause, m.asked)
            out.append(Found(chunk, placed, cs if any(k in clause for k in key) else start, score))
    return out


def _naming_clause(text: str, clauses: Sequence[tuple[int, int]], key: frozenset[str]) -> int | None:
    """Where the last of `clauses` holding one of the key terms starts."""
    return next((cs for cs, ce in reversed(clauses) if any(k in match_key(text[cs:ce]) for k in key)), None)


def figure_claim(found: Found, prefix: str) -> Claim:
    quote = found.quote
    return Claim(text=display_quote(quote), sources=[found.chunk], quotes=[quote], prefix=prefix)




def _asked_share(clause: str, asked: frozenset[str]) -> float:
    """Share of the clause's Han bigrams that the question holds (1.0 when nothing was asked about)."""
    own = {b for b in char_bigrams(clause) if HAN_RE.fullmatch(b[0]) and HAN_RE.fullmatch(b[1])}
    if not asked or not own:
        return 1.0
    return len(own & asked) / len(own)
