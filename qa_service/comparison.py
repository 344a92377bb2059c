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
from typing import TYPE_CHECKING

from ingest.models import Chunk
from ingest.zh import char_bigrams, match_key
from ingest.zh.comparison import Compared, common_unit, compared, compute, is_comparison, same_quantity
from ingest.zh.numbers import FIGURE_TOKEN_RE

from . import messages
from .claims import Claim, Computation, DraftAnswer
from .figure_locator import PASSAGES, TIMES_RE, Found, Mention, figure_claim, locate

if TYPE_CHECKING:
    from .answerers import AnswerContext


class ComparisonAnswerer:
    mode = "extractive"
    free_text = False

    def answer(self, ctx: AnswerContext) -> DraftAnswer | None:
        analysis = ctx.analysis
        passages = [p.chunk for p in ctx.retrieved.passages[:PASSAGES]]
        if not is_comparison(analysis.text):
            return None
        pair = compared(analysis.text)
        if pair is not None:
            mentions, op = _text_mentions(analysis.question.weights, pair, analysis.question.norm), pair.op
        elif analysis.scope.is_comparison:
            mentions, op = _group_mentions(analysis.question.weights, analysis.scope.groups, passages), "difference"
        else:
            return None
        if len(mentions) != 2 or any(not m.terms for m in mentions):
            return None
        first = locate(mentions[0], passages, exclude=None)
        second = locate(mentions[1], passages, exclude=first)
        if first is None or second is None or common_unit(first.figure.unit, second.figure.unit) is None:
            return None  # 520件 against 89.81% measure different things: not two figures to compare
        if same_quantity(first.figure, second.figure):
            return None  # one figure found twice (in 万元 and in 亿元) is no comparison
        claims = [figure_claim(found, m.prefix) for found, m in zip((first, second), mentions)]
        computed = _computed(op, first, second)
        if computed is not None:
            claims.append(computed)
        return DraftAnswer(claims=claims)


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
