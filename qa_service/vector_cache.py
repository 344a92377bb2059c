"""A bounded cache of unit-length text embeddings, shared by the requests of one process.

Hand-written rather than functools.lru_cache: the embedder is called once per batch of misses (one call for a
question and its 40 candidate sentences), which a per-text memoised function cannot do.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

Encode = Callable[[Sequence[str]], np.ndarray]


class VectorCache:
    """text -> L2-normalised float32 vector, least recently used dropped past `size` entries."""

    def __init__(self, size: int):
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, texts: Sequence[str], encode: Encode) -> np.ndarray:
        """The vectors of `texts` (rows in order), encoding only those not cached, in one call."""
        with self._lock:
            found = {t: self._touch(t) for t in texts if t in self._vectors}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = _unit_rows(np.asarray(encode(missing), dtype=np.float32))
            found.update(zip(missing, fresh))
            with self._lock:
                for text, vector in zip(missing, fresh):
                    self._vectors[text] = vector
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def _touch(self, text: str) -> np.ndarray:
        self._vectors.move_to_end(text)
        return self._vectors[text]

    def __len__(self) -> int:
        return len(self._vectors)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1.0
    return vectors / norms[:, None]
