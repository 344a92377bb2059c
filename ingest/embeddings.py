"""Dense embedders: any sentence-transformers model, or a small static model trained on the corpus itself, offline.

Every embedder is a `SentenceTransformer` loaded from a folder (a local path, a Hugging Face cache snapshot, or the
offline model saved in the index), so a downloaded model and the offline model take the same code path.

Offline recipe (docs/findings.md: 0.74–0.80 dense hit@5 alone; fused with BM25 it only helps at small weight):
  * a BPE tokenizer (`tokenizers`) trained on the corpus text, vocabulary ≤ 8k, WITHOUT whitespace pre-tokenisation
    (text is only split at whitespace/punctuation runs, so clauses are the "words" BPE merges inside); NFKC +
    lower-case normaliser; unknown characters are dropped. BPE training is deterministic (Unigram training is not:
    it gave a different vocabulary on every run);
  * `StaticEmbedding` (mean of token vectors, 256-d) + `Normalize`;
  * trained with a hand-written symmetric MultipleNegativesRankingLoss loop (in-batch negatives, scale 20, pairs
    with the same positive masked out) on pairs mined from the corpus: sentence ↔ rest of its chunk, heading path ↔
    chunk text, glossary term ↔ definition. Fixed seeds, a seeded numpy permutation per epoch, and
    `torch.set_num_threads(1)` while training make two trainings on the same texts byte-identical.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from . import zh

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

    from .models import GlossaryEntry

log = logging.getLogger(__name__)

KIND_ST = "sentence-transformers"
KIND_OFFLINE = "offline-static"
DEFAULT_AUTO_MODEL = "BAAI/bge-small-zh-v1.5"
OFFLINE_PREFIX = "offline:"
OFFLINE_INFO_FILE = "reportqa_offline.json"  # recipe + timings; not part of the model hash
# Files that never change what the model computes, left out of the model hash.
_HASH_SKIP = {"README.md", OFFLINE_INFO_FILE, ".gitattributes"}


class EmbedderUnavailable(RuntimeError):
    """The requested embedding model cannot be loaded (not on disk and downloads are off, or broken files)."""


# ----------------------------------------------------------------------------------------------------------------
# hashing and locating models
# ----------------------------------------------------------------------------------------------------------------
def model_sha256(folder: str | Path) -> str:
    """Deterministic hash of a saved model: every file under the folder (symlinks followed) except the model card
    and reportqa's own info file, in sorted relative-path order, each contributing its path and its bytes' hash."""
    root = Path(folder)
    h = hashlib.sha256()
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.name not in _HASH_SKIP and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    for p in files:
        fh = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                fh.update(block)
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + fh.digest())
    return h.hexdigest()


def _offline_env() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def locate_model(spec: str) -> Path | None:
    """A local folder for `spec`: the path itself, or the Hugging Face cache snapshot (never touching the network)."""
    p = Path(spec).expanduser()
    if p.is_dir():
        return p.resolve()
    if spec.startswith((".", "/", "~")) or os.sep in spec and spec.count("/") != 1:
        return None
    try:
        from huggingface_hub import snapshot_download

        with _quiet():
            return Path(snapshot_download(spec, local_files_only=True))
    except Exception:  # not cached (LocalEntryNotFoundError), bad repo id, ...
        return None


@contextlib.contextmanager
def _quiet():
    """Silence library chatter (transformers/ST warnings, progress bars) for a block."""
    names = ("sentence_transformers", "transformers", "huggingface_hub", "torch")
    old = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for n, lvl in old.items():
            logging.getLogger(n).setLevel(lvl)


# ----------------------------------------------------------------------------------------------------------------
# the embedder
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Embedder:
    """A sentence-transformers model loaded from a folder. The offline model is loaded lazily (on the first
    `encode`), so a re-ingest that reuses every vector, or a `load_index` that never searches dense, skips the
    ~4 s sentence-transformers import."""

    name: str  # the spec as given ("BAAI/bge-small-zh-v1.5", a path) or "offline:<recipe>"
    kind: str  # KIND_ST | KIND_OFFLINE
    sha256: str
    path: Path | None = None
    batch_size: int = 64
    info: dict[str, Any] = field(default_factory=dict)
    _model: Any = field(default=None, repr=False)
    _dim: int | None = field(default=None, repr=False)

    @property
    def model(self) -> "SentenceTransformer":
        if self._model is None:
            if self.path is None:
                raise EmbedderUnavailable(f"embedding model {self.name!r} has no folder to load from")
            self._model = _st_from_folder(self.path, self.name)
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            d = getter()
            self._dim = int(d) if d is not None else int(self.encode(["维度"]).shape[1])
        return self._dim

    def encode(self, texts: Sequence[str] | str, batch_size: int | None = None) -> np.ndarray:
        """float32, L2-normalised, shape (n, dim); a single string gives shape (1, dim)."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # No _quiet() here: it resets logger levels, which clears logging's cache on every query
        # (14% of an in-process /v1/ask); encoding with the progress bar off logs nothing.
        vecs = self.model.encode(
            texts,
            batch_size=batch_size or self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def manifest_entry(self) -> dict[str, Any]:
        return {"model": self.name, "dim": self.dim, "kind": self.kind, "sha256": self.sha256}


def _st_from_folder(folder: Path, name: str) -> "SentenceTransformer":
    from sentence_transformers import SentenceTransformer

    try:
        with _quiet():
            return SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any loading error means "unavailable"
        raise EmbedderUnavailable(f"cannot load embedding model {name!r} from {folder}: {exc}") from exc


def _load_folder(folder: Path, name: str, kind: str) -> Embedder:
    info: dict[str, Any] = {}
    info_path = folder / OFFLINE_INFO_FILE
    if info_path.exists():
        with contextlib.suppress(Exception):
            info = json.loads(info_path.read_text(encoding="utf-8"))
    emb = Embedder(name=name, kind=kind, sha256=model_sha256(folder), path=folder, info=info)
    dim = (info.get("recipe") or {}).get("dim")
    if kind == KIND_OFFLINE and isinstance(dim, int) and (folder / "model.safetensors").is_file():
        emb._dim = dim  # loaded on first use
    else:
        emb._model = _st_from_folder(folder, name)  # fail fast: a broken model is reported now
    return emb


def is_offline_model_dir(folder: str | Path | None) -> bool:
    return folder is not None and (Path(folder) / OFFLINE_INFO_FILE).is_file() and (Path(folder) / "modules.json").is_file()


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
        kind = KIND_OFFLINE if is_offline_model_dir(folder) else KIND_ST
        return _load_folder(folder, spec, kind)
    if _offline_env() or Path(spec).expanduser().is_absolute() or spec.startswith("."):
        raise EmbedderUnavailable(
            f"embedding model {spec!r} is not on disk (HF_HUB_OFFLINE is set or it is a path); "
            "give a local folder, or use --model auto / none"
        )
    # Online: let sentence-transformers download it, then hash the snapshot it left in the cache.
    from sentence_transformers import SentenceTransformer

    try:
        with _quiet():
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
# the offline model
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class OfflineRecipe:
    dim: int = 256
    vocab_size: int = 8000
    epochs: int = 8
    batch_size: int = 128
    lr: float = 0.05
    scale: float = 20.0
    max_sentences_per_chunk: int = 6
    min_sentence_chars: int = 8
    max_text_chars: int = 1200
    max_seconds: float | None = 60.0  # stop early (after a whole step) on very large corpora

    def name(self) -> str:
        return f"{OFFLINE_PREFIX}static-bpe{self.vocab_size // 1000}k-d{self.dim}"


def _as_texts_and_pairs(
    texts_or_chunks: Iterable[Any], glossary: Iterable["GlossaryEntry"] | None, recipe: OfflineRecipe
) -> tuple[list[str], list[tuple[str, str]]]:
    """(texts for the tokenizer, (anchor, positive) pairs) mined from chunks or plain texts."""
    texts: list[str] = []
    pairs: list[tuple[str, str]] = []
    cap = recipe.max_text_chars
    for item in texts_or_chunks:
        if isinstance(item, str):
            text, heading = item, []
        else:
            text, heading = item.text, list(getattr(item, "heading_path", []) or [])
        if not text or not text.strip():
            continue
        texts.append(text)
        body = text[:cap]
        if heading:
            pairs.append((" ".join(heading)[:cap], body))
        spans = [s for s in zh.sentence_spans(text) if len(zh.strip_ws(text[s[0] : s[1]])) >= recipe.min_sentence_chars]
        if len(spans) >= 2:
            n = len(spans)
            take = spans if n <= recipe.max_sentences_per_chunk else [
                spans[round(i * (n - 1) / (recipe.max_sentences_per_chunk - 1))]
                for i in range(recipe.max_sentences_per_chunk)
            ]
            for s, e in take:
                rest = (text[: s] + text[e:]).strip()
                if len(zh.strip_ws(rest)) >= recipe.min_sentence_chars:
                    pairs.append((text[s:e].strip()[:cap], rest[:cap]))
    for g in glossary or ():
        term = g.term.strip().strip("“”\"")
        if term and g.definition.strip():
            pairs.append((term, g.definition.strip()[:cap]))
            texts.append(f"{term}：{g.definition}")
    return texts, pairs


def _train_bpe(texts: list[str], vocab_size: int):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())  # no unk token: characters never seen in training are dropped
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    # Split only at whitespace/punctuation runs: Chinese has no spaces, so BPE learns its words inside clauses.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\p{P}]+"), behavior="removed")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, max_token_length=8, min_frequency=2)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


