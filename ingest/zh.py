"""Chinese-text helpers shared by every stage: matching normalisation, sentence spans, numbers and units.

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

UNITS: tuple[str, ...] = (
    "亿美元", "万美元", "亿元", "万元", "千元", "元", "平方米", "万平方米", "公顷", "万亩", "亩", "公里",
    "千米", "米", "人次", "人", "户", "个", "件", "家", "起", "项", "条", "座", "台", "张", "次", "%", "％",
    "个百分点", "倍", "宗", "所", "名", "位", "班", "处", "块", "辆", "吨",
)
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
_NUMBER_RE = re.compile(r"[-+]?\d+(?:\.\d+)?(?:\s*(?:" + _UNIT_ALT + r"))?")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
CN_NUMERALS = "零〇一二两三四五六七八九十百千万"

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
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def cn_to_int(numeral: str) -> int | None:
    """Chinese numeral to int: `三十六` -> 36, `十` -> 10, `一百零五` -> 105; None if not a numeral."""
    if not numeral or any(ch not in CN_NUMERALS for ch in numeral):
        return None
    total, section, digit = 0, 0, 0
    for ch in numeral:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            if unit == 10000:
                section = (section + digit) * unit
                total += section
                section = 0
            else:
                section += (digit or 1) * unit
            digit = 0
    return total + section + digit


def extract_numbers(text: str) -> list[str]:
    """Numbers with their unit, normalised for comparison: `12.42 亿元` -> `12.42亿元`, `13.2％` -> `13.2%`."""
    norm = normalize_for_match(text)
    return [_WS_RE.sub("", m.group(0)).replace("％", "%") for m in _NUMBER_RE.finditer(norm)]


def bare_numbers(text: str) -> list[str]:
    """Just the numeric values (no units), normalised: used to check an answer's figures against a passage."""
    return re.findall(r"\d+(?:\.\d+)?", normalize_for_match(text))


def char_ngrams(text: str, n_max: int = 2) -> list[str]:
    """Character 1..n-grams of the normalised, whitespace-free text (the character BM25 arm's tokens)."""
    s = strip_ws(normalize_for_match(text))
    grams: list[str] = list(s)
    for n in range(2, n_max + 1):
        grams.extend(s[i : i + n] for i in range(len(s) - n + 1))
    return grams


def char_bigrams(text: str) -> set[str]:
    s = strip_ws(text)
    return {s[i : i + 2] for i in range(len(s) - 1)}


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
