"""Headings, numbering, contents pages, captions: how a report's structure is written.

`一、`, `（二）`, `1.`, `第三部分`, `附件2`, `目 录`, `表2 …`, `名词解释`.
"""

from __future__ import annotations

import re

from .lexicon import tagged, words
from .numbers import HEADING_NUMERALS as _CN

# Conversion markup that may survive in a heading line: `**一、总体情况**`, `[footnoteRef:4]`, `¹²`.
HEADING_MARKUP_RE = re.compile(r"\*\*|\[footnoteRef:\d+\]|[¹²³⁴⁵⁶⁷⁸⁹⁰]+")

# (family, pattern). The pattern matches at the start of the line (after leading whitespace and `**`); group
# "n" is the ordinal. Order matters only where two could match the same text.
HEADING_FAMILIES: list[tuple[str, re.Pattern[str]]] = [
    # `# 总体情况` … `###### …` from markdown/html/docx conversion.
    ("md", re.compile(r"^(?P<hashes>#{1,6})\s+(?=\S)")),
    # `第一部分 上半年工作总结`, `第三章 …`, `第二节 …`.
    ("part", re.compile(rf"^第(?P<n>[{_CN}\d]+)部分[\s、，：:.．]*")),
    ("chapter", re.compile(rf"^第(?P<n>[{_CN}\d]+)章[\s、，：:.．]*")),
    ("jie", re.compile(rf"^第(?P<n>[{_CN}\d]+)节[\s、，：:.．]*")),
    # The town report's paragraph openers `第一，整合资源力量，…。` act as sub-sections.
    ("ordinal", re.compile(rf"^第(?P<n>[{_CN}]+)[，,、]\s*")),
    # `一、上半年工作回顾`, `三、2020年1-6月预算执行情况`. Not `一、二季度…` (`一、二` is a range, not a heading).
    ("cn_num", re.compile(rf"^(?P<n>[{_CN}]+)、\s*(?![{_CN}])")),
    # `（一）疫情防控工作坚决有力` / `(二) 重大项目…` — full and half width are one family.
    ("cn_paren", re.compile(rf"^[（(]\s*(?P<n>[{_CN}]+)\s*[）)]\s*")),
    # `（1）…` / `(1)…`.
    ("arabic_paren", re.compile(r"^[（(]\s*(?P<n>\d{1,2})\s*[）)]\s*")),
    # `1.服务保障…` / `1. 全面落实…` / `1．` / `1、`. Not `108.1 公顷` or `1、2月` (a digit follows).
    ("arabic", re.compile(r"^(?P<n>\d{1,2})\s*[.．、](?!\d)\s*")),
]

# Back matter, always level 1. `附件：青浦区市场监督管理局主要职责`, `附件2`, `附：王金荣同志的辞职报告`.
APPENDIX_RE = re.compile(rf"^(?:附件\s*[\d{_CN}]*\s*(?:[：:].*)?|附\s*[：:].*|附表\s*[\d{_CN}]*\s*(?:[：:].*)?)$")
GLOSSARY_TITLES: frozenset[str] = frozenset(tagged("back_matter_titles", "glossary"))
NOTES_TITLES: frozenset[str] = frozenset(tagged("back_matter_titles", "notes"))
# A contents line: `一、总体情况……3`, `第二部分 工作打算\t12`, `履职报告 朱要武（04）`.
TOC_TAIL_RE = re.compile(r"(?:\.{2,}|…+|·{2,}|\s{2,})\s*[（(]?\d{1,3}[)）]?\s*$")

