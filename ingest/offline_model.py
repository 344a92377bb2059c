"""Training the offline model: a small static embedding model learned from the corpus itself, with no download.

Recipe:
  * a BPE tokenizer (`tokenizers`) trained on the corpus text, vocabulary ≤ 8k, WITHOUT whitespace pre-tokenisation
    (text is only split at whitespace/punctuation runs, so clauses are the "words" BPE merges inside); NFKC +
    lower-case normaliser; unknown characters are dropped. BPE training is deterministic (Unigram training is not:
    it gave a different vocabulary on every run);
  * `StaticEmbedding` (mean of token vectors, 256-d) + `Normalize`;
  * trained with a hand-written symmetric MultipleNegativesRankingLoss loop (in-batch negatives, scale 20, pairs
    with the same positive masked out) on pairs mined from the corpus: sentence ↔ rest of its chunk, heading path ↔
    chunk text, glossary term ↔ definition. Fixed seeds, a seeded numpy permutation per epoch, and
    `torch.set_num_threads(1)` while training make two trainings on the same texts byte-identical.

Only training needs torch and sentence-transformers (imported inside the functions that train); the saved folder
is read at query time without them (`ingest.static_embedding`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import numpy as np

from . import zh
from .model_files import OFFLINE_INFO_FILE, OFFLINE_PREFIX, quiet_libraries

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from tokenizers import Tokenizer

    from .models import GlossaryEntry


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
    max_seconds: float | None = 60.0  # stop early (after a whole epoch) on very large corpora

    def name(self) -> str:
        return f"{OFFLINE_PREFIX}static-bpe{self.vocab_size // 1000}k-d{self.dim}"


@dataclass(frozen=True)
class TrainingStats:
    steps: int
    final_loss: float
    stopped_early: bool


# ----------------------------------------------------------------------------------------------------------------
# training pairs and tokenizer
# ----------------------------------------------------------------------------------------------------------------
def _sentence_pairs(text: str, recipe: OfflineRecipe) -> list[tuple[str, str]]:
    """(sentence, rest of the chunk) for up to `max_sentences_per_chunk` sentences spread over the chunk."""
    cap, min_chars = recipe.max_text_chars, recipe.min_sentence_chars
    spans = [s for s in zh.sentence_spans(text) if len(zh.strip_ws(text[s[0] : s[1]])) >= min_chars]
    if len(spans) < 2:
        return []
    n, most = len(spans), recipe.max_sentences_per_chunk
    take = spans if n <= most else [spans[round(i * (n - 1) / (most - 1))] for i in range(most)]
    pairs = []
    for s, e in take:
        rest = (text[:s] + text[e:]).strip()
        if len(zh.strip_ws(rest)) >= min_chars:
            pairs.append((text[s:e].strip()[:cap], rest[:cap]))
    return pairs


def mine_pairs(
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
        if heading:
            pairs.append((" ".join(heading)[:cap], text[:cap]))
        pairs.extend(_sentence_pairs(text, recipe))
    for g in glossary or ():
        term = g.term.strip().strip("“”\"")
        if term and g.definition.strip():
            pairs.append((term, g.definition.strip()[:cap]))
            texts.append(f"{term}：{g.definition}")
    return texts, pairs


def _train_bpe(texts: list[str], vocab_size: int) -> "Tokenizer":
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())  # no unk token: characters never seen in training are dropped
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    # Split only at whitespace/punctuation runs: Chinese has no spaces, so BPE learns its words inside clauses.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\p{P}]+"), behavior="removed")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, max_token_length=8, min_frequency=2)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def _tokenize_pairs(tok: "Tokenizer", pairs: list[tuple[str, str]]) -> tuple[list[list[int]], np.ndarray]:
    """(token ids of every distinct text, (n, 2) rows of (anchor, positive) indexes into them). Each distinct text
    is encoded once; pairs with an empty side or the same text on both sides are dropped."""
    uniq: dict[str, int] = {}
    for a, p in pairs:
        uniq.setdefault(a, len(uniq))
        uniq.setdefault(p, len(uniq))
    uniq_texts = list(uniq)
    ids = [e.ids for e in tok.encode_batch(uniq_texts, add_special_tokens=False)] if uniq_texts else []
    pair_idx = np.array(
        [(uniq[a], uniq[p]) for a, p in pairs if ids[uniq[a]] and ids[uniq[p]] and a != p], dtype=np.int64
    ).reshape(-1, 2)
    return ids, pair_idx


# ----------------------------------------------------------------------------------------------------------------
# the training loop (torch)
# ----------------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _deterministic_torch(seed: int) -> Iterator[None]:
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


def _batch_loss(emb: "torch.nn.EmbeddingBag", id_tensors: list["torch.Tensor"], batch: np.ndarray, scale: float):
    """Symmetric in-batch-negatives loss for one batch of (anchor, positive) rows."""
    import torch
    import torch.nn.functional as F

    def embed(rows: np.ndarray) -> torch.Tensor:
        seqs = [id_tensors[i] for i in rows]
        offsets = torch.tensor(np.cumsum([0] + [len(s) for s in seqs[:-1]]), dtype=torch.long)
        return F.normalize(emb(torch.cat(seqs), offsets), dim=-1)

    a, p = embed(batch[:, 0]), embed(batch[:, 1])
    logits = a @ p.T * scale
    # Another pair in the batch with the same positive (or anchor) is not a negative.
    same = torch.from_numpy(
        (batch[:, 1][:, None] == batch[:, 1][None, :]) | (batch[:, 0][:, None] == batch[:, 0][None, :])
    )
    same.fill_diagonal_(False)
    logits = logits.masked_fill(same, float("-inf"))
    labels = torch.arange(len(batch))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def _train_embedding_bag(
    emb: "torch.nn.EmbeddingBag", ids: list[list[int]], pair_idx: np.ndarray, recipe: OfflineRecipe, seed: int,
    started: float,
) -> TrainingStats:
    """Adam over shuffled batches of pairs, `recipe.epochs` times (or until `recipe.max_seconds` after `started`)."""
    import torch

    steps, final_loss, stopped_early = 0, float("nan"), False
    if not len(pair_idx):
        return TrainingStats(steps, final_loss, stopped_early)
    id_tensors = [torch.tensor(x, dtype=torch.long) for x in ids]
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(emb.parameters(), lr=recipe.lr)
    bs = max(2, recipe.batch_size)
    for _epoch in range(recipe.epochs):
        order = rng.permutation(len(pair_idx))
        for start in range(0, len(order), bs):
            batch = pair_idx[order[start : start + bs]]
            if len(batch) < 2:
                continue
            loss = _batch_loss(emb, id_tensors, batch, recipe.scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            final_loss = float(loss.detach())
        if recipe.max_seconds is not None and time.perf_counter() - started > recipe.max_seconds:
            stopped_early = True
            break
    return TrainingStats(steps, final_loss, stopped_early)


def _train_and_save(tok: "Tokenizer", ids: list[list[int]], pair_idx: np.ndarray, recipe: OfflineRecipe, seed: int,
                    started: float, out: Path) -> TrainingStats:
    """Initialise StaticEmbedding from the seed, train it, and save it with Normalize as a sentence-transformers
    folder. The RNG order (embedding init, then the epoch permutations) is what makes runs byte-identical."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

    with _deterministic_torch(seed):
        static = StaticEmbedding(tok, embedding_dim=recipe.dim)
        stats = _train_embedding_bag(static.embedding, ids, pair_idx, recipe, seed, started)
        model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
        with quiet_libraries():
            model.save(str(out), create_model_card=False)
    return stats


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
    recipe = recipe or OfflineRecipe()
    t0 = time.perf_counter()
    texts, pairs = mine_pairs(texts_or_chunks, glossary, recipe)
    if not texts:
        raise ValueError("train_offline_model: no text to train on")
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    tok = _train_bpe(texts, recipe.vocab_size)
    t_tok = time.perf_counter() - t0
    ids, pair_idx = _tokenize_pairs(tok, pairs)
    stats = _train_and_save(tok, ids, pair_idx, recipe, seed, t0, out)
    info = {
        "name": recipe.name(),
        "recipe": recipe.__dict__,
        "seed": seed,
        "vocab_size": tok.get_vocab_size(),
        "texts": len(texts),
        "pairs": int(len(pair_idx)),
        "steps": stats.steps,
        "final_loss": round(stats.final_loss, 4) if stats.steps else None,
        "stopped_early": stats.stopped_early,
        "seconds": {"tokenizer": round(t_tok, 3), "total": round(time.perf_counter() - t0, 3)},
    }
    (out / OFFLINE_INFO_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    return out