@contextlib.contextmanager
def _deterministic_torch(seed: int):
    import torch

    threads = torch.get_num_threads()
    state = torch.random.get_rng_state()
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.random.set_rng_state(state)


def train_offline_model(
    texts_or_chunks: Iterable[Any],
    out_dir: str | Path,
    seed: int = 0,
    *,
    glossary: Iterable["GlossaryEntry"] | None = None,
    recipe: OfflineRecipe | None = None,
) -> Path:
    """Train the corpus-only StaticEmbedding model and save it to `out_dir` (loadable by `SentenceTransformer(out_dir)`).

    `texts_or_chunks`: Chunk objects (heading paths are used for pairs) or plain strings. Deterministic for the same
    inputs, seed and recipe. Returns `out_dir`.
    """
    import torch
    import torch.nn.functional as F
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

    recipe = recipe or OfflineRecipe()
    t0 = time.perf_counter()
    texts, pairs = _as_texts_and_pairs(texts_or_chunks, glossary, recipe)
    if not texts:
        raise ValueError("train_offline_model: no text to train on")
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    tok = _train_bpe(texts, recipe.vocab_size)
    t_tok = time.perf_counter() - t0

    # Encode every distinct text once.
    uniq: dict[str, int] = {}
    for a, p in pairs:
        uniq.setdefault(a, len(uniq))
        uniq.setdefault(p, len(uniq))
    uniq_texts = list(uniq)
    ids = [e.ids for e in tok.encode_batch(uniq_texts, add_special_tokens=False)] if uniq_texts else []
    pair_idx = np.array(
        [(uniq[a], uniq[p]) for a, p in pairs if ids[uniq[a]] and ids[uniq[p]] and a != p], dtype=np.int64
    ).reshape(-1, 2)
    id_tensors = [torch.tensor(x, dtype=torch.long) for x in ids]

    steps = 0
    final_loss = float("nan")
    stopped_early = False
    with _deterministic_torch(seed):
        static = StaticEmbedding(tok, embedding_dim=recipe.dim)
        emb = static.embedding
        if len(pair_idx):
            rng = np.random.default_rng(seed)
            opt = torch.optim.Adam(emb.parameters(), lr=recipe.lr)

            def embed(rows: np.ndarray) -> torch.Tensor:
                seqs = [id_tensors[i] for i in rows]
                offsets = torch.tensor(np.cumsum([0] + [len(s) for s in seqs[:-1]]), dtype=torch.long)
                return F.normalize(emb(torch.cat(seqs), offsets), dim=-1)

            bs = max(2, recipe.batch_size)
            for _epoch in range(recipe.epochs):
                order = rng.permutation(len(pair_idx))
                for start in range(0, len(order), bs):
                    batch = pair_idx[order[start : start + bs]]
                    if len(batch) < 2:
                        continue
                    a, p = embed(batch[:, 0]), embed(batch[:, 1])
                    logits = a @ p.T * recipe.scale
                    # Another pair in the batch with the same positive (or anchor) is not a negative.
                    same = torch.from_numpy(
                        (batch[:, 1][:, None] == batch[:, 1][None, :]) | (batch[:, 0][:, None] == batch[:, 0][None, :])
                    )
                    same.fill_diagonal_(False)
                    logits = logits.masked_fill(same, float("-inf"))
                    labels = torch.arange(len(batch))
                    loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    steps += 1
                    final_loss = float(loss.detach())
                if recipe.max_seconds is not None and time.perf_counter() - t0 > recipe.max_seconds:
                    stopped_early = True
                    break
        model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
        with _quiet():
            model.save(str(out), create_model_card=False)
    train_s = time.perf_counter() - t0
    info = {
        "name": recipe.name(),
        "recipe": recipe.__dict__,
        "seed": seed,
        "vocab_size": tok.get_vocab_size(),
        "texts": len(texts),
        "pairs": int(len(pair_idx)),
        "steps": steps,
        "final_loss": round(final_loss, 4) if steps else None,
        "stopped_early": stopped_early,
        "seconds": {"tokenizer": round(t_tok, 3), "total": round(train_s, 3)},
    }
    (out / OFFLINE_INFO_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


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
