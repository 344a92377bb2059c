"""People, offices, institutions and bodies: who reported, who signed, which body a question names."""

from __future__ import annotations

import re
from functools import cache

from .lexicon import alternation, rows, tagged, words
from .text import CJK, HAN

# A person's name in a contents entry or alone on a line: 2–4 Han characters, `朱 民` spaced for alignment.
PERSON_NAME_RE = re.compile(rf"^[{CJK}](?:[ \u3000]?[{CJK}]){{1,3}}$")
# A name in an attendance grid's cell: 2–4 common Han characters, possibly with a space inside (`何 强`).
NAME_CELL_RE = re.compile(rf"^[{HAN}](?:\s?[{HAN}]){{1,3}}$")
# Words a title ends with (`报告`, `决定`): a short last field ending so is no name (`…的  报告`).
TITLE_ENDINGS: tuple[str, ...] = words("title_endings")
# `区人大常委会主任 朱明福`, `青浦区审计局局长 朱 民`: an office, spaces, a name.
OFFICE_NAME_RE = re.compile(
    rf"^(?P<office>[{CJK}、]{{2,40}}?(?:{alternation(words('office_titles'))}))"
    rf"[ \u3000\t]+(?P<name>[{CJK}](?:[ \u3000]?[{CJK}]){{1,3}})$"
)
# `青浦区人民法院`, `青浦区人民代表大会常务委员会`: a report signed by an institution, not a person.
INSTITUTION_RE = re.compile(rf"^[{CJK}]{{2,40}}(?:{alternation(tagged('institution_suffixes', 'reporter'))})$")
# `上海市青浦区人民代表大会常务委员会公报`: an institution's gazette, as a running header.
INSTITUTION_GAZETTE_RE = re.compile(rf"^\S{{2,40}}(?:{alternation(tagged('institution_suffixes', 'gazette'))})公报$")
# Any gazette title line (`…统计公报`): page furniture only when it repeats or interrupts a table.
ANY_GAZETTE_RE = re.compile(r"^\S{2,40}公报$")
# A body's name after a known place: `青浦区` + `经济委员会` (2–10 characters + a body suffix).
ORG_SUFFIX = rf"[{HAN}]{{2,10}}?(?:{alternation(tagged('institution_suffixes', 'org'))})"
# A body a follow-up question swaps: `那检察院呢？` -> 人民检察院 replaces 人民法院; also `人大常委会`,
# `经济委员会`, `审计局`, `发改委`.
# A body word before 性 is an attribute, no body: `政府性基金收入`.
FOLLOW_UP_BODY_RE = re.compile(r"(?:(?:人民)?(?:法院|检察院|政府)|人大常委会|[\u4e00-\u9fff]{0,4}?(?:委员会|局|委))(?!性)")
# The kind of body a FOLLOW_UP_BODY_RE match names, by its last word: `青浦检察院` -> 检察院, `区审计局` -> 局.
_BODY_HEAD_RE = re.compile(r"(?:法院|检察院|政府|人大常委会|委员会|局|委)$")


def body_heads(text: str) -> list[str]:
    """The kinds of body a text names (`那检察院呢？` -> 检察院): a court's passage does not answer for them."""
    return [h.group(0) for m in FOLLOW_UP_BODY_RE.finditer(text) if (h := _BODY_HEAD_RE.search(m.group(0)))]


# Words near a person's name (`任命`, `院长`), or a sentence ending in a 2–3 character name.
NAME_HINT_RE = re.compile(alternation(words("name_hints")) + rf"|[{HAN}]{{2,3}}$")
# The prefix of a people's body's formal name: `人民法院`, `人民政府`.
PEOPLES = "人民"
# Bodies named without `人民` in a follow-up (`那检察院呢？`): see data/short_bodies.txt.
SHORT_BODIES: frozenset[str] = frozenset(words("short_bodies"))


def formal_body(new: str, old: str) -> str:
    """The body a follow-up swaps in, as the reports name it: `检察院` replacing `人民法院` -> 人民检察院;
    `审计局`, or any body replacing one without `人民`, stays as written."""
    if old.startswith(PEOPLES) and new in SHORT_BODIES:
        return PEOPLES + new
    return new


@cache
def body_short_forms() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(title regex, aliases) pairs from `data/body_short_forms.txt`; `{0}` in an alias is the regex's group."""
    return tuple((row[0], tuple(row[1:])) for row in rows("body_short_forms"))


def body_aliases(title: str, reporter: str | None) -> str:
    """A document's alias text: title, reporter and the short forms of its body
    (`青浦区人民法院…报告` -> … 青浦区法院 区法院 法院 青浦法院)."""
    parts = [title, reporter or ""]
    for pattern, forms in body_short_forms():
        for m in re.finditer(pattern, title):
            groups = m.groups()
            parts.extend(f.format(*groups) for f in forms)
    return " ".join(parts)
