"""The chunks of a build as a sequence read by row from chunks.jsonl, and chunk id -> row without a Python dict.

Why: at 1M chunks, a `Chunk` object per row (text, heading path, ids) is ~3 GB of anonymous memory, and a
dict of their ids another ~150 MB. A query needs a few dozen chunks (the candidates it boosts, collapses and
returns), so `ChunkStore` keeps only the byte offset of each line (8 bytes a row) and parses a chunk when it is
asked for; the file is memory-mapped, so its pages belong to the page cache (shared, reclaimable), not to the
process. Recently parsed chunks are cached. `ChunkIds` keeps the ids as one sorted fixed-width byte array
(binary search per lookup).

Small builds keep their chunks as a plain list (`load_chunks`): below `EAGER_CHUNKS_MAX` the objects cost
little, and a list is the fastest sequence.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import overload

import numpy as np

from .models import Chunk

EAGER_CHUNKS_MAX = 200_000  # up to this many chunks a build's chunks are parsed into a list at load
PARSED_CACHE_SIZE = 16_384  # chunks kept parsed (about 2 KiB each): a query reads a few dozen
SCAN_BLOCK = 64 << 20  # bytes of chunks.jsonl scanned for line ends at a time (bounds the temporary arrays)


def line_spans(buf: bytes | mmap.mmap, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the non-empty lines of `buf` (ends exclude the newline), scanned in blocks."""
    ends = []
    for lo in range(0, size, SCAN_BLOCK):
        block = np.frombuffer(buf, dtype=np.uint8, count=min(SCAN_BLOCK, size - lo), offset=lo)
        ends.append(np.flatnonzero(block == 10) + lo)
    nl = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    if size and (nl.size == 0 or nl[-1] != size - 1):
        nl = np.append(nl, size)  # a last line without its newline
    starts = np.concatenate([[0], nl[:-1] + 1]).astype(np.int64)
    keep = nl > starts  # blank lines are no chunks (read_records skipped them too)
    return starts[keep], nl[keep].astype(np.int64)


class ChunkStore(Sequence[Chunk]):
    """Row i = the i-th chunk line of chunks.jsonl, parsed on access (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as f:
            size = f.seek(0, 2)
            # mmap of an empty file is an error; an empty build has no rows
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._starts, self._ends = line_spans(self._mm, size)
        self._parse = lru_cache(maxsize=PARSED_CACHE_SIZE)(self._parse_row)

    def __len__(self) -> int:
        return int(self._starts.size)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self._parse(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        j = int(i)
        if j < 0:
            j += n
        if not 0 <= j < n:
            raise IndexError(f"chunk row {i} out of range ({n} chunks)")
        return self._parse(j)

    def __iter__(self) -> Iterator[Chunk]:
        # a full pass (listing, lookups at load) parses without filling the cache
        for j in range(len(self)):
            yield self._parse_row(j)

    def raw(self, j: int) -> dict:
        """Row j's JSON object (for a pass that needs a few fields of every chunk)."""
        return json.loads(self._mm[self._starts[j] : self._ends[j]])

    def _parse_row(self, j: int) -> Chunk:
        return Chunk.from_dict(self.raw(j))


def load_chunks(path: Path, eager_max: int = EAGER_CHUNKS_MAX) -> Sequence[Chunk]:
    """The build's chunks: a list when there are at most `eager_max`, else a ChunkStore."""
    store = ChunkStore(path)
    if len(store) <= eager_max:
        return list(store)
    return store


class ChunkIds(Mapping[str, int]):
    """chunk id -> row, as a sorted array of UTF-8 ids (fixed width) and their rows: ~(id length + 8) bytes a row."""

    def __init__(self, ids: Sequence[str]) -> None:
        encoded = np.array([i.encode("utf-8") for i in ids], dtype=bytes) if len(ids) else np.zeros(0, dtype="S1")
        self._order = np.argsort(encoded, kind="stable")
        self._sorted = encoded[self._order]
        self._n = len(ids)
        if self._n and (self._sorted[1:] == self._sorted[:-1]).any():
            # a duplicate id: the last row wins, as `{c.id: i for i, c in enumerate(chunks)}` did
            keep = np.ones(self._n, dtype=bool)
            keep[:-1] = self._sorted[1:] != self._sorted[:-1]
            self._order, self._sorted = self._order[keep], self._sorted[keep]

    def _find(self, key: str) -> int | None:
        if not isinstance(key, str) or not self._sorted.size:
            return None
        b = key.encode("utf-8")
        if len(b) > self._sorted.dtype.itemsize or b.endswith(b"\0"):
            return None  # longer than every id (numpy would truncate it), or not representable
        at = int(np.searchsorted(self._sorted, b))
        if at < self._sorted.size and self._sorted[at] == b:
            return int(self._order[at])
        return None

    def __getitem__(self, key: str) -> int:
        row = self._find(key)
        if row is None:
            raise KeyError(key)
        return row

    def get(self, key: str, default: int | None = None) -> int | None:  # type: ignore[override]
        row = self._find(key)
        return default if row is None else row

    def __contains__(self, key: object) -> bool:
        return self._find(key) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        # in row order, as the dict it replaces iterated
        for j in np.argsort(self._order, kind="stable"):
            yield self._sorted[j].decode("utf-8")

    def __len__(self) -> int:
        return int(self._sorted.size)
