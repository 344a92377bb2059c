"""The comparison answerer: two figures side by side, each with its own citation, and what they give together.

`2019年…的教育支出和农林水支出，哪一项更多？` is answered `教育支出288337万元[1]；农林水支出311302万元[2]
（据[1][2]计算：相差22965万元）。`: the question divides into its two mentions (ingest.zh.comparison; or the
documents a comparison names, Scope.groups), each mention's figure is the one whose clause (with the clause
before it) holds most of the mention's weighted terms, and when the units agree the difference, ratio or sum
is added as a computed clause that the verifier re-checks (citations.computation_holds). The answerer
passes when the question compares nothing or two figures with their passages are not found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from ingest.models import Chunk
from ingest.zh import char_bigrams, match_key
from ingest.zh.comparison import (
    Asked,
    Compared,
    agrees,
    asked_verdict,
    change_sign,
    is_change,
    common_unit,
    compared,
    compute,
    is_comparison,
    measured,
    mention_places,
    mention_queries,
    names_or_asks,
    same_quantity,
    time_forms,
    winner,
)
from ingest.zh.numbers import FIGURE_TOKEN_RE

from . import messages
from .claims import Claim, Computation, DraftAnswer, Verdict, verdict_text
from .figure_locator import PASSAGES, TIMES_RE, Found, Mention, figure_claim, locate

if TYPE_CHECKING:
    from .analysis import QueryAnalysis
    from .answerers import AnswerContext


PlaceDocs = Callable[[str], set[str] | frozenset[str]]
Sides = tuple[Sequence[Chunk], Sequence[Chunk]]  # the passages each mention's figure is looked for in


class ComparisonAnswerer:
    mode = "extractive"
    free_text = False

    def __init__(self, place_docs: PlaceDocs | None = None):
        self.place_docs = place_docs  # documents naming a place: a mention naming one reads only those

    def answer(self, ctx: AnswerContext) -> DraftAnswer | None:
        analysis = ctx.analysis
        if not is_comparison(analysis.text):
            return None
        passages = [p.chunk for p in ctx.retrieved.passages[:PASSAGES]]
        asked = asked_verdict(analysis.text)
        readings = list(_readings(analysis, passages, asked, self.place_docs))
        read = next(((r, f) for r in readings if (f := _two_figures(r.mentions, (passages, passages), asked))), None)
        # Documents named (their groups are the mentions) or not: the one reading whose mentions are retrieved again.
        again = next((r for r in readings if r.queries is not None and (r.names is None) == analysis.scope.is_comparison), None)
        if again is not None:
            read = _in_own_rankings(ctx, again, passages, asked, failed=read is None) or read
        if read is None:
            return None
        reading, found = read
        first, second = found
        names = reading.names or (messages.document_name(first.chunk.doc_title), messages.document_name(second.chunk.doc_title))
        claims = [figure_claim(f, m.prefix) for f, m in zip(found, reading.mentions)]
        computed = _computed(reading.op, first, second, asked, names)
        if computed is not None:
            claims.append(computed)
        return DraftAnswer(claims=claims)


@dataclass(frozen=True)
class Reading:
    mentions: list[Mention]
    names: tuple[str, str] | None  # as the question names them; None: by their documents
    op: str
    queries: tuple[str, str] | None = None  # each mention with what both measure, retrieved on its own


def _readings(analysis: QueryAnalysis, passages: Sequence[Chunk], asked: Asked | None, place_docs: PlaceDocs | None) -> Iterator[Reading]:
    """The question's two mentions as it words them, then (when it compares documents: `区政府工作报告和计划执行
    情况报告说的一样吗`) the documents' groups, whose figures are read with the whole question's terms."""
    pair = compared(analysis.text)
    rate = "%" if asked is not None and asked.change else None  # `哪个同比降得更多`: the changes, not the amounts
    if pair is not None:
        whole = measured(pair)  # `川沙新镇和青浦区的财政收入`: 川沙新镇 measures 财政收入 too
        mentions = _text_mentions(analysis.question.weights, whole, analysis.question.norm)
        mentions = [replace(m, unit=rate) for m in _placed(mentions, place_docs)]
        yield Reading(mentions, (pair.first, pair.second), pair.op, mention_queries(whole))
    if analysis.scope.is_comparison:
        weights = analysis.question.weights
        if pair is not None:  # the words naming the documents are not by their figures: what both measure is
            context = match_key(pair.shared)
            measure = {t: w for t, w in weights.items() if t in context and not FIGURE_TOKEN_RE.fullmatch(t)}
            # `审计报告和财政决算报告中2019年…收入的数额一致吗`: the measure is in a mention, by the report's name.
            weights = measure or {t: w for t, w in weights.items() if not names_or_asks(t)} or weights
        mentions = [replace(m, unit=rate) for m in _group_mentions(weights, analysis.scope.groups, passages)]
        measure = analysis.scope.residual_query  # what both documents state, within each group
        yield Reading(mentions, None, "difference", (measure, measure))  # named by their documents: groups are not in the question's order


def _placed(mentions: list[Mention], place_docs: PlaceDocs | None) -> list[Mention]:
    """A mention naming a place reads the documents naming it (the index's lookup), the place as their heading."""
    if place_docs is None:
        return mentions
    out = []
    for m in mentions:
        places = mention_places(m.text)
        docs = [frozenset(place_docs(p)) for p in places]
        if docs and all(docs):
            out.append(replace(m, doc_ids=frozenset.intersection(*docs), place="".join(places)))
        else:
            out.append(m)
    return out


def _in_own_rankings(ctx: AnswerContext, reading: Reading, passages: Sequence[Chunk], asked: Asked | None, failed: bool) -> tuple[Reading, tuple[Found, Found]] | None:
    """Each mention retrieved on its own (`川沙新镇1-7月财政总收入` and `青浦区上半年区级一般公共预算收入` live in two
    documents; one retrieval of the whole question ranks one of them): at most two more retrievals, for the mentions
    whose words the passages read do not hold, or both when no two figures were found there. Each is retrieved
    within the documents the mention may read (its place's, its document group)."""
    search = getattr(ctx, "search", None)  # None: a context without a retriever to ask (tiny tests)
    todo = [i for i, m in enumerate(reading.mentions) if not _covered(m, passages)]
    if search is None or reading.queries is None or not (todo or failed):
        return None
    sides = [list(passages), list(passages)]
    for i in todo or (0, 1):
        m = reading.mentions[i]
        own = [p.chunk for p in search(reading.queries[i], PASSAGES, m.doc_ids).passages]
        ids = {c.id for c in own}
        sides[i] = own + [c for c in passages if c.id not in ids]  # its own ranking first, then the common one
    found = _two_figures(reading.mentions, (sides[0], sides[1]), asked)
    return None if found is None else (reading, found)


def _covered(m: Mention, passages: Sequence[Chunk]) -> bool:
    """Whether the passages a mention may read hold each of its words (its time scopes in any of their forms)."""
    read = [c for c in passages if m.doc_ids is None or c.doc_id in m.doc_ids]
    held = m.place + "\x00".join(match_key(c.text + " ".join(c.heading_path)) for c in read)
    return bool(read) and all(any(form in held for form in time_forms(t)) for t in m.terms)


def _two_figures(mentions: Sequence[Mention], sides: Sides, asked: Asked | None) -> tuple[Found, Found] | None:
    if len(mentions) != 2 or any(not m.terms for m in mentions):
        return None
    first = locate(mentions[0], sides[0], exclude=None)
    second = locate(mentions[1], sides[1], exclude=first)
    if first is None or second is None:
        return None
    if common_unit(first.figure.unit, second.figure.unit) is None and asked is not None:
        # Only when it asks which or whether: `认罪认罚案件520件，占同期刑事案件的89.81%` states the share asked.
        first, second = _in_one_unit(mentions, sides, first, second)
    if first is None or second is None or common_unit(first.figure.unit, second.figure.unit) is None:
        return None  # 520件 against 89.81% measure different things: not two figures to compare
    if same_quantity(first.figure, second.figure) and (asked is None or asked.kind != "agree"):
        return None  # one figure found twice (in 万元 and in 亿元) is no comparison, unless agreement is asked
    if asked is not None and asked.change and not all(is_change(f.chunk.text[f.start : f.figure.start]) for f in (first, second)):
        return None  # `哪个降得多` compares two changes: `为预算的94.5%` is none, and no verdict is drawn from it
    return first, second


def _in_one_unit(mentions: Sequence[Mention], sides: Sides, first: Found, second: Found) -> tuple[Found | None, Found | None]:
    """Two compared figures measure one thing: when the best figures of the two mentions differ in unit
    (`团组数47个` against `公务接待费375万元`), each mention's figure in the other's unit, the better pair kept."""
    again_first = locate(replace(mentions[0], unit=second.figure.unit), sides[0], exclude=second)
    again_second = locate(replace(mentions[1], unit=first.figure.unit), sides[1], exclude=first)
    pairs = [(f, s) for f, s in ((again_first, second), (first, again_second)) if f is not None and s is not None]
    return max(pairs, key=lambda fs: fs[0].score + fs[1].score, default=(None, None))


def _text_mentions(weights: dict[str, float], pair: Compared, question: str) -> list[Mention]:
    keys = (match_key(pair.first), match_key(pair.second))
    # A figure as a term (`2` of `表2`) would match inside any number (12748): words only.
    words = {t: w for t, w in weights.items() if not FIGURE_TOKEN_RE.fullmatch(t)}
    own = [{t: w for t, w in words.items() if t in k} for k in keys]
    context = match_key(pair.shared)
    shared = {t: w for t, w in words.items() if t in context and not any(t in k for k in keys)}
    asked = frozenset(char_bigrams(question))
    return [Mention(k, tuple(TIMES_RE.findall(k)), terms, shared, None, asked=asked) for k, terms in zip(keys, own)]


def _group_mentions(weights: dict[str, float], groups: Sequence[Sequence[str]], passages: Sequence[Chunk]) -> list[Mention]:
    """Each document group of the scope is a mention; its terms are the whole question's."""
    out = []
    for group in groups[:2]:
        title = next((c.doc_title for c in passages if c.doc_id in group), "")
        prefix = messages.document_prefix(title) if title else ""
        out.append(Mention("", (), dict(weights), {}, frozenset(group), prefix))
    return out


def _computed(op: str, a: Found, b: Found, asked: Asked | None, names: tuple[str, str]) -> Claim | None:
    """The difference, ratio or sum of two figures in the same unit, with which one the question picks or whether
    they agree, as a computed clause."""
    unit = common_unit(a.figure.unit, b.figure.unit)
    if unit is None:
        return None
    scale = unit[2] / unit[1]
    verdict = _verdict(asked, a, b, scale, names)
    result = None
    if op == "ratio" or unit[2] == 1:  # 亿元 against 万元: only their ratio is shown
        result = compute(op, a.figure.value, b.figure.value, scale)
    if verdict is not None and verdict.agree:
        result = None  # agreeing figures: nothing to add but that they agree
    if result is None and verdict is None:
        return None
    body = _result_text(op, result, a.figure.unit) if result is not None else ""
    if verdict is not None:
        body = messages.with_verdict(verdict_text(verdict), body)
    sources = [a.chunk] if a.chunk.id == b.chunk.id else [a.chunk, b.chunk]
    return Claim(
        text=body,
        sources=sources,
        quotes=[a.quote] if len(sources) == 1 else [a.quote, b.quote],
        computed=Computation(op, (a.figure.value, b.figure.value), result or "", str(scale), verdict),
    )


def _result_text(op: str, result: str, unit: str) -> str:
    if op == "ratio":
        return messages.computed_ratio(result)
    if op == "sum":
        return messages.computed_sum(result, unit)
    return messages.computed_difference(result, unit)


def _verdict(asked: Asked | None, a: Found, b: Found, scale: Decimal, names: tuple[str, str]) -> Verdict | None:
    """Which figure the question picks (none on a tie or without both names), or whether the two agree."""
    if asked is None:
        return None
    values = (a.figure.value, b.figure.value)
    if asked.kind == "agree":
        return Verdict(asked, names, agree=agrees(*values, scale))
    signs = tuple(change_sign(f.chunk.text[f.start : f.figure.start]) for f in (a, b))
    picked = winner(asked, *values, scale, signs)
    if picked is None or not all(names):
        return None
    return Verdict(asked, names, signs, winner=picked)
