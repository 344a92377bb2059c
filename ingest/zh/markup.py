"""Conversion debris and page furniture: what PDF/Word/HTML conversion leaves in report text.

Removed by `ingest.cleaning` (never rewriting content) or read by the loaders.
"""

from __future__ import annotations

import re

# `[bookmark: _GoBack]` — Word's "last edit position" and other bookmarks, written out by the converter.
BOOKMARK_RE = re.compile(r"\[bookmark:[^\]\n]*\]")
# `扎实做好“六稳”[footnoteRef:1]“六保”` — where footnote 1 is referenced.
FOOTNOTE_REF_RE = re.compile(r"\[footnoteRef:\s*(\d+)\s*\]")
# `[1: 、六稳：稳就业、稳金融、…。]` — the footnote's definition, written inline after the paragraph. It
# may run over several lines, its `]` then standing alone on the last one (definition 19 of the town
# report: `[19: 、四种形态：…极少数。 \n] `). Non-greedy up to the first `]`; capped so that a stray `[3:`
# in ordinary text cannot swallow the rest of the file.
FOOTNOTE_DEF_RE = re.compile(r"\[(\d+):[ \t]*(.{0,3000}?)\]", re.DOTALL)
# The definition's own shape: `、术语：释义` (the `、` is the converter's separator after the number).
FOOTNOTE_SHAPE_RE = re.compile(r"^\s*、?\s*[^：:\n]{1,40}[：:]")
# A line holding only `]`: the tail of a multi-line footnote definition the converter split off.
LONE_BRACKET_RE = re.compile(r"^\s*\]\s*$")
# `2020 年公报第四号（总第 154 号）` / `2020年第4期（总第154期）`: a gazette's issue line, printed at the
# top of every page and leaked into the middle of a table by PDF/Word conversion.
ISSUE_LINE_RE = re.compile(
    r"^\d{4}\s*年\s*(?:公报\s*)?第\s*[0-9一二三四五六七八九十百〇零]+\s*[号期]\s*"
    r"[（(]\s*总第\s*\d+\s*[号期]\s*[)）]$"
)
# Page numbers as printed in footers: `- 12 -`, `—12—`, `第 12 页`, `第3页 共20页`, `12 / 132`.
PAGE_NUMBER_RE = re.compile(
    r"^(?:[-—–－]\s*\d{1,4}\s*[-—–－]|第\s*\d{1,4}\s*页(?:\s*[，,]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4})$"
)
# Superscript digits: footnote marks in a glossary (`六稳¹`), or a line's leading footnote number (`¹ 六稳：…`).
SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹⁰"
SUPERSCRIPT_LINE_RE = re.compile(rf"^\s*([{SUPERSCRIPTS}]+)\s*")
SUPERSCRIPT_RUN_RE = re.compile(rf"[{SUPERSCRIPTS}]+")
# Control characters that never occur in a text report (tab, LF, CR and form feed do): many mean a binary file.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# `# 标题` / `## 小节 ##` (ATX headings): group 1 the hashes (level), group 2 the text.
MD_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
# python-docx style names: "Heading 1" .. "Heading 9" (and localised "标题 1" in some Word templates).
DOCX_HEADING_RE = re.compile(r"^(?:Heading|标题)\s*(\d)$", re.IGNORECASE)
# The document-title style, English or localised (compared lower-cased): its paragraph is the title hint.
DOCX_TITLE_STYLES: tuple[str, ...] = ("title", "标题")
# HTML collapses runs of ASCII whitespace; U+00A0 and U+3000 are content and are kept.
HTML_WS_RE = re.compile(r"[ \t\n\r\f]+")
