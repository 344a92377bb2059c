"""The parts of a question a follow-up leans on, read with jieba's POS tagger rather than phrase lists.

A question such as `青浦区法院上半年受理各类案件多少件？` has a *frame* (place, body, time scope: 青浦区法院上半年),
a *measured* run naming what it counts (predicate and object: 受理各类案件, with its verb run 受理) and an
*ask* (多少件？). A follow-up (`审结了多少件？`, `那审结呢？`, `其中一般公共预算收入是多少？`) keeps the previous
question and replaces the part its own words stand for: a verb replaces the verb run, a noun phrase the
measured run. Which words belong to which part comes from their POS tags, not from lists of phrasings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from .answer import MARKER_RE
from .lexicon import alternation, tagged, words
from .names import FOLLOW_UP_BODY_RE, OFFICE_NAME_RE
from .places import follow_up_place_re
from .pos import use_hmm
from .question import FIGURE_RE, FOLLOW_UP_PRONOUN_RE, TRAILING_PARTICLES_RE, follow_up_question
from .time import comparison_bases, time_scope_re

_ASK_RE = re.compile("^(?:" + alternation(tagged("ask_words", "ask")) + ")")
_PERSON_PRONOUN_RE = re.compile("^(?:" + alternation(words("person_pronouns")) + ")")
# A given name after a surname jieba tags alone: one or two Han characters that jieba reads as a noun, a name
# or an adjective (`晶晶` n).
_GIVEN_NAME_FLAGS = ("n", "a")
_HAN_RUN_RE = re.compile(r"[\u4e00-\u9fff]{1,2}")
_ANSWER_PARTS_RE = re.compile(r"[；;。\n]")
_COPULAS = frozenset(tagged("ask_words", "copula"))
_COPULA = "是"  # joins an ask word moved after the phrase it asks about: `…主任是谁？`
# What a question about a measure of another kind asks: `…企业的注册资金是多少？`, `…结案率是多少？`.
NEUTRAL_ASK = _COPULA + "多少？"
_REFERRING = frozenset(tagged("follow_up_pronouns", "refer"))
# POS tags (jieba, ICTCLAS set) of words that name a thing: nouns, proper names, verbal nouns, abbreviations
# (六保), time words, foreign words. A question without one of its own has no subject of its own.
_NOUN_FLAGS = ("n", "vn", "an", "j", "t", "s", "eng")
# POS tags of a predicate: verbs (not verbal nouns), adverbial verbs.
_VERB_FLAGS = frozenset({"v", "vd", "vi", "vq"})
# POS tags of the words of a noun phrase naming a post or body (`青浦区发展和改革委员会主任`: ns vn c vn n b):
# nouns, names, verbal nouns, distinguishing words (主任 is b), abbreviations, foreign words, and a conjunction
# between two of them (发展和改革).
_PHRASE_FLAGS = ("n", "vn", "b", "j", "eng")
_PHRASE_JOINERS = frozenset({"c"})
# POS tags that open an adverbial before a predicate: adverbs, prepositions (`比去年同期增长…`).
_ADVERBIAL_FLAGS = frozenset({"d", "p"})
# Particles a follow-up's content may end with before its ask (`审结的有多少件`, `审结了`).
_LINKING_FLAGS = frozenset({"uj", "ul", "uz", "ug", "uv", "y", "x"})
# POS tags of words that are never part of the name of a place or body: particles, numerals, verbs.
_NOT_NAME_FLAGS = _LINKING_FLAGS | _VERB_FLAGS | {"m", "q"}
# POS tags of the words between an ask word and the thing it counts: numerals and classifiers (`多少件`, `几家`).
_COUNT_FLAGS = ("m", "q", "zg")
_MODIFIER_MARK = "的"  # `那民事的呢？`: the kind of the thing counted


@dataclass(frozen=True)
class Token:
    word: str
    flag: str
    start: int
    end: int


@cache
def _posseg():
    import jieba.posseg  # loaded on first use: a follow-up is rare, the dictionary is large

    return jieba.posseg


def tokens(text: str) -> tuple[Token, ...]:
    out: list[Token] = []
    pos = 0
    for pair in _posseg().cut(text, HMM=use_hmm(text)):
        out.append(Token(pair.word, pair.flag, pos, pos + len(pair.word)))
        pos += len(pair.word)
    return tuple(out)


def _ask_index(toks: tuple[Token, ...]) -> int:
    """Index of the first token of the asking part (a copula right before the asking word included)."""
    for i, t in enumerate(toks):
        if _ASK_RE.match(t.word):
            return i - 1 if i > 0 and toks[i - 1].word in _COPULAS else i
    return len(toks)


@cache
def _scope_level_re() -> re.Pattern[str]:
    return re.compile(alternation(words("scope_levels")))


def _frame_spans(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Where the question names a place or a body, and where a time scope or the level its figure is counted at
    (本级). A name's pattern may reach back over a particle or numeral (`了几次常委` of `召开了几次常委会会议`, read
    as a body before 委), a time scope is made of numerals (`1-7月`)."""
    names = [m.span() for pattern in (follow_up_place_re(), FOLLOW_UP_BODY_RE) for m in pattern.finditer(text)]
    scopes = [m.span() for pattern in (time_scope_re("question"), _scope_level_re()) for m in pattern.finditer(text)]
    return names, scopes


