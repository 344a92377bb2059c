"""Answer text: figure clauses and their scope, citation markers, lines of a model's reply."""

from __future__ import annotations

import re

from .lexicon import alternation, words

# A clause continuing a figure (match the stripped clause): `同比下降13.2%` / `增长5.9%` / `占比…`.
CONTINUATION_RE = re.compile(r"^(?:" + alternation(words("continuation_words")) + ")")

# Marks stripped from the end of a claim before claims are joined into one answer: `…亿元。` -> `…亿元`.
CLAIM_END_PUNCT = "。；;，, "
# Marks left of a sentence once its markers are removed: `[2]。` holds no text (a marker alone).
SENTENCE_PUNCT_ONLY = "。；;，,"

# Citation markers: `[1]`, `[1, 3]`, `[1-3]`, `【2】`, `[资料1]`. Models write markers many ways; all are
# parsed, and one pointing to no passage is still matched so that it can be removed from the text.
_ITEM = r"\d+(?:\s*[-–~～]\s*\d+)?"
MARKER_RE = re.compile(
    r"\s*[\[【]\s*(?:资料|来源|参考)?\s*(" + _ITEM + r"(?:\s*[,，、]\s*(?:资料)?\s*" + _ITEM + r")*)\s*[\]】]"
)
# One or more markers at the start of a sentence: `[2]财政收入…` (they cite the sentence after them).
LEADING_MARKERS_RE = re.compile(r"^(?:" + MARKER_RE.pattern + r")+")
# The items of one marker's number group (use with split): `1, 3` / `1、3`.
MARKER_ITEM_SPLIT_RE = re.compile(r"[,，、]")
# Numbers of one item: `1-3` -> 1, 3.
MARKER_NUMBER_RE = re.compile(r"\d+")

# A line prefix a model writes before a rewritten question (`1. `, `- `, `改写后的问题：`, `问题2:`): removed.
MODEL_LINE_PREFIX_RE = re.compile(
    r"^\s*(?:[-*•·]\s*|[（(]?\d{1,2}(?:[)）、:：]|\.(?!\d))\s*|(?:改写(?:后的问题)?|独立问题|问题)\s*\d?\s*[:：]\s*)+"
)

# Quotes a model puts around a rewritten question: `“青浦区上半年财政收入”`.
MODEL_REPLY_QUOTES = "“”\"'「」"

# A model's reply saying the passages do not hold the answer: `资料中未找到相关信息。` -> an abstention.
NOT_FOUND_RE = re.compile(alternation(words("not_found_phrases")))
