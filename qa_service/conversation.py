"""Follow-up questions made standalone (`那下半年呢？`, `它的同比增幅是多少？`) without a model.

The previous user question gives the subject and scope; the follow-up replaces what it names anew
(a time scope, a place or body) or fills its pronoun with the previous subject. With an LLM
configured, `llm.py` rewrites instead and this is the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .question import TIME_SCOPE_RE
from .schemas import Turn

_PRONOUN_RE = re.compile(r"^(?:那么|那|它们|它|其|该项?|这个|这项|这些|此)")
_TRAILING_RE = re.compile(r"[呢吗？?。！!\s]+$")
_QUESTION_TAIL_RE = re.compile(r"(?:是多少|有多少|是什么|是哪些|有哪些|是谁|多少|怎么样|如何|情况如何)?[呢吗？?。！!\s]*$")
_FOLLOWUP_MAX = 16
_ENTITY_SUFFIX_RE = re.compile(r"[\u4e00-\u9fff]{1,8}(?:区|镇|县|法院|检察院|政府|局|委员会|人大常委会|委)")


def last_user_question(history: Sequence[Turn]) -> str | None:
    for turn in reversed(history):
        if turn.role == "user" and turn.content.strip():
            return turn.content.strip()
    return None


def is_follow_up(question: str) -> bool:
    q = question.strip()
    return len(q) <= _FOLLOWUP_MAX and bool(_PRONOUN_RE.match(q) or re.search(r"呢[？?]?$", q))


def condense(question: str, history: Sequence[Turn] | None) -> str:
    """The question as it would be asked alone, using the previous user turn."""
    if not history:
        return question
    previous = last_user_question(history)
    if not previous or not is_follow_up(question):
        return question
    fragment = _TRAILING_RE.sub("", _PRONOUN_RE.sub("", question.strip()))
    if not fragment:
        return previous
    new_times = TIME_SCOPE_RE.findall(fragment)
    old_times = TIME_SCOPE_RE.findall(previous)
    if new_times and fragment in new_times:
        # `那下半年呢？` after `川沙新镇上半年财政收入是多少？` -> swap the time scope.
        if old_times:
            return previous.replace(old_times[0], new_times[0], 1)
        return new_times[0] + previous
    entity = _ENTITY_SUFFIX_RE.fullmatch(fragment)
    old_entity = _ENTITY_SUFFIX_RE.search(previous)
    if entity and old_entity:
        # `那检察院呢？` after `法院上半年受理案件多少？` -> swap the body.
        return previous.replace(old_entity.group(0), fragment, 1)
    # `它的同比增幅是多少？` -> previous subject + the new ask.
    subject = _QUESTION_TAIL_RE.sub("", previous)
    ask = fragment.lstrip("的")
    return f"{subject}的{ask}？"