@dataclass(frozen=True)
class QuestionParts:
    text: str
    measured: tuple[int, int]  # offsets of what is measured (predicate and object), right before the ask
    verbs: tuple[int, int] | None  # what a bare predicate replaces: the first verb run inside `measured` (its head)
    ask: int  # offset where the asking part starts (len(text) when there is none)
    counted: tuple[int, int] | None = None  # the noun phrase the ask counts after it: 刑事案件 in `多少件刑事案件`
    predicate: bool = False  # what is measured ends in a verb or verbal noun (`批准逮捕`): it counts an action

    @property
    def subject(self) -> str:
        """Everything before the ask: `青浦区法院上半年受理各类案件`."""
        return self.text[: self.ask]


def question_parts(question: str) -> QuestionParts:
    text = question.strip()
    toks = tokens(text)
    ask_i = _ask_index(toks)
    names, scopes = _frame_spans(text)
    bases = comparison_bases(text)

    def in_frame(t: Token) -> bool:
        def overlaps(spans: list[tuple[int, int]]) -> bool:
            return any(s < t.end and t.start < e for s, e in spans)

        if overlaps(bases):  # `比去年同期增长`: the base of a change is part of what is measured, not its time
            return False
        return t.flag in ("ns", "nt", "t") or overlaps(scopes) or (t.flag not in _NOT_NAME_FLAGS and overlaps(names))

    first = ask_i
    while first > 0 and not in_frame(toks[first - 1]):
        first -= 1
    run = toks[first:ask_i]
    ask = toks[ask_i].start if ask_i < len(toks) else len(text)
    measured = (run[0].start, run[-1].end) if run else (ask, ask)
    verb_idx = [i for i, t in enumerate(run) if t.flag in _VERB_FLAGS]
    verbs = None
    if verb_idx:
        last = verb_idx[0]
        while last + 1 < len(run) and run[last + 1].flag in _VERB_FLAGS:
            last += 1
        # A run of verbs ending what is measured names a measure (`一般公共预算收入`: jieba 预算/v 收入/v), whose
        # head is its last word: `支出呢？` asks 预算支出. A run before an object is the predicate (`受理各类案件`).
        first = last if last == len(run) - 1 and last > verb_idx[0] else verb_idx[0]
        verbs = (run[first].start, run[last].end)
    predicate = bool(run) and (run[-1].flag in _VERB_FLAGS or run[-1].flag == "vn")
    return QuestionParts(text, measured, verbs, ask, _counted(toks, ask_i), predicate)


def _counted(toks: tuple[Token, ...], ask_i: int) -> tuple[int, int] | None:
    """The noun phrase right after the ask word and its classifier (`多少件刑事案件`, `几家企业`), if any."""
    i = ask_i + 1
    if ask_i < len(toks) and toks[ask_i].word in _COPULAS:
        i += 1  # `是多少…`: the copula opens the asking part
    while i < len(toks) and toks[i].flag.startswith(_COUNT_FLAGS):
        i += 1
    first = i
    while i < len(toks) and toks[i].flag.startswith(_PHRASE_FLAGS):
        i += 1
    return (toks[first].start, toks[i - 1].end) if i > first else None


