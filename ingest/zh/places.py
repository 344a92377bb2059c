"""Place names: one pattern builder over one suffix list (`data/place_suffixes.txt`).

Every caller gets a named pattern below; the suffix variant it uses is a tag in the data file, where a
comment says why it differs. `川沙新镇`, `浦东新区`, `青浦区`, `夏阳街道`, `上海市`.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from .lexicon import alternation, tagged, tagged_char_class, words
from .pos import posseg, use_hmm
from .text import HAN

# Places whose bodies' names (`青浦区经济委员会`) the tokenizer learns even when no `…人民政府` line names them.
HOME_PLACES: tuple[str, ...] = words("home_places")

Capture = Literal["place", "name", "suffix"]
# jieba POS tags the words of a question's place name may carry: place names, nouns, names, abbreviations and
# place words (`青浦`, `川沙`, `路口`). A place starts where a word starts, and a verb, pronoun, numeral or time
# word before a suffix makes a phrase: `核定青浦区` names 青浦区, `为什么不当区人大代表` and `分布在哪些地区` none.
PLACE_NAME_TAGS = frozenset({"ns", "n", "nr", "nz", "nt", "j", "nrt", "nrfg", "ng", "s"})


@cache
def place_suffixes(variant: str) -> tuple[str, ...]:
    """The suffixes of one variant, longest first where they overlap (`新镇` before `镇`)."""
    return tagged("place_suffixes", variant)


def place_pattern(
    variant: str,
    *,
    name_len: tuple[int, int] | None = (2, 3),
    capture: Capture | None = None,
    not_after: str | None = None,
    before_body: bool = False,
) -> str:
    """The one place-name regex: a lazy run of Han characters (`name_len`), then a suffix of `variant`.

    `capture`: "place" groups name+suffix, "name" groups the name only, "suffix" groups the suffix
    (and, with `before_body`, the body as a second group), None groups nothing. `not_after`: a
    character class that may not stand right before the place. `before_body`: the place must be
    followed by a people's body (`人民政府`, `人民法院`, …).
    """
    suffix = alternation(place_suffixes(variant))
    name = "" if name_len is None else f"[{HAN}]{{{name_len[0]},{name_len[1]}}}?"
    if capture == "name":
        core = f"({name})(?:{suffix})"
    elif capture == "place":
        core = f"({name}(?:{suffix}))"
    elif capture == "suffix":
        core = f"{name}({suffix})"
    else:
        core = f"{name}(?:{suffix})"
    lookbehind = f"(?<!{not_after})" if not_after else ""
    if before_body:
        bodies = alternation(tuple("人民" + b for b in words("people_bodies")))
        core += f"({bodies})" if capture == "suffix" else f"(?:{bodies})"
    return lookbehind + core


@cache
def question_place_re() -> re.Pattern[str]:
    """Places a question names (group 1): `川沙新镇`, `嘉定区`; not `全区`/`我区`/`城区` (the character before)."""
    not_after = tagged_char_class("place_noise_chars", "before")
    return re.compile(place_pattern("question", capture="place", not_after=not_after))


@cache
def place_name_noise_re() -> re.Pattern[str]:
    """A character that makes a question's place name (suffix stripped) a phrase: `上半年`区, `青浦全`区."""
    return re.compile(tagged_char_class("place_noise_chars", "question_name"))


@cache
def _suffix_at_end_re() -> re.Pattern[str]:
    return re.compile(f"(?:{alternation(place_suffixes('question'))})$")


def strip_place_suffix(place: str) -> str:
    """`川沙新镇` -> 川沙, `嘉定区` -> 嘉定, `夏阳街道` -> 夏阳 (question suffixes; 市 stays)."""
    return _suffix_at_end_re().sub("", place)


def question_places(norm: str) -> list[str]:
    """Places named in a normalised question, in order, without false ones (`上半年区`, `青浦全区`, `什么地区`).

    A place starts at a word of jieba's segmentation, and its name's words are nouns or names
    (PLACE_NAME_TAGS): scanning character by character found `底青浦区` in `2019年底青浦区`, and the noise
    character 年 then hid `青浦区` itself."""
    words = posseg(norm, use_hmm(norm))
    starts, spans, at = set(), [], 0
    for word, flag in words:
        starts.add(at)
        spans.append((at, at + len(word), flag))
        at += len(word)
    out: list[str] = []
    i = 0
    while i < len(norm):
        m = question_place_re().match(norm, i) if i in starts else None
        if m and _names_a_place(m.group(1), i, spans):
            if m.group(1) not in out:
                out.append(m.group(1))
            i = m.end()
        else:
            i += 1
    return out


def _names_a_place(place: str, start: int, spans: list[tuple[int, int, str]]) -> bool:
    name = strip_place_suffix(place)
    end = start + len(name)
    tags = [flag for a, b, flag in spans if a < end and b > start]
    return not place_name_noise_re().search(name) and all(flag in PLACE_NAME_TAGS for flag in tags)


@cache
def scope_place_name_re() -> re.Pattern[str]:
    """Scope detection's place filter: group 1 is the name before 区/镇/县/街道 (`川沙新镇` -> 川沙新)."""
    return re.compile(place_pattern("scope_name", capture="name"))


def scope_place_names(norm: str) -> set[str]:
    """The names before a place suffix that scope detection filters by, without phrases (`2019年全区` -> 年全 is
    none: the same noise characters as a question's places)."""
    return {m.group(1) for m in scope_place_name_re().finditer(norm) if not place_name_noise_re().search(m.group(1))}


@cache
def known_body_place_re() -> re.Pattern[str]:
    """A 2-character place right before a people's body, not inside a longer word (group 1):
    `青浦区人民政府` -> 青浦, `川沙新镇人民代表大会` -> 川沙."""
    pattern = place_pattern("known_body", name_len=(2, 2), capture="name", not_after=f"[{HAN}]", before_body=True)
    return re.compile(pattern)


@cache
def known_place_noise_re() -> re.Pattern[str]:
    """A character that makes such a 2-character "place" a phrase (`全区人民政府` -> 全区 is no place)."""
    return re.compile(tagged_char_class("place_noise_chars", "known"))


def known_places(texts) -> set[str]:
    """Place names the reports use for their own bodies, seen at least twice (`青浦区人民政府` -> 青浦)."""
    counts: dict[str, int] = {}
    for text in texts:
        for m in known_body_place_re().finditer(text):
            name = m.group(1)
            if not known_place_noise_re().search(name):
                counts[name] = counts.get(name, 0) + 1
    return {name for name, n in counts.items() if n >= 2}


@cache
def follow_up_place_re() -> re.Pattern[str]:
    """A place a follow-up question names, no group: `浦东新区`, `上海市`, `川沙新镇` (1–5 characters + suffix)."""
    return re.compile(place_pattern("conversation", name_len=(1, 5)))


@cache
def place_body_re() -> re.Pattern[str]:
    """A place suffix (group 1) right before a people's body (group 2): `镇`+`人民政府` in `川沙新镇人民政府`;
    the tokenizer reads the word before it as a place name."""
    return re.compile(place_pattern("body", name_len=None, capture="suffix", before_body=True))