# A numbered heading, so never a running page header: `一、…`, `（二）…`, `1.…`, `第三章…`, `# …`.
HEADING_LIKE_RE = re.compile(
    r"^(?:#|第[一二三四五六七八九十百零〇\d]+[部分章节条篇]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．])"
)
# Where a report's header (date, reporter) stops: a heading (`一、…`, `1 .…` with a space allowed).
HEADER_STOP_HEADING_RE = re.compile(
    r"^(?:#|第[一二三四五六七八九十百\d]+[章节部分篇]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d+\s*[.、．])"
)
# Contents entries that look like chapters of one report (a long report's own contents), not reports.
CHAPTER_RE = re.compile(
    r"^(?:第[一二三四五六七八九十百\d]+[章节部分篇]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]|\d+[.、．])"
)
# Heading numbering removed before a heading becomes a tokenizer word: `一、` `（一）` `(1)` `1.` `第一，` `第一章`.
HEADING_NUMBER_PREFIX_RE = re.compile(
    r"^\s*(?:[（(]?[一二三四五六七八九十百零〇\d]+[）)]|[一二三四五六七八九十百零〇\d]+[、.．]"
    r"|第[一二三四五六七八九十百零〇\d]+[章节部分条项篇]?[，,、：:\s]?)\s*"
)
# A list item's number at the start of an answer unit, which is not a figure: `1.`, `（2）`.
LIST_NUMBER_RE = re.compile(r"^\s*(?:\d{1,2}[.．、]|[（(]\d{1,2}[)）])")

# -- contents pages ---------------------------------------------------------------------------------
CONTENTS_HEADINGS: frozenset[str] = frozenset(words("contents_headings"))
# `履职报告\t朱要武（04）`, `…的决定\t（34）`, `…议题\t(131)`: a title, maybe a name, a bracketed page.
ENTRY_BRACKET_RE = re.compile(r"^(?P<body>.*?\S)[\s.…·．]*[（(]\s*(?P<page>[0-9０-９]{1,4})\s*[）)]$")
# `一、总体情况……………3` / `总体情况\t3`: Word's own contents, a leader or tab then a bare page number.
ENTRY_LEADER_RE = re.compile(r"^(?P<body>.*?\S)(?:\t+|\s*[.…·．]{2,}\s*)(?P<page>[0-9０-９]{1,4})$")
# The fields of a contents entry: split at tabs, 2+ spaces, or dot leaders (`履职报告\t朱要武`).
ENTRY_FIELD_SPLIT_RE = re.compile(r"\t+| {2,}|\u3000{2,}|[.…·．]{2,}")
# `第四号` / `第 4 期`: the issue number in a gazette masthead, never part of a contents entry.
MASTHEAD_RE = re.compile(r"^第\s*[0-9０-９一二三四五六七八九十百]+\s*[号期]$")
# A Markdown heading line `# 标题` (the title of a Markdown file).
MD_TITLE_LINE_RE = re.compile(r"^#\s")

# -- tables and glossaries ----------------------------------------------------------------------------
# `表2 2020年度…`, `表 1 …`, `续表1`, `附表3：…`, `表一 …`: a caption names the table on the line before it.
TABLE_CAPTION_RE = re.compile(r"^\s*(?:续|附)?表\s*[0-9０-９一二三四五六七八九十]+(?:[\s：:．.、-]|$)")
# `单位：万元` / `（单位：亿元）` sits between a caption and its table.
UNIT_LINE_RE = re.compile(r"^\s*[（(]?\s*单位\s*[：:][^。]{0,20}[)）]?\s*$")
# A glossary item's number: `1. `, `10．`, `3、`, `[2]`, `①`, possibly in bold (`**1.`).
ITEM_NUMBER_RE = re.compile(r"^\s*(?:\*\*)?(?:\d{1,3}\s*[.．、]|\[\d{1,3}\]|[①-⑳])\s*")
# A footnote line's number, and the `、` docx leaves after it (`[1: 、六稳：…]`).
FOOTNOTE_PREFIX_RE = re.compile(r"^\s*(?:\d{1,3}\s*[.．、:：]|\[\d{1,3}\]|[①-⑳]|、)\s*")
# Between a term and its definition: `六稳：稳就业…`.
TERM_COLON_RE = re.compile(r"[：:]")


def definition_head(text: str) -> str:
    """The term part of a glossary definition, before its first full-width colon: `六稳：稳就业…` -> 六稳.
    (An ASCII `:` is not a separator here: the answerer has always read only `：`.)"""
    return text.split("：", 1)[0]