@dataclass(frozen=True)
class FollowUp:
    """A follow-up's own words: `那审结呢？` -> content 审结, no ask; `它的同比增幅是多少？` refers back."""

    text: str  # without its leading pronoun and trailing particles
    content: str  # the words before its ask, linking particles dropped: 审结
    refers: bool  # starts with a pronoun pointing at what the previous question measured (它, 其)
    asks: bool  # has an asking part of its own (多少件)
    verb_only: bool  # its content is a predicate without a noun of its own
    has_subject: bool  # names a thing of its own (a noun that is not a figure word)
    starts_with_predicate: bool  # `完成了…`, `同比增长了多少` (a verb or adverb first)
    has_object: bool = False  # a verb followed by a thing in its words: `完成调整预算` (not `不批准逮捕`, `审结`)

    @property
    def own_ask(self) -> str:
        """Its asking part as a question's end: `公务接待费花了多少` -> `了多少？`."""
        return self.text[len(self.content) :] + "？"


def read_follow_up(question: str) -> FollowUp:
    q = question.strip()
    lead = FOLLOW_UP_PRONOUN_RE.match(q)  # longest pronoun first: `其中` (shift) before `其` (refer)
    refers = bool(lead) and lead.group(0) in _REFERRING
    text = TRAILING_PARTICLES_RE.sub("", q[lead.end() :] if lead else q)
    toks = tokens(text)
    ask_i = _ask_index(toks)
    head = list(toks[:ask_i])
    while head and head[-1].flag in _LINKING_FLAGS:
        head.pop()
    content = text[: head[-1].end] if head else ""
    # A time word names when, not what: `比去年同期增长多少？` names nothing of its own (jieba tags 去年同期 n).
    times = [m.span() for m in time_scope_re("question").finditer(text)]
    nouns = [t for t in toks if t.flag.startswith(_NOUN_FLAGS) and t.flag != "t" and not FIGURE_RE.fullmatch(t.word)
             and not any(s < t.end and t.start < e for s, e in times)]
    verb_only = bool(head) and not any(t.flag.startswith(_NOUN_FLAGS) for t in head) and any(
        t.flag in _VERB_FLAGS for t in head
    )
    # `同比下降了多少` starts with a predicate too: a figure word (同比) before a verb is its adverbial.
    starts_with_predicate = bool(toks) and (toks[0].flag in _VERB_FLAGS | _ADVERBIAL_FLAGS or (
        len(toks) > 1 and FIGURE_RE.fullmatch(toks[0].word) is not None and toks[1].flag in _VERB_FLAGS))
    verb_at = next((i for i, t in enumerate(head) if t.flag in _VERB_FLAGS), None)
    has_object = verb_at is not None and any(t.flag.startswith(_NOUN_FLAGS) for t in head[verb_at + 1 :])
    return FollowUp(text, content, refers, ask_i < len(toks), verb_only, bool(nouns), starts_with_predicate, has_object)


def head_phrase(follow: FollowUp, previous: str) -> str | None:
    """The follow-up with its head noun replaced by the previous question's noun phrase ending in that noun:
    `原来的主任是谁？` after `第三十六次会议任命谁为青浦区发展和改革委员会主任？` ->
    `原来的青浦区发展和改革委员会主任是谁？`. Alone, `原来的主任` names no office, and the question's parts
    (`question_parts`) end at its ask word, so the office after `谁为` would be lost.

    None when the follow-up's head is modified by a noun of its own (`副主任`, `一般公共预算收入`: another post or
    measure, `sibling_phrase`) or the previous question has no longer phrase for it."""
    own = tokens(follow.content)
    if not own or not own[-1].flag.startswith(_PHRASE_FLAGS):
        return None
    head = own[-1]
    if len(own) > 1 and own[-2].flag.startswith(_PHRASE_FLAGS):
        return None
    text = previous.strip()
    before = tokens(text)
    found = _phrase_with_head(before, head.word)
    if found is None:
        return None
    first, last = found
    phrase = text[before[first].start : before[last].end]
    return follow.text[: head.start] + phrase + _rest(follow, head, before, last)


