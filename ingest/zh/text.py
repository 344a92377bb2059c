"""Text normalisation, widths, sentence and clause splitting, lines with offsets.

The cleaned text users see is never rewritten; these functions only build keys for matching and tokens.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_WS_RE = re.compile(r"\s+")
# 1—7月 / 1至7月 / 1－7月 / 1~7月 are the same month range; the reports mix all of them.
_RANGE_RE = re.compile(r"(\d+)\s*(?:-|—|–|－|~|～|至|到)\s*(\d+)\s*(月|日|年)")
# "2020 年", "207.19 亿元", "12 748": PDF/Word conversion puts spaces inside numbers and before units.
_NUM_SPACE_RE = re.compile(r"(?<=[\d.])\s+(?=[\d.%年月日亿万千百个户人件元亩公顷余多])")
_SPACE_BEFORE_NUM_RE = re.compile(r"(?<=[年月至到约近共计达为])\s+(?=\d)")

SENTENCE_ENDS = "。！？；!?;"


def strip_ws(text: str) -> str:
    """Delete all whitespace: the comparison rule for evidence quotes and gold answers."""
    return _WS_RE.sub("", text)


_WIDTH_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_width(text: str) -> str:
    """Full-width ASCII (digits, letters, punctuation such as ％ and －) to half-width; CJK untouched."""
    return text.translate(_WIDTH_TABLE)


@lru_cache(maxsize=65536)
def normalize_for_match(text: str) -> str:
    """Key used to match queries and passages: width folded, lower-cased, ranges and numbers unified.

    `１—７月` -> `1-7月`, `2020 年` -> `2020年`, `207.19 亿元` -> `207.19亿元`.
    """
    text = fold_width(unicodedata.normalize("NFC", text)).lower()
    text = _NUM_SPACE_RE.sub("", text)
    text = _SPACE_BEFORE_NUM_RE.sub("", text)
    text = _RANGE_RE.sub(lambda m: f"{m.group(1)}-{m.group(2)}{m.group(3)}", text)
    return text


@lru_cache(maxsize=32768)
def match_key(text: str) -> str:
    """`strip_ws(normalize_for_match(text))`, cached: answering compares the same passages again and
    again, and this normalisation was a third of a /v1/ask request before it was cached."""
    return strip_ws(normalize_for_match(text))


def sentence_spans(text: str, ends: str = SENTENCE_ENDS) -> list[tuple[int, int]]:
    """Split into sentence spans (start, end) at 。！？； and line breaks, keeping the end mark.

    Closing quotes/brackets right after an end mark stay with the sentence (`……”。` / `。”`).
    Whitespace-only spans are dropped; offsets index into `text` unchanged.
    """
    return list(_sentence_spans(text, ends))  # a new list per call: callers may change theirs


@lru_cache(maxsize=8192)
def _sentence_spans(text: str, ends: str) -> tuple[tuple[int, int], ...]:
    """Cached: answering splits the same retrieved passages for every question (a character loop, ~150 µs each)."""
    spans: list[tuple[int, int]] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in ends or ch == "\n":
            j = i + 1
            while j < n and text[j] in "”’」』）)】":
                j += 1
            if text[start:j].strip():
                spans.append((start, j))
            start = j
            i = j
            continue
        i += 1
    if start < n and text[start:].strip():
        spans.append((start, n))
    return tuple(spans)


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def char_ngrams(text: str, n_max: int = 2) -> list[str]:
    """Character 1..n-grams of the normalised, whitespace-free text (the character BM25 arm's tokens)."""
    s = strip_ws(normalize_for_match(text))
    grams: list[str] = list(s)
    for n in range(2, n_max + 1):
        grams.extend(s[i : i + n] for i in range(len(s) - n + 1))
    return grams


@lru_cache(maxsize=8192)  # a sentence's set is a few KB: bounded to tens of MB
def char_bigrams(text: str) -> frozenset[str]:
    """Cached (answering compares the same sentences with every question), hence frozen."""
    s = strip_ws(text)
    return frozenset(s[i : i + 2] for i in range(len(s) - 1))


@dataclass(frozen=True)
class Line:
    """A line of a text with its code-point offsets (end excludes the newline)."""

    start: int
    end: int
    text: str


def lines_with_offsets(text: str) -> list[Line]:
    out: list[Line] = []
    pos = 0
    for raw in text.split("\n"):
        out.append(Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return out


# --------------------------------------------------------------------------------------------------
# Character classes, punctuation, clauses
# --------------------------------------------------------------------------------------------------

# Han characters as jieba and most rules see them (CJK Unified Ideographs): `青浦区`.
HAN = "\u4e00-\u9fff"
# Han characters including Extension A and the compatibility block: rare characters in people's names.
CJK = r"\u3400-\u9fff\uf900-\ufaff"
HAN_RE = re.compile(f"[{HAN}]")
# A token made only of punctuation/whitespace (`，`, `——`) is no word for BM25.
PUNCT_ONLY_RE = re.compile(r"^[\W_]+$")
# Quote and title marks stripped from the ends of terms: `“六稳”`, `《决定》`.
QUOTES = "“”‘’\"'「」『』《》〈〉"
# A term in quotes inside a question: `“四个最严”是什么？` -> 四个最严.
QUOTED_TERM_RE = re.compile(r"[“\"]([^”\"]{2,20})[”\"]")
# A definition's term is short: `“四史”：党史、…`, `“三会”制度：即…`.
_DEFINED_TERM_MAX = 30
_QUOTE_TABLE = {ord(ch): None for ch in QUOTES}


def bracket_open(text: str) -> bool:
    """More opening than closing round brackets, full- or half-width: `（2020 年 7 月 16 日…常务委员会`."""
    return text.count("（") + text.count("(") > text.count("）") + text.count(")")


_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
# `二、`, `二是`, `第二，` start an item of their own, not the rest of a wrapped line.
_CHINESE_ITEM_RE = re.compile(r"^(?:[一二三四五六七八九十]+[、.．是]|第[一二三四五六七八九十]+[，,、])")


def wraps_mid_sentence(line: str, following: str) -> bool:
    """Whether `line` is a sentence wrapped onto `following`, the line right under it: the line has a clause
    mark and stops on a character, not a mark, and the next line ends the sentence
    (`任命杨晶晶为…庭长，免去其上海市青浦区` / `人民法院执行裁判庭副庭长的职务。`). A heading stops on a character
    too, but has no clause mark, and a list item under it starts with its number."""
    line, following = line.strip(), following.strip()
    if not line or not following or not _CJK_RE.match(line[-1]) or not any(m in line for m in CLAUSE_MARKS):
        return False
    starts_text = _CJK_RE.match(following[0]) is not None and not _CHINESE_ITEM_RE.match(following)
    return following[-1] in SENTENCE_ENDS and starts_text


def opens_with_bracket(text: str) -> bool:
    """Whether the text starts with an opening bracket, as a bracketed note does: `(会期两天, 2020年7月16日)`."""
    return text.lstrip()[:1] in "(（[【"


def without_quotes(text: str) -> str:
    """The text with every quote and title mark removed: `“三定”巡检制度` -> 三定巡检制度."""
    return text.translate(_QUOTE_TABLE)


def defined_term(definition: str) -> str:
    """The term a definition line defines, as a match key without quotes or bold marks: `“四史”：党史、…` and
    `**“四史”**：…` -> 四史; '' when the line has no short head before a colon."""
    head, colon, _ = definition.replace(":", "：", 1).partition("：")
    if not colon or len(head) > _DEFINED_TERM_MAX:
        return ""
    return match_key(without_quotes(head.replace("*", "")))


# Sentence punctuation inside a short line: `主任、各位副主任、各位委员：` is a salutation, not a header.
SENTENCE_PUNCT_RE = re.compile(r"[，。；：！？、,;:!?“”]")
# Prose punctuation: a line with it is a sentence, never a table cell or leaked page furniture (`单位：万元` aside).
PROSE_PUNCT_RE = re.compile(r"[。，；：！？,;:]")
# A label line that ends in a count, as an attendance record heads its roll of names: `三、因事因病请假：6 人`.
COUNTED_LABEL_RE = re.compile(r"[:：]\s*\d+\s*[^\s\d:：]{1,2}\s*$")
# Characters that end a line complete in itself; a line ending otherwise (`——2020年7月15日在…常务委员会`)
# wraps onto the next.
LINE_END_PUNCT = "。！？；：:;!?）)”』」】"
# A heading line never ends like a sentence: `一、总体情况` vs `一、今年以来，……。`.
HEADING_SENTENCE_ENDS = "。！？!?"
# Where a sentence divides into clauses: `1-7月，财政总收入12.42亿元，同比下降13.2%`.
CLAUSE_MARKS = "，,；;：:"
CLAUSE_SPLIT_RE = re.compile(r"[，,；;：:]")
# A clause with its closing mark: `1-7月，` / `财政总收入12.42亿元，` / `同比下降13.2%`.
CLAUSE_RE = re.compile(r"[^，,；;：:]+[，,；;：:]?")
# A sentence of an answer with its end mark (no line break inside): `财政总收入12.42亿元。`.
ANSWER_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
# Short phrases of a long heading: `（一）坚持稳中求进，推动经济平稳运行` -> 坚持稳中求进 / 推动经济平稳运行.
PHRASE_SPLIT_RE = re.compile(r"[，,、：:；;。！!？?（）()\s“”\"《》]+")
# The parts of a compound glossary term: `“六稳”“六保”` -> 六稳 / 六保; `深淘滩、低作堰` -> both halves.
TERM_SPLIT_RE = re.compile(r"[“”\"‘’'「」『』《》、，,；;：:\s]+")
# Three or more line breaks: collapsed to one blank line.
BLANK_LINES_RE = re.compile(r"\n{3,}")
# Where an over-long sentence (a 、-list of 40 projects) may be cut, best first: `…、…、…` / `…，…`.
SOFT_BREAKS = ("，", "、", ",", "：", " ")
# jieba only matches dictionary words made of these characters (its `re_han_default`): a user word with
# other characters (`“六稳”`, `1-7月`) would never be cut as one, so it is not added.
JIEBA_WORD_RE = re.compile(r"^[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+$")

# What joins a passage's heading path to its text when both are read as evidence: an end mark, because figures
# may hold white space (`2020 年`) and a title ending in a digit must not run into a text opening with one.
EVIDENCE_JOIN = "。"
