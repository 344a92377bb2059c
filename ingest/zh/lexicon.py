"""Word lists of the Chinese heuristics, read from the package's `data/*.txt` files once per process.

File format: one entry per line; `#` starts a comment (whole line or the end of a line); blank lines are
ignored; surrounding whitespace is stripped. A *tagged* file puts after the entry, separated by whitespace,
the names of the variants (call sites) that use it, e.g. `街道  question scope_name conversation body`:
one list serves every caller, and a caller that really needs fewer entries says so by its tag.

Entries keep their file order, because a regex alternation built from them tries them in that order.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_PACKAGE = "ingest.zh"  # the files are package data under ingest/zh/data/


@cache
def _lines(name: str) -> tuple[str, ...]:
    """Non-empty, comment-free lines of `data/<name>.txt`."""
    text = resources.files(_PACKAGE).joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return tuple(out)


@cache
def words(name: str) -> tuple[str, ...]:
    """The entries of an untagged list, in file order (`words("stopwords")`)."""
    return tuple(line.split()[0] for line in _lines(name))


@cache
def word_set(name: str) -> frozenset[str]:
    """The entries of an untagged list as a set, for membership tests (stopwords)."""
    return frozenset(words(name))


@cache
def tagged(name: str, tag: str) -> tuple[str, ...]:
    """The entries of a tagged list that carry `tag`, in file order; KeyError for an unknown tag."""
    rows = [line.split() for line in _lines(name)]
    known = {t for row in rows for t in row[1:]}
    if tag not in known:
        raise KeyError(f"data/{name}.txt has no variant {tag!r} (known: {sorted(known)})")
    return tuple(row[0] for row in rows if tag in row[1:])


def alternation(entries: tuple[str, ...] | list[str]) -> str:
    """`a|b|c` of the escaped entries, in the given order (no group: callers wrap it as they need)."""
    return "|".join(re.escape(e) for e in entries)


def longest_first(entries: tuple[str, ...] | list[str]) -> str:
    """Alternation with longer entries tried first, so `亿元` wins over `亿` at the same position."""
    return "|".join(sorted((re.escape(e) for e in entries), key=len, reverse=True))


def char_class(name: str) -> str:
    """`[...]` of the characters listed one per line in `data/<name>.txt` (joined in file order)."""
    return "[" + "".join(re.escape(ch) for ch in words(name)) + "]"


def tagged_char_class(name: str, tag: str) -> str:
    """`[...]` of every character of the entries tagged `tag` (entries are runs of characters)."""
    return "[" + "".join(re.escape(ch) for entry in tagged(name, tag) for ch in entry) + "]"


@cache
def rows(name: str) -> tuple[tuple[str, ...], ...]:
    """Every line of `data/<name>.txt` split at whitespace: (entry, value, value, …)."""
    return tuple(tuple(line.split()) for line in _lines(name))
