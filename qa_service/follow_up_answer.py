"""The follow-up figure answerer: a follow-up asking for a figure, read by clause with its scope.

A follow-up's standalone question is assembled from two turns (`青浦区法院上半年受理各类案件多少件？` +
`审结了多少件？` -> `青浦区法院上半年审结各类案件多少件？`), so the conversation knows which of its words name what
is measured (`审结各类案件`, conversation's measured run) and which name the frame (place, body, time). The
figure is the one whose clause, read with the rest of its sentence, states that phrase
(qa_service.figure_locator): `1—6月，我院共受理各类案件20813件…；审结19567件`. A question about how the measure
changed (`…转移支付增长了多少？`, `…比去年同期增长多少？`) takes the figure a change predicate states after the clause
naming the measure (`区对镇转移支付136096万元，完成预算的96.6%，增长4.3%`). Passages are read only from documents
naming the question's places (the index's place lookup) and kinds of body. The answerer passes on a first
question, when no figure is asked, when a table row names what is measured (its columns, such as target and
actual, are read with their headers by the ranked answerer), or when no figure in the asked unit is found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.models import Chunk
from ingest.zh import char_bigrams, match_key
from ingest.zh.follow_up import change_re, ends_in_change, question_parts, scope_levels
from ingest.zh.names import body_heads
from ingest.zh.numbers import FIGURE_TOKEN_RE
from ingest.zh.places import strip_place_suffix
from ingest.zh.time import comparison_bases, comparison_phrases, figure_scopes

from .claims import DraftAnswer
from .comparison import PlaceDocs
from .figure_locator import PASSAGES, Found, Mention, figure_claim, locate

if TYPE_CHECKING:
    from .answerers import AnswerContext


class FollowUpFigureAnswerer:
    mode = "extractive"
    free_text = False

    def __init__(self, place_docs: PlaceDocs | None = None) -> None:
        self.place_docs = place_docs  # place -> the documents naming it (the index's lookup), or None

    def answer(self, ctx: AnswerContext) -> DraftAnswer | None:
        q = ctx.analysis.question
        if not ctx.follow_up or not q.wants_figure or q.wants_list:
            return None
        mention = _measured(ctx.analysis.text, q.weights, q.norm, q.asked_unit)
        if mention is None:
            return None
        bodies = body_heads(ctx.analysis.text)
        passages = [p.chunk for p in ctx.retrieved.passages[:PASSAGES]
                    if _names_places(p.chunk, q.places, self.place_docs) and _names_bodies(p.chunk, bodies)]
        if any(_row_states(c, mention) for c in passages):
            return None  # a table row's figures are read with their column headers (target, actual) by the ranker
        found = locate(mention, passages, exclude=None)
        if found is None or not _states_levels(found, scope_levels(ctx.analysis.text)):
            return None
        return DraftAnswer(claims=[figure_claim(found, "")])


def _states_levels(found: Found, levels: list[str]) -> bool:
    """Whether the figure's quote names the levels the question counts at (`区本级…`, not `全区…`): a level is frame
    to the rewriting, so the locator does not require it."""
    quote = match_key(found.quote)
    return all(match_key(level) in quote for level in levels)


def _row_states(chunk: Chunk, mention: Mention) -> bool:
    """Whether a table row names every term of what is measured (`指标名称：新增就业岗位；年初预期目标：…`)."""
    if chunk.kind != "table_row":
        return False
    text = match_key(chunk.text)
    return all(t in text for t in mention.terms)


def _names_places(chunk: Chunk, places: list[str], place_docs: PlaceDocs | None) -> bool:
    """A passage answers about the places the question names only when it or its document names them
    (`那高桥镇呢？` is not answered from 川沙新镇's report; that report names 川沙新镇 in its opening lines, which the
    index's place lookup reads); when unsure the extractive answerer decides."""
    where = _named_in(chunk)
    return all(match_key(p) in where or match_key(strip_place_suffix(p)) in where
               or (place_docs is not None and chunk.doc_id in place_docs(p)) for p in places)


def _names_bodies(chunk: Chunk, bodies: list[str]) -> bool:
    """A passage answers for the bodies the question names (`青浦检察院…`) only when it or its document names their
    kind: the court's report says `我院共受理各类案件20813件` too."""
    where = _named_in(chunk)
    return all(b in where for b in bodies)


def _named_in(chunk: Chunk) -> str:
    """What a passage names, with its document title and headings (a match key)."""
    return match_key(" ".join([chunk.doc_title, *chunk.heading_path, chunk.text]))


def _measured(question: str, weights: dict[str, float], norm: str, unit: str | None) -> Mention | None:
    """The question's measured run as the phrase to locate; its frame's terms are shared context."""
    parts = question_parts(question)
    start, end = parts.measured
    measured = match_key(question[start:end])
    words = {t: w for t, w in weights.items() if not FIGURE_TOKEN_RE.fullmatch(t)}
    own = {t: w for t, w in words.items() if t in measured}
    if not own:
        return None
    subject = match_key(parts.subject)
    shared = {t: w for t, w in words.items() if t not in own and t in subject}
    times = tuple(figure_scopes(norm))  # `比去年同期` names the base of a change, not when the figure is
    change = ends_in_change(question[start:end])
    if change:
        # The change is matched by the clause's own predicate (`同比下降13.2%` answers `比去年同期增长多少`), so
        # its words and the base it is against are no terms the clause must hold.
        against = [match_key(question[s:e]) for s, e in comparison_bases(question)]
        against += [match_key(p) for p in comparison_phrases(question)]
        own = {t: w for t, w in own.items()
               if not change_re().fullmatch(t) and not any(t in a or a in t for a in against)} or own
    return Mention(measured, times, own, shared, None, asked=frozenset(char_bigrams(norm)), unit=unit, change=change)
