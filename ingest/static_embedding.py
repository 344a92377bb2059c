"""A saved sentence-transformers `StaticEmbedding` model, run with numpy and `tokenizers` instead of torch.

Importing torch and sentence-transformers takes 8 s or more, far longer than answering a question, and the offline model
needs neither: its forward is a table look-up and a mean. This reader reproduces, for a folder whose modules.json
holds exactly `StaticEmbedding` (optionally followed by `Normalize`):

  * `StaticEmbedding.preprocess`: the folder's tokenizer.json, no padding, `encode_batch(add_special_tokens=False)`;
  * `StaticEmbedding.forward`: `nn.EmbeddingBag` in mode "mean" over the rows of `embedding.weight`
    (an empty bag gives a zero vector);
  * `Normalize`: `x / max(‖x‖₂, 1e-12)`.

The bag means add rows in torch's order (they came out bit-identical to EmbeddingBag's); the L2 norm sums in another
order than torch, so the final vectors agree with `SentenceTransformer(folder).encode` to about 1e-7, not always
bit for bit.
Any other layout (more modules, a default prompt, model2vec weights) is `UnsupportedLayout`: load it with
sentence-transformers instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

_EPS = np.float32(1e-12)  # torch.nn.functional.normalize's default eps
_WEIGHT_KEY = "embedding.weight"
RECENT_MAX_CHARS = 512  # texts up to this long (sentences, passages) have their token ids remembered ...
RECENT_SIZE = 20_000  # ... this many of them (a few MB)


class UnsupportedLayout(ValueError):
    """The folder is not a plain StaticEmbedding (+ Normalize) model this reader can run."""


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm, zero rows left zero (torch.nn.functional.normalize, p=2, dim=-1)."""
    norms = np.linalg.norm(x, axis=1).astype(np.float32, copy=False)
    return x / np.maximum(norms, _EPS)[:, None]


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _module_kinds(folder: Path) -> tuple[Path, bool]:
    """(StaticEmbedding's folder, whether a Normalize follows it), from modules.json; UnsupportedLayout otherwise."""
    try:
        modules = sorted(_read_json(folder / "modules.json"), key=lambda m: m["idx"])
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnsupportedLayout(f"{folder}: unreadable modules.json ({exc})") from exc
    if kinds not in (["StaticEmbedding"], ["StaticEmbedding", "Normalize"]):
        raise UnsupportedLayout(f"{folder}: modules {kinds} are not StaticEmbedding [+ Normalize]")
    if len(modules) == 2:
        config_path = folder / modules[1].get("path", "") / "config.json"
        config = _read_json(config_path) if config_path.is_file() else {}
        if config.get("module_input_name", "sentence_embedding") != "sentence_embedding":
            raise UnsupportedLayout(f"{folder}: Normalize reads {config['module_input_name']!r}")
    return folder / modules[0].get("path", ""), len(modules) == 2


def _check_no_default_prompt(folder: Path) -> None:
    """sentence-transformers prepends the default prompt to every text; this reader does not."""
    path = folder / "config_sentence_transformers.json"
    config = _read_json(path) if path.is_file() else {}
    name = config.get("default_prompt_name")
    if name and (config.get("prompts") or {}).get(name):
        raise UnsupportedLayout(f"{folder}: default prompt {name!r} is not supported")


@dataclass(frozen=True)
class StaticEmbeddingReader:
    """The weights (vocabulary × dim, float32) and tokenizer of a saved StaticEmbedding model."""

    weights: np.ndarray
    tokenizer: Any  # tokenizers.Tokenizer
    normalize: bool
    # Token ids of short texts seen before: answering encodes the retrieved passages' sentences for every question,
    # and the same passages come back again and again; BPE without pre-tokenisation costs ~60 µs per sentence.
    _recent: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_folder(cls, folder: str | Path) -> "StaticEmbeddingReader":
        """Read a saved model folder; raises UnsupportedLayout when it is not StaticEmbedding [+ Normalize]."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        module_dir, normalize = _module_kinds(folder)
        _check_no_default_prompt(folder)
        weights_path, tokenizer_path = module_dir / "model.safetensors", module_dir / "tokenizer.json"
        if not weights_path.is_file() or not tokenizer_path.is_file():
            raise UnsupportedLayout(f"{module_dir}: model.safetensors or tokenizer.json is missing")
        tensors = load_file(str(weights_path))
        weights = tensors.get(_WEIGHT_KEY)
        if weights is None or weights.ndim != 2:
            raise UnsupportedLayout(f"{weights_path}: no 2-d {_WEIGHT_KEY!r} (keys: {sorted(tensors)})")
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.no_padding()  # as StaticEmbedding.__init__ does
        return cls(np.ascontiguousarray(weights, dtype=np.float32), tokenizer, normalize)

    @property
    def dim(self) -> int:
        return int(self.weights.shape[1])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        recent = self._recent
        out: list[list[int] | None] = [recent.get(t) for t in texts]
        todo = [i for i, ids in enumerate(out) if ids is None]
        if todo:
            encoded = self.tokenizer.encode_batch([texts[i] for i in todo], add_special_tokens=False)
            if len(recent) + len(todo) > RECENT_SIZE:
                recent.clear()
            for i, e in zip(todo, encoded):
                out[i] = e.ids
                if len(texts[i]) <= RECENT_MAX_CHARS:
                    recent[texts[i]] = e.ids
        return [list(ids) for ids in out]  # type: ignore[arg-type]

    def bag_means(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean embedding row per token-id list (EmbeddingBag, mode "mean"); a zero row for an empty list."""
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for i, bag in enumerate(ids):
            if bag:
                # Summing over axis 0 adds the rows one after another in float32, in token order, as EmbeddingBag
                # does (np.add.reduceat sums in another order, and is slower).
                out[i] = self.weights[list(bag)].sum(axis=0) / np.float32(len(bag))
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """The model's sentence embeddings (float32, shape (n, dim)), computed `batch_size` texts at a time."""
        parts, step = [], max(1, batch_size)
        for start in range(0, len(texts), step):
            vecs = self.bag_means(self.token_ids(texts[start : start + step]))
            parts.append(l2_normalize(vecs) if self.normalize else vecs)
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)
