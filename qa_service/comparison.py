"""The comparison answerer: two figures side by side, each with its own citation, and what they give together.

`2019年…的教育支出和农林水支出，哪一项更多？` is answered `教育支出288337万元[1]；农林水支出311302万元[2]
（据[1][2]计算：相差22965万元）。`: the question divides into its two mentions (ingest.zh.comparison; or the
documents a comparison names, Scope.groups), each mention's figure is the one whose clause (with the clause
before it) holds most of the mention's weighted terms, and when the units agree the difference, ratio or sum
is added as a computed clause that the verifier re-checks (citations.computation_holds). The answerer
passes when the question compares nothing or two figures with their passages are not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.models import Chunk
from ingest.zh import char_bigrams, fold_width, match_key, sentence_spans
from ingest.zh.comparison import (
    YEAR_RE,
    FIGURE_SENTENCE_ENDS,
    QUOTE_LEADING_MARKS,
    Compared,
    Figure,
    common_unit,
    compared,
    compute,
    figures,
    is_comparison,
    same_quantity,
    time_forms,
)
from ingest.zh.numbers import FIGURE_TOKEN_RE
from ingest.zh.text import CLAUSE_RE, LINE_BREAK_RE
from ingest.zh.time import time_scope_re

from . import messages
from .claims import Claim, Computation, DraftAnswer

if TYPE_CHECKING:
    from .answerers import AnswerContext

_PASSAGES = 8  # how deep in the ranking a figure is looked for
_MIN_COVER = 0.5  # share of a mention's term weight the figure's clauses must hold
_RANK_DECAY = 0.03
_CONTEXT_SHARE = 0.5
_KEY_SHARE = 0.8  # terms this close to the rarest one are as distinctive
_LIKENESS_WEIGHT = 0.5
_HEAD_WEIGHT = 0.3  # the mention's last term (its head noun) in the figure's own clause  # the mention's character bigrams in the figure's clause
_TIMES_RE = time_scope_re("question")
_YEAR_RE = YEAR_RE


@dataclass(frozen=True)
class Mention:
    text: str  # normalised: its character bigrams break ties between clauses with the same terms
    times: tuple[str, ...]  # time scopes it names (2019年, 上半年): its figure's sentence or headings must too
    terms: dict[str, float]  # its own weighted terms
    shared: dict[str, float]  # terms of what both mentions measure (the question's other pieces, asking words out)
    doc_ids: frozenset[str] | None  # a document group of the scope, or any document
    prefix: str = ""


@dataclass(frozen=True)
class Found:
    chunk: Chunk
    figure: Figure
    start: int  # the quote's span in chunk.text
    score: float

    @property
    def quote(self) -> str:
        return self.chunk.text[self.start : self.figure.end].strip().lstrip(QUOTE_LEADING_MARKS).strip()


class ComparisonAnswerer:
    mode = "extractive"
    free_text = False

    def answer(self, ctx: AnswerContext) -> DraftAnswer | None:
        analysis = ctx.analysis
        passages = [p.chunk for p in ctx.retrieved.passages[:_PASSAGES]]
        if not is_comparison(analysis.text):
            return None
        pair = compared(analysis.text)
        if pair is not None:
            mentions, op = _text_mentions(analysis.question.weights, pair), pair.op
        elif analysis.scope.is_comparison:
            mentions, op = _group_mentions(analysis.question.weights, analysis.scope.groups, passages), "difference"
        else:
            return None
        if len(mentions) != 2 or any(not m.terms for m in mentions):
            return None
        first = _locate(mentions[0], passages, exclude=None)
        second = _locate(mentions[1], passages, exclude=first)
        if first is None or second is None or common_unit(first.figure.unit, second.figure.unit) is None:
            return None  # 520件 against 89.81% measure different things: not two figures to compare
        if same_quantity(first.figure, second.figure):
            return None  # one figure found twice (in 万元 and in 亿元) is no comparison
        claims = [_claim(found, m.prefix) for found, m in zip((first, second), mentions)]
        computed = _computed(op, first, second)
        if computed is not None:
            claims.append(computed)
        return DraftAnswer(claims=claims)


def _text_mentions(weights: dict[str, float], pair: Compared) -> list[Mention]:
    keys = (match_key(pair.first), match_key(pair.second))
    # A figure as a term (`2` of `表2`) would match inside any number (12748): words only.
    words = {t: w for t, w in weights.items() if not FIGURE_TOKEN_RE.fullmatch(t)}
    own = [{t: w for t, w in words.items() if t in k} for k in keys]
    context = match_key(pair.shared)
    shared = {t: w for t, w in words.items() if t in context and not any(t in k for k in keys)}
    return [Mention(k, tuple(_TIMES_RE.findall(k)), terms, shared, None) for k, terms in zip(keys, own)]


def _group_mentions(weights: dict[str, float], groups: Sequence[Sequence[str]], passages: Sequence[Chunk]) -> list[Mention]:
    """Each document group of the scope is a mention; its terms are the whole question's."""
    out = []
    for group in groups[:2]:
        title = next((c.doc_title for c in passages if c.doc_id in group), "")
        prefix = messages.document_prefix(title) if title else ""
        out.append(Mention("", (), dict(weights), {}, frozenset(group), prefix))
    return out