def sibling_phrase(follow: FollowUp, previous: str) -> str | None:
    """The previous question with its noun phrase replaced by the follow-up's, when both are modified forms of
    one head: `主任会议呢？` after `区人大常委会上半年举行了几次常委会会议？` -> `…举行了几次主任会议？` (the asking
    part `几次` sits before the phrase, where replacing what is measured before the ask cannot reach it). None
    unless the follow-up is a noun phrase of two or more words asking nothing else, its head not ranked by a
    one-character distinguishing word (`副`), and the previous question's phrase with that head has a modifier
    too. Heads are jieba's words: `民事案件` and `刑事案件` are one word each, so no shared head is seen."""
    own = tokens(follow.content)
    if len(own) < 2 or follow.text != follow.content or not all(_in_phrase(own, i) for i in range(len(own))):
        return None
    if own[-2].flag == "b" and len(own[-2].word) == 1:  # `副主任`: a rank of the same post, whose body the
        return None  # previous phrase names (a one-character distinguishing word; 主任 of `主任会议` is b too)
    text = previous.strip()
    before = tokens(text)
    found = _phrase_with_head(before, own[-1].word)
    if found is None:
        return None
    first, last = found
    return text[: before[first].start] + follow.content + text[before[last].end :]


def counted_phrase(follow: FollowUp, previous: str) -> str | None:
    """The previous question with the thing its ask counts (`…受理了多少件刑事案件？`) replaced by the follow-up's
    noun phrase when both name one kind of thing (same last character: `民事案件呢？` -> `…多少件民事案件？`), or with
    its modifier replaced (`那民事的呢？`). A noun phrase of another kind is a measure of the things counted:
    `注册资金呢？` after `…引进了多少家企业？` -> `…引进企业的注册资金是多少？`. None when the follow-up is no bare noun
    phrase or the previous question counts nothing after its ask."""
    content = follow.content
    own = tokens(content)
    if follow.refers or follow.asks or not own or not all(_in_phrase(own, i) for i in range(len(own))):
        return None
    text = previous.strip()
    parts = question_parts(text)
    if parts.counted is None:
        return None
    s, e = parts.counted
    counted = text[s:e]
    if follow.text == content + _MODIFIER_MARK:
        if len(counted) <= len(content):
            return None
        return text[:s] + content + counted[len(content):] + text[e:]
    if follow.text != content:
        return None
    if content[-1] == counted[-1]:
        return text[:s] + content + text[e:]
    predicate = [t for t in tokens(text) if t.end <= parts.ask]
    while predicate and predicate[-1].flag in _LINKING_FLAGS:  # `引进了` -> `引进`
        predicate.pop()
    head = text[: predicate[-1].end] if predicate else ""
    return f"{head}{counted}{_MODIFIER_MARK}{content}{NEUTRAL_ASK}"


def _phrase_with_head(toks: tuple[Token, ...], head: str) -> tuple[int, int] | None:
    """The last noun phrase of `toks` ending in `head` and longer than it: (first, last) token indices."""
    for i in range(len(toks) - 1, -1, -1):
        if not toks[i].word.endswith(head):  # jieba may join the head to its body: 局局长
            continue
        first = i
        while first > 0 and _in_phrase(toks, first - 1):
            first -= 1
        if toks[i].end - toks[first].start == len(head):
            return None
        return first, i
    return None


def _rest(follow: FollowUp, head: Token, before: tuple[Token, ...], phrase_end: int) -> str:
    """What follows the phrase in the standalone question: the follow-up's own ask, else the previous question's
    (`那原来的局长呢？` after `…局长是谁？` -> `是谁？`; after `…任命谁为…主任？` -> `是谁？` too)."""
    if follow.asks:
        return follow.text[head.end :] + "？"
    ask_i = _ask_index(before)
    if ask_i > phrase_end:
        return "".join(t.word for t in before[phrase_end + 1 :])
    if ask_i < len(before):
        return _COPULA + before[ask_i].word + "？"
    return "？"


