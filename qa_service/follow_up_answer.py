"""The follow-up figure answerer: a follow-up asking for a figure, read by clause with its scope.

A follow-up's standalone question is assembled from two turns (`青浦区法院上半年受理各类案件多少件？` +
`审结了多少件？` -> `青浦区法院上半年审结各类案件多少件？`), so the conversation knows which of its words name what
is measured (`审结各类案件`, conversation's measured run) and which name the frame (place, body, time). The
figure is the one whose clause, read with the rest of its sentence, states that phrase
(qa_service.figure_locator): `1—6月，我院共受理各类案件20813件…；审结19567件`. The answerer passes on a first
question, when no figure is asked, or when no figure in the asked unit is found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.models import Chunk
from ingest.zh import char_bigrams, match_key
from ingest.zh.follow_up import question_parts
from ingest.zh.numbers import FIGURE_TOKEN_RE
from ingest.zh.places import strip_place_suffix

from .claims import DraftAnswer
from .figure_locator import PASSAGES, TIMES_RE, Mention, figure_claim, locate

if TYPE_CHECKING:
    from .answerers import AnswerContext


class FollowUpFigureAnswerer:
    mode = "extractive"
    free_text = False

    def answer(self, ctx: AnswerContext) -> DraftAnswer | None:
        q = ctx.analysis.question
        if not ctx.follow_up or not q.wants_figure or q.wants_list:
            return None
        mention = _measured(ctx.analysis.text, q.weights, q.norm, q.asked_unit)
        if mention is None:
            return None
        passages = [p.chunk for p in ctx.retrieved.passages[:PASSAGES] if _names_places(p.chunk, q.places)]
        found = locate(mention, passages, exclude=None)
        return DraftAnswer(claims=[figure_claim(found, "")]) if found is not None else None


def _names_places(chunk: Chunk, places: list[str]) -> bool:
    """A passage answers about the places the question names only when it or its document names them
    (`那高桥镇呢？` is not answered from 川沙新镇's report); when unsure the extractive answerer decides."""
    where = match_key(" ".join([chunk.doc_title, *chunk.heading_path, chunk.text]))
    return all(match_key(p) in where or match_key(strip_place_suffix(p)) in where for p in places)


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
    times = tuple(TIMES_RE.findall(norm))
    return Mention(measured, times, own, shared, None, asked=frozenset(char_bigrams(norm)), unit=unit)