def _locate(m: Mention, passages: Sequence[Chunk], exclude: Found | None) -> Found | None:
    """The figure whose clause window covers most of the mention's terms (best first, ties to rank)."""
    total = sum(m.terms.values()) + sum(m.shared.values()) or 1.0
    key = _key_terms(m)
    best: Found | None = None
    for rank, chunk in enumerate(passages):
        if m.doc_ids is not None and chunk.doc_id not in m.doc_ids:
            continue
        heading = match_key(" ".join(chunk.heading_path))
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
    content = {t: w for t, w in m.terms.items() if not _TIMES_RE.fullmatch(t)} or m.terms
    top = max(content.values())
    return frozenset(t for t, w in content.items() if w >= _KEY_SHARE * top)


def _sentence_figures(m: Mention, chunk: Chunk, s: int, e: int, heading: str, total: float, key: frozenset[str]) -> list[Found]:
    """Figures of one sentence with the mention's cover: its terms in the figure's clause count whole, earlier
    in the sentence or in the headings half (`1—6月，我院共受理各类案件…；审结19567件` scopes 审结); one of its
    rarest terms must be in the figure's clause or the one before. The shared measure's terms (`上半年农村富余劳动力
    新增就业人数` when the mentions are `正文` and `表2`) count like the mention's."""
    text = chunk.text
    clauses = [c.span() for c in CLAUSE_RE.finditer(text, s, e) if c.group(0).strip()]
    sentence = match_key(text[s:e]) + heading
    if any(not any(form in sentence for form in time_forms(t)) for t in m.times):
        return []
    years = {t for t in m.times if _YEAR_RE.fullmatch(t)}
    stated = set(_YEAR_RE.findall(match_key(text[s:e])))
    if years and stated and not years & stated:
        return []  # the sentence dates its figures to another year than the mention's
    wanted = char_bigrams(m.text)
    # Chinese noun phrases are head-final: what `国考、市考断面水质优良率` measures is its last term, 优良率.
    head = max(m.terms, key=lambda t: m.text.rfind(t)) if m.text and m.terms else ""
    out = []
    for i, (cs, ce) in enumerate(clauses):
        window_start = clauses[i - 1][0] if i > 0 else cs
        before = match_key(text[window_start:cs])
        earlier = match_key(text[s:cs])
        for fig in figures(text[cs:ce]):
            end = cs + fig.end
            own = match_key(text[cs:end])
            if not any(k in own or k in before for k in key):
                continue
            cover = sum(w * (1.0 if t in own else _CONTEXT_SHARE if t in earlier or t in heading else 0.0)
                        for t, w in (m.terms | m.shared).items()) / total
            if cover < _MIN_COVER:
                continue
            placed = Figure(fold_width(fig.value), fig.unit, cs + fig.start, end)
            likeness = len(wanted & char_bigrams(own)) / len(wanted) if wanted else 0.0
            score = cover + _LIKENESS_WEIGHT * likeness
            score += _HEAD_WEIGHT if head and head in own else 0.0
            out.append(Found(chunk, placed, cs if any(k in own for k in key) else window_start, score))
    return out


def _claim(found: Found, prefix: str) -> Claim:
    quote = found.quote
    return Claim(text=LINE_BREAK_RE.sub("", quote.replace("\t", " ")), sources=[found.chunk], quotes=[quote], prefix=prefix)


def _computed(op: str, a: Found, b: Found) -> Claim | None:
    """The difference, ratio or sum of two figures in the same unit, as a computed clause."""
    unit = common_unit(a.figure.unit, b.figure.unit)
    if unit is None or (op != "ratio" and unit[2] != 1):  # 亿元 against 万元: only their ratio is shown
        return None
    scale = unit[2] / unit[1]
    result = compute(op, a.figure.value, b.figure.value, scale)
    if result is None:
        return None
    if op == "ratio":
        body = messages.computed_ratio(result)
    elif op == "sum":
        body = messages.computed_sum(result, a.figure.unit)
    else:
        body = messages.computed_difference(result, a.figure.unit)
    sources = [a.chunk] if a.chunk.id == b.chunk.id else [a.chunk, b.chunk]
    return Claim(
        text=body,
        sources=sources,
        quotes=[a.quote] if len(sources) == 1 else [a.quote, b.quote],
        computed=Computation(op, (a.figure.value, b.figure.value), result, str(scale)),
    )
