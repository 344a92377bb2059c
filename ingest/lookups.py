"""Lookups over a loaded index, computed once at load so per-query work does not grow with the corpus.

* `ChunkLookups`: each document's opening text chunk and chunk count, and the heading keys `heading_prefix`
  filters on (grouped by distinct heading path, so a filter tests each path once, not each chunk);
* `DocumentMentions`: which documents mention a text (a place name), on `match_key`ed text;
* `LookupMethods`: the reader methods over them, shared by the embedded and the Milvus reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property, lru_cache

import numpy as np

from .models import Chunk, Document
from .zh import match_key, strip_ws

MENTION_CACHE_SIZE = 4096  # texts looked up on demand (questions may name anything); the precomputed ones stay
_NO_ROWS = np.zeros(0, dtype=np.int64)


class ChunkLookups:
    """Per-document and per-heading facts about the chunk list (row i = chunk i)."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.first_chunk: dict[str, Chunk] = {}  # doc_id -> its `text` chunk with the lowest start
        self.chunk_counts: dict[str, int] = {}
        group_of: dict[tuple[str, ...], int] = {}
        self._group = np.zeros(len(chunks), dtype=np.int32)
        rows: dict[str, list[int]] = {}
        self.ids: list[str] = []  # every chunk's id, in row order (the reader indexes them, then drops the list)
        for i, c in enumerate(chunks):
            self.ids.append(c.id)
            self.chunk_counts[c.doc_id] = self.chunk_counts.get(c.doc_id, 0) + 1
            rows.setdefault(c.doc_id, []).append(i)
            if c.kind == "text":
                first = self.first_chunk.get(c.doc_id)
                if first is None or c.start < first.start:  # the earlier row wins a tie, as min() did
                    self.first_chunk[c.doc_id] = c
            self._group[i] = group_of.setdefault(tuple(c.heading_path), len(group_of))
        # doc_id -> its rows: a document filter sets these instead of comparing every chunk's doc_id
        self.doc_rows: dict[str, np.ndarray] = {d: np.asarray(r, dtype=np.int64) for d, r in rows.items()}
        # (the joined path below the title, each heading) with whitespace removed, per distinct heading path
        self._heading_keys: list[tuple[str, tuple[str, ...]]] = []
        for path in group_of:
            heads = tuple(strip_ws(h) for h in path)
            self._heading_keys.append(("".join(heads[1:]), heads))

    def heading_mask(self, prefix: str) -> np.ndarray:
        """Rows whose heading path has an element, or whose joined path below the title, starting with `prefix`
        (whitespace ignored)."""
        prefix = strip_ws(prefix)
        hits = np.fromiter(
            (joined.startswith(prefix) or any(h.startswith(prefix) for h in heads) for joined, heads in self._heading_keys),
            dtype=bool,
            count=len(self._heading_keys),
        )
        return hits[self._group]


class DocumentMentions:
    """`docs_mentioning(text)`: the documents whose `match_key`ed text contains `match_key(text)`.

    Answers for the names given to `precompute` (the place names the reports use) are kept for the life of the
    index; others are cached, most recent first, up to MENTION_CACHE_SIZE.
    """

    def __init__(self, documents: Iterable[Document]) -> None:
        self._keys = {d.doc_id: match_key(d.text) for d in documents}
        self._known: dict[str, frozenset[str]] = {}
        self._cached = lru_cache(maxsize=MENTION_CACHE_SIZE)(self._scan)

    @property
    def keys(self) -> dict[str, str]:
        """doc_id -> the document's whitespace-free normalised text."""
        return self._keys

    def precompute(self, texts: Iterable[str]) -> None:
        for text in texts:
            key = match_key(text)
            self._known[key] = self._scan(key)

    def docs_mentioning(self, text: str) -> frozenset[str]:
        key = match_key(text)
        known = self._known.get(key)
        return known if known is not None else self._cached(key)

    def _scan(self, key: str) -> frozenset[str]:
        return frozenset(doc_id for doc_id, text in self._keys.items() if key in text)


class LookupMethods:
    """What a reader answers from the lookups computed at load: a mixin for IndexReader and MilvusIndexReader,
    which set `_lookups` (ChunkLookups) and `documents` (doc_id -> Document)."""

    _lookups: ChunkLookups
    documents: Mapping[str, Document]

    def first_chunk(self, doc_id: str) -> Chunk | None:
        """The document's opening passage (its `text` chunk with the lowest start: title, date, reporter)."""
        return self._lookups.first_chunk.get(doc_id)

    def doc_rows(self, doc_id: str) -> np.ndarray:
        """The rows of a document's chunks, ascending (empty for an unknown id)."""
        return self._lookups.doc_rows.get(doc_id, _NO_ROWS)

    def chunk_count(self, doc_id: str) -> int:
        return self._lookups.chunk_counts.get(doc_id, 0)

    def heading_mask(self, prefix: str) -> np.ndarray:
        """Bool per row: the chunk's heading path (an element, or the joined path below the title) starts with
        `prefix`, whitespace ignored."""
        return self._lookups.heading_mask(prefix)

    @cached_property
    def mentions(self) -> DocumentMentions:
        """Built on first use (listing commands never need it); QAService builds it when it loads the index."""
        return DocumentMentions(self.documents.values())

    def docs_mentioning(self, text: str) -> frozenset[str]:
        """Documents whose whitespace-free normalised text (match_key) contains match_key(text)."""
        return self.mentions.docs_mentioning(text)