def _in_phrase(toks: tuple[Token, ...], i: int) -> bool:
    """Whether toks[i] continues leftwards the noun phrase that starts at toks[i + 1]."""
    if toks[i].flag.startswith(_PHRASE_FLAGS):
        return True
    return toks[i].flag in _PHRASE_JOINERS and i > 0 and toks[i - 1].flag.startswith(_PHRASE_FLAGS)


def named_person(question: str, answer: str) -> str | None:
    """The question with its leading person pronoun replaced by the first person the previous answer names
    (jieba's POS tag nr): `他之前担任什么职务？` after `会议任命卫星同志为…主任。` -> `卫星之前担任什么职务？`.
    None when it starts with no such pronoun or the answer names no one."""
    q = question.strip()
    lead = _PERSON_PRONOUN_RE.match(q)
    if not lead:
        return None
    name = _first_person(answer)
    return name + q[lead.end() :] if name else None


def _first_person(answer: str) -> str | None:
    """The first name jieba tags a person (nr), else a name after an office (`…局长 朱要武`, which jieba splits).
    A surname jieba tags alone (`杨` / `晶晶`) takes the one or two characters after it."""
    toks = tokens(answer)
    for i, t in enumerate(toks):
        if not t.flag.startswith("nr"):
            continue
        if len(t.word) >= 2:
            return t.word
        given = toks[i + 1] if i + 1 < len(toks) else None
        if given is not None and given.flag.startswith(_GIVEN_NAME_FLAGS) and _HAN_RUN_RE.fullmatch(given.word):
            return t.word + given.word
    for part in _ANSWER_PARTS_RE.split(MARKER_RE.sub("", answer)):
        m = OFFICE_NAME_RE.match(part.strip())
        if m:
            return "".join(m.group("name").split())
    return None


def names_place_or_body(question: str) -> bool:
    """Whether a question names a place or a body of its own (a time scope alone does not count)."""
    text = question.strip()
    return any(p.search(text) for p in (follow_up_place_re(), FOLLOW_UP_BODY_RE)) or any(
        t.flag in ("ns", "nt") for t in tokens(text))


def names_frame(question: str) -> bool:
    """Whether a question names a place, a body or a time scope of its own."""
    return any(_frame_spans(question.strip())) or any(t.flag in ("ns", "nt") for t in tokens(question.strip()))


def scope_levels(text: str) -> list[str]:
    """The levels a text counts its figures at: `2019年青浦区本级“三公”经费` -> 本级."""
    return _scope_level_re().findall(text)


def scope_level(fragment: str) -> str | None:
    """The level a follow-up names when that is all it names: `区本级呢？` -> 区本级."""
    m = _scope_level_re().fullmatch(fragment.strip())
    return m.group(0) if m else None


def with_level(previous: str, level: str) -> str:
    """The previous question counted at another level: its own level replaced, else the level put before what it
    measured (`青浦区2019年一般公共预算收入是多少？` + 区本级 -> `青浦区2019年区本级一般公共预算收入是多少？`)."""
    text = previous.strip()
    m = _scope_level_re().search(text)
    if m is not None:
        return text[: m.start()] + level + text[m.end() :]
    at = question_parts(text).measured[0]
    return text[:at] + level + text[at:]


def ends_in_change(phrase: str) -> bool:
    """Whether a phrase ends in a predicate stating a change, particles aside: `区对镇转移支付增长了`."""
    own = list(tokens(phrase))
    while own and own[-1].flag in _LINKING_FLAGS:
        own.pop()
    return bool(own) and own[-1].word in words("change_verbs")


@cache
def change_re() -> re.Pattern[str]:
    """A predicate stating a change, in a passage's clause: `增长4.3%`, `同比下降13.2%`."""
    return re.compile(alternation(words("change_verbs")))


def wants_figure(question: str) -> bool:
    return bool(FIGURE_RE.search(question))


def added_to(subject: str, follow: FollowUp) -> str:
    """A follow-up added to the previous subject: `…财政总收入` + `的同比增幅是多少` -> `…财政总收入的同比增幅是多少？`;
    a predicate joins without `的`: `…固定资产投资` + `完成了年初目标的百分之几` -> `…投资完成了年初目标的百分之几？`."""
    if follow.starts_with_predicate:
        return f"{subject}{follow.text}？"
    return follow_up_question(subject, follow.text)
