"""Follow-up questions made standalone (`那下半年呢？`, `审结了多少件？`, `它的同比增幅是多少？`) without a model.

The previous user question gives the subject and scope; the follow-up keeps all of it except the part
its own words replace: a time scope, a place or body, the predicate (`审结` for `受理`) or what is
measured (`一般公共预算收入` for `财政总收入`). A follow-up that refers back (`它的…`) or asks for another
measure (`同比增长了多少？` after `…多少件？`) is added to the previous subject instead. The parts are read
by POS (ingest.zh.follow_up), not by lists of phrasings. With an LLM configured, `llm.py` rewrites
instead and this is the fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ingest.zh import match_key
from ingest.zh.follow_up import (
    NEUTRAL_ASK,
    FollowUp,
    added_to,
    counted_phrase,
    ends_in_change,
    head_phrase,
    named_person,
    names_frame,
    names_place_or_body,
    question_parts,
    read_follow_up,
    scope_level,
    sibling_phrase,
    wants_figure,
    with_level,
)
from ingest.zh.names import FOLLOW_UP_BODY_RE, formal_body
from ingest.zh.places import follow_up_place_re
from ingest.zh.question import (
    FOLLOW_UP_PRONOUN_RE,
    FOLLOW_UP_TAIL_RE,
    TRAILING_PARTICLES_RE,
    asked_unit,
)
from ingest.zh.time import YEAR_RE, time_scope_re

from .schemas import MAX_QUERY_CHARS, Turn

_FOLLOWUP_MAX = 16
# A place: `川沙新镇`, `青浦区`, `浦东新区`, `上海市`.
_PLACE_RE = follow_up_place_re()
# Time scopes as query analysis reads them: `那下半年呢？` swaps 上半年 for 下半年.
_TIME_SCOPE_RE = time_scope_re("question")


def last_answer(history: Sequence[Turn]) -> str | None:
    """The last assistant turn, if it is not longer than a question may be (a long turn is not read)."""
    for turn in reversed(history):
        if turn.role == "assistant" and turn.content.strip():
            text = turn.content.strip()
            return text if len(text) <= MAX_QUERY_CHARS else None
    return None


def is_follow_up(question: str) -> bool:
    """A short question that leans on a pronoun or `呢`, or names nothing of its own (`审结了多少件？`)."""
    q = question.strip()
    if len(q) > _FOLLOWUP_MAX:
        return False
    if FOLLOW_UP_PRONOUN_RE.match(q) or FOLLOW_UP_TAIL_RE.search(q):
        return True
    follow = read_follow_up(q)
    # A figure is always of some place, body and period: asked without any (`同期结案率是多少？`), they are
    # the previous question's. A question opening with its predicate (`完成了全年目标的多少？`) says it of
    # the previous subject unless it names a place or body of its own.
    return (not follow.has_subject or (wants_figure(q) and not names_frame(q))
            or (follow.starts_with_predicate and not names_place_or_body(q)))


def condense(question: str, history: Sequence[Turn] | None) -> str:
    """The question as it would be asked alone, using the earlier user turns (and the last answer, for the
    person a pronoun stands for)."""
    if not history:
        return question
    answer = last_answer(history)
    question = (named_person(question, answer) if answer else None) or question
    if not is_follow_up(question):
        return question
    previous = _standalone_previous(history)
    if not previous:
        return question
    return _resolve(question, previous) or question


def _standalone_previous(history: Sequence[Turn]) -> str | None:
    """The last user question made standalone itself: in `川沙…是多少？` → `那下半年呢？` → `它的同比增幅呢？`,
    the third turn needs `川沙…下半年…`, not the bare `那下半年呢？`.

    A user turn longer than a question may be (MAX_QUERY_CHARS) was never a question this service answered: it
    is no subject to complete a follow-up from, and it is not read at all (a 20,000-character turn would only
    cost time)."""
    resolved: str | None = None
    for turn in history:
        text = turn.content.strip()
        if turn.role != "user" or not text or len(text) > MAX_QUERY_CHARS:
            continue
        resolved = (_resolve(text, resolved) or text) if resolved and is_follow_up(text) else text
    return resolved


def _resolve(question: str, previous: str) -> str | None:
    """The follow-up made standalone from the previous question; None when the previous question gives it
    nothing to lean on (it starts with its ask: `谁被任命为…？`)."""
    fragment = TRAILING_PARTICLES_RE.sub("", FOLLOW_UP_PRONOUN_RE.sub("", question.strip()))
    if not fragment:
        return previous
    new_times = _TIME_SCOPE_RE.findall(fragment)
    if new_times and "".join(new_times) == "".join(fragment.split()):
        # `那下半年呢？` after `川沙新镇上半年财政收入是多少？` -> swap the time scope; `那2020年上半年呢？` after
        # `青浦区2019年…` swaps the year and adds the period.
        return _swap_times(previous, new_times)
    level = scope_level(fragment)
    if level is not None:  # `区本级呢？`: the same measure, counted at another level
        return with_level(previous, level)
    swapped = _swap_entity(fragment, previous)
    if swapped:
        return swapped
    follow = read_follow_up(question)
    return (head_phrase(follow, previous) or sibling_phrase(follow, previous) or counted_phrase(follow, previous)
            or _replace_part(follow, previous))


def _replace_part(follow: FollowUp, previous: str) -> str | None:
    """The previous question with the part the follow-up stands for replaced, or with the follow-up added.

    `青浦区法院上半年受理各类案件多少件？` + `审结了多少件？` -> `青浦区法院上半年审结各类案件多少件？` (same
    measure asked: a parallel predicate); + `同比增长了多少？` -> `…受理各类案件同比增长了多少？` (another measure:
    a property of what was counted); + `它的同比增幅是多少？` -> added (the pronoun points back)."""
    if follow.verb_only and asked_unit(match_key(follow.content)) == "%":
        follow = replace(follow, verb_only=False, has_subject=True)  # `那审结率呢？` (jieba 审结/v 率/v): a rate, a thing
    parts = question_parts(previous)
    same_measure = not follow.asks or asked_unit(match_key(follow.text)) == asked_unit(match_key(previous))
    # A follow-up naming no thing of its own and not a bare verb (`同比下降了多少？`) says something of what was
    # measured: it is added to the previous subject, not put in place of what was measured.
    names_part = follow.has_subject or follow.verb_only
    # A change (`增长了多少？`) is said of what was measured, even where jieba tags that a predicate (转移支付).
    # So is a predicate with a thing of its own that asks on its own (`完成调整预算的多少？`); bare (`邮寄立案呢？`), it
    # names a sibling of what was measured.
    if (follow.content and same_measure and not follow.refers and names_part and not ends_in_change(follow.content)
            and not (follow.has_object and follow.asks)):
        if follow.verb_only and parts.verbs:
            s, e = parts.verbs
            return previous[:s] + follow.content + previous[e:]
        s, e = parts.measured
        # A predicate alone replaces an action counted (`起诉呢？` after `…批准逮捕多少人？`) or a measure of its
        # kind (jieba tags 收入 a verb); said of any other measure it is a property of it (`增速是多少？`).
        if e > s and (not follow.verb_only or parts.predicate or follow.content[-1] == previous[e - 1]):
            return previous[:s] + follow.content + _rest(follow, previous, e)
    if not parts.subject.strip():
        return None
    frame = previous[: parts.measured[0]]
    if follow.starts_with_predicate and follow.has_subject and not wants_figure(follow.text) and frame.strip():
        # A predicate with a thing of its own, asking no figure, is said of the previous frame (place, body,
        # period), not of what it measured: `审议了哪些议题？` after `…上半年召开了几次常委会会议？`.
        return added_to(frame, follow)
    # `它的同比增幅是多少？` -> previous subject + the new ask.
    return added_to(parts.subject, follow)


def _rest(follow: FollowUp, previous: str, end: int) -> str:
    """What follows a replaced measure ending at previous[end]: the follow-up's own ask, else the previous
    question's, unless that counts in a unit (`多少件`) and the new measure is a thing of another kind
    (`结案率呢？` after `…审结各类案件多少件？`)."""
    if follow.asks:
        return follow.own_ask
    unit = asked_unit(match_key(previous))
    if unit is not None and unit != "%" and not follow.verb_only and follow.content[-1] != previous[end - 1]:
        return NEUTRAL_ASK
    return previous[end:]


def _swap_times(previous: str, new_times: list[str]) -> str:
    """Each new time scope replaces the previous question's scope of its kind (a year a year, a period of the
    year a period): `那上半年呢？` after `…2020年1-7月…` -> `…2020年上半年…`. One with no counterpart goes after
    the new scope before it, a year before the period it dates, or where `_insert_time` puts a scope."""
    out = previous
    anchor: int | None = None
    for new in new_times:
        old = next((m for m in _TIME_SCOPE_RE.finditer(out) if _is_year(m.group(0)) == _is_year(new)), None)
        if old is not None:
            out = out[: old.start()] + new + out[old.end() :]
            anchor = old.start() + len(new)
        elif anchor is not None:
            out = out[:anchor] + new + out[anchor:]
            anchor += len(new)
        elif (other := _TIME_SCOPE_RE.search(out)) is not None and _is_year(new):
            # a year goes before the period it dates: `那2019年呢？` after `…上半年举行了…` -> `…2019年上半年…`
            out = out[: other.start()] + new + out[other.start() :]
            anchor = other.start() + len(new)
        else:
            out = _insert_time(out, new)
            anchor = out.find(new) + len(new)
    return out


def _is_year(scope: str) -> bool:
    return YEAR_RE.search(scope) is not None


def _insert_time(previous: str, time_scope: str) -> str:
    """`青浦区法院受理案件多少？` + `2021年` -> `青浦区法院2021年受理案件多少？` (after the place or body)."""
    ends = [m.end() for m in (_PLACE_RE.match(previous), FOLLOW_UP_BODY_RE.search(previous)) if m]
    at = max(ends) if ends else 0
    return previous[:at] + time_scope + previous[at:]


def _swap_entity(fragment: str, previous: str) -> str | None:
    """`那检察院呢？` after `青浦区人民法院…` -> `青浦区人民检察院…` (a body the reports are from is swapped
    alone); `那川沙新镇呢？` swaps the place."""
    body = FOLLOW_UP_BODY_RE.fullmatch(fragment)
    if body:
        old = FOLLOW_UP_BODY_RE.search(previous)
        if old and old.group(0) != fragment:
            new = formal_body(fragment, old.group(0))  # keep the formal name the reports use
            return previous[: old.start()] + new + previous[old.end() :]
        return None
    if _PLACE_RE.fullmatch(fragment):
        old = _PLACE_RE.match(previous) or _PLACE_RE.search(previous)
        if old and old.group(0) != fragment:
            return previous[: old.start()] + fragment + previous[old.end() :]
    return None
