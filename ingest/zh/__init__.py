"""The one home of the Chinese-text heuristics: normalisation, numbers, dates, places, names, headings,
question cues, with their word lists as data files (`ingest/zh/data/*.txt`, read once by `lexicon`).

Modules by topic:
- `text`: normalisation keys, widths, sentences, clauses, punctuation classes, lines with offsets;
- `numbers`: units, figures, Chinese numerals, number tokens;
- `time`: dates and time scopes (`上半年`, `1-7月`);
- `places`: the one place-name pattern builder and the patterns its callers use;
- `names`: people, offices, institutions, issuing bodies and their short forms;
- `headings`: heading numbering, contents pages, captions, glossary items;
- `markup`: conversion debris and page furniture;
- `question`: what a question asks (intent cues, stopwords, comparisons, follow-ups);
- `answer`: figure clauses, citation markers, model reply lines;
- `lexicon`: loading the data files.

The most used text helpers are re-exported here: `from ingest.zh import match_key, strip_ws, …`.
"""

from __future__ import annotations

from .numbers import CN_NUMERALS, UNITS, bare_numbers, cn_to_int, extract_numbers
from .text import (
    SENTENCE_ENDS,
    Line,
    char_bigrams,
    char_ngrams,
    fold_width,
    lines_with_offsets,
    match_key,
    normalize_for_match,
    sentence_spans,
    split_sentences,
    strip_ws,
)

__all__ = [
    "CN_NUMERALS",
    "SENTENCE_ENDS",
    "UNITS",
    "Line",
    "bare_numbers",
    "char_bigrams",
    "char_ngrams",
    "cn_to_int",
    "extract_numbers",
    "fold_width",
    "lines_with_offsets",
    "match_key",
    "normalize_for_match",
    "sentence_spans",
    "split_sentences",
    "strip_ws",
]
