"""Streaming construction of a bm25s index: token ids instead of token strings, so 1M chunks fit in memory.

`bm25s.BM25().index(list_of_token_lists)` needs every document's tokens as Python strings at once (~75 KB per
chunk for the word and char arms together: 73 GB at 1M chunks). Here the tokens of a batch of documents are turned
into (token id, term frequency) pairs straight away and the strings are dropped:

pass 1  tokenise in batches (in `workers` spawned processes for big corpora); each batch becomes, per document,
        its distinct token ids and their counts; the pairs are appended to spill files next to the output, and the
        document frequency of every token and the length of every document are kept (a few bytes per token/doc);
pass 2  read the spill back batch by batch, score each pair with bm25s's own term-frequency and idf formulas, and
        place it straight into the preallocated CSC arrays (a counting sort: column offsets come from the document
        frequencies), so the peak is the final index (8 bytes per pair) plus one batch.

The result is saved with `bm25s.BM25.save`, so `bm25s.BM25.load`, `get_tokens_ids` and `get_scores_from_ids` work
on it unchanged, and every document's score for every query is bit-identical to `bm25s.BM25().index(tokens)`
(same float32/float64 arithmetic, idf through the same `math.log`). The one visible difference: token ids are
assigned in sorted token order (bm25s assigns them in `set` iteration order, which changes with the string hash
seed), so the saved files are also identical for serial and parallel builds.

Only the methods without a non-occurrence term (lucene, robertson, atire) are supported; the index uses lucene.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .tokenize import Tokenizer

if TYPE_CHECKING:  # pragma: no cover
    import bm25s

log = logging.getLogger(__name__)

ARMS = ("word", "char")
BATCH_DOCS = 1000  # documents per task: ~1 s of jieba per task, small enough to keep both workers busy to the end
_SUPPORTED_METHODS = ("lucene", "robertson", "atire")  # bm25l / bm25+ need a non-occurrence array


@dataclass
class ArmCounts:
    """One batch of documents as (token id, count) pairs, ids local to the process that tokenised it."""

    first_id: int  # the local id of new_tokens[0]: ids of one process grow contiguously across its batches
    new_tokens: list[str]  # tokens first seen in this batch, in local-id order
    ids: np.ndarray  # int32, the distinct token ids of each document, document after document
    counts: np.ndarray  # int32, the term frequency of each of those ids
    doc_nnz: np.ndarray  # int64, distinct tokens per document (how many pairs belong to it)
    doc_len: np.ndarray  # int64, tokens per document (the BM25 document length)


@dataclass
class ArmStats:
    docs: int
    vocab: int
    pairs: int
    workers: int
    tokenize_seconds: float
    csc_seconds: float


class LocalVocab:
    """Token -> id for the tokens one process has seen, ids from 0 in first-seen order."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def encode(self, token_lists: Sequence[list[str]]) -> ArmCounts:
        ids = self.ids
        first = len(ids)
        n_docs = len(token_lists)
        doc_len = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=n_docs)
        flat_tokens = list(chain.from_iterable(token_lists))
        add = ids.setdefault
        # `len(ids)` is evaluated before the call, so an unseen token gets the next id.
        flat = np.fromiter((add(t, len(ids)) for t in flat_tokens), dtype=np.int64, count=len(flat_tokens))
        is_new = flat >= first
        new_tokens: list[str] = []
        if is_new.any():
            new_pos = np.flatnonzero(is_new)
            _, first_seen = np.unique(flat[new_pos], return_index=True)  # sorted ids = first..len(ids)-1
            new_tokens = [flat_tokens[i] for i in new_pos[first_seen]]
        vocab_size = max(len(ids), 1)
        doc = np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
        # One sort gives each document's distinct ids with their counts, documents in order.
        keys, counts = np.unique(doc * vocab_size + flat, return_counts=True)
        return ArmCounts(
            first_id=first,
            new_tokens=new_tokens,
            ids=(keys % vocab_size).astype(np.int32),
            counts=counts.astype(np.int32),
            doc_nnz=np.bincount(keys // vocab_size, minlength=n_docs).astype(np.int64),
            doc_len=doc_len,
        )


def arm_tokens(tokenizer: Tokenizer, arm: str) -> Callable[[str], list[str]]:
    """The tokeniser of an arm: jieba search-mode words, or character 1–2-grams."""
    if arm == "word":
        return tokenizer.tokenize
    if arm == "char":
        return tokenizer.char_tokens
    raise ValueError(f"unknown BM25 arm {arm!r} (expected one of {ARMS})")


# ----- worker side (a spawned process: its Tokenizer is re-created from the saved folder) ------------------------
_worker_state: tuple[Callable[[str], list[str]], LocalVocab] | None = None


def _init_worker(tokenizer_dir: str, arm: str) -> None:
    global _worker_state
    _worker_state = (arm_tokens(Tokenizer.load(tokenizer_dir), arm), LocalVocab())


def _encode_in_worker(texts: list[str]) -> tuple[int, ArmCounts]:
    assert _worker_state is not None, "_init_worker did not run"
    tokens, vocab = _worker_state
    return os.getpid(), vocab.encode([tokens(t) for t in texts])


# ----- parent side ------------------------------------------------------------------------------------------------
class _GrowingArray:
    """An int array appended to in pieces (amortised doubling), for the local -> global id maps."""

    def __init__(self, dtype: type = np.int32) -> None:
        self._a = np.zeros(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.size + len(values)
        if need > len(self._a):
            grown = np.zeros(max(need, 2 * len(self._a)), dtype=self._a.dtype)
            grown[: self.size] = self._a[: self.size]
            self._a = grown
        self._a[self.size : need] = values
        self.size = need

    @property
    def array(self) -> np.ndarray:
        return self._a[: self.size]


class PostingAccumulator:
    """Pass 1 in the parent: global vocabulary, document frequencies and lengths, pairs spilled to disk."""

    def __init__(self, spill_dir: Path) -> None:
        self.vocab: dict[str, int] = {}
        self.tokens: list[str] = []  # by global id
        self._maps: dict[Hashable, _GrowingArray] = {}
        self._df = _GrowingArray(np.int64)
        self._doc_len: list[np.ndarray] = []
        self._doc_nnz: list[np.ndarray] = []
        self.batch_pairs: list[int] = []
        self._ids_path = spill_dir / "ids.int32"
        self._counts_path = spill_dir / "counts.int32"
        # Open for the whole pass (add() appends batch after batch); close() / finish() close them.
        self._ids_f = open(self._ids_path, "wb")  # noqa: SIM115
        self._counts_f = open(self._counts_path, "wb")  # noqa: SIM115

    def add(self, source: Hashable, batch: ArmCounts) -> None:
        local = self._maps.setdefault(source, _GrowingArray(np.int32))
        if batch.first_id != local.size:
            # A process's batches must arrive in the order it tokenised them, or its local ids would be misread.
            raise RuntimeError(f"token ids of {source} arrived out of order ({batch.first_id} != {local.size})")
        gids = np.empty(len(batch.new_tokens), dtype=np.int32)
        for k, tok in enumerate(batch.new_tokens):
            g = self.vocab.get(tok)
            if g is None:
                g = self.vocab[tok] = len(self.tokens)
                self.tokens.append(tok)
            gids[k] = g
        local.extend(gids)
        ids = local.array[batch.ids]
        if len(self.tokens) > self._df.size:
            self._df.extend(np.zeros(len(self.tokens) - self._df.size, dtype=np.int64))
        if ids.size:
            self._df.array[:] += np.bincount(ids, minlength=self._df.size)  # each pair = one document
        ids.tofile(self._ids_f)
        batch.counts.astype(np.int32, copy=False).tofile(self._counts_f)
        self._doc_len.append(batch.doc_len)
        self._doc_nnz.append(batch.doc_nnz)
        self.batch_pairs.append(int(ids.size))

    def close(self) -> None:
        self._ids_f.close()
        self._counts_f.close()

    def finish(self, bm25: bm25s.BM25) -> int:
        """Pass 2: fill `bm25.scores` / `bm25.vocab_dict` exactly as `bm25.index(tokens)` would; returns pairs."""
        from bm25s.scoring import _select_idf_scorer, _select_tfc_scorer

        if bm25.method not in _SUPPORTED_METHODS or bm25.idf_method not in _SUPPORTED_METHODS:
            raise ValueError(f"streaming BM25 supports {_SUPPORTED_METHODS}, not {bm25.method}/{bm25.idf_method}")
        self.close()
        n_vocab = len(self.tokens)
        order = sorted(range(n_vocab), key=self.tokens.__getitem__)
        new_id = np.empty(n_vocab, dtype=np.int32)
        new_id[np.asarray(order, dtype=np.int64)] = np.arange(n_vocab, dtype=np.int32)
        vocab_dict = {self.tokens[i]: k for k, i in enumerate(order)}
        del order
        self.vocab, self.tokens = {}, []  # the sorted dict replaces them
        df = np.zeros(n_vocab, dtype=np.int64)
        df[new_id] = self._df.array[:n_vocab]
        doc_len = np.concatenate(self._doc_len) if self._doc_len else np.zeros(0, dtype=np.int64)
        n_docs = int(doc_len.size)
        avg_doc_len = doc_len.mean() if n_docs else 0.0  # the same int64 mean bm25s takes

        idf = _idf_array(df, n_docs, _select_idf_scorer(bm25.idf_method), bm25.dtype)
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        n_pairs = int(indptr[-1])
        data = np.empty(n_pairs, dtype=bm25.dtype)
        indices = np.empty(n_pairs, dtype=bm25.int_dtype)
        heads = indptr[:-1].copy()
        tfc_fn = _select_tfc_scorer(bm25.method)
        doc_start = 0
        with open(self._ids_path, "rb") as ids_f, open(self._counts_path, "rb") as counts_f:
            for m, d_len, d_nnz in zip(self.batch_pairs, self._doc_len, self._doc_nnz):
                cols = new_id[np.fromfile(ids_f, dtype=np.int32, count=m)]
                tf = np.fromfile(counts_f, dtype=np.int32, count=m).astype(bm25.dtype)
                rows = np.repeat(np.arange(doc_start, doc_start + d_len.size, dtype=bm25.int_dtype), d_nnz)
                # Vectorised over pairs, but the same operations and dtypes as bm25s's per-document loop
                # (float32 tf, float64 length ratio, float32 idf, float64 product, rounded to float32 once).
                tfc = tfc_fn(tf_array=tf, l_d=np.repeat(d_len, d_nnz), l_avg=avg_doc_len, k1=bm25.k1, b=bm25.b,
                             delta=bm25.delta)
                vals = (idf[cols] * tfc).astype(bm25.dtype)
                _scatter(cols, rows, vals, heads, data, indices)
                doc_start += d_len.size
        if not np.array_equal(heads, indptr[1:]):
            raise RuntimeError("streaming BM25: spilled pairs do not match the document frequencies")
        self._ids_path.unlink(missing_ok=True)
        self._counts_path.unlink(missing_ok=True)
        if "" not in vocab_dict:  # bm25s's "empty token", one past the last column
            vocab_dict[""] = n_vocab
        bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
        bm25.vocab_dict = vocab_dict
        bm25.nonoccurrence_array = None
        bm25.unique_token_ids_set = set(vocab_dict.values())
        return n_pairs


def _idf_array(df: np.ndarray, n_docs: int, idf_fn: Callable[..., float], dtype: str) -> np.ndarray:
    """bm25s's idf per token; math.log on each distinct df (np.log may differ in the last bit)."""
    out = np.zeros(df.size, dtype=dtype)
    if df.size == 0:
        return out
    distinct, inverse = np.unique(df, return_inverse=True)
    values = np.array([idf_fn(int(d), N=n_docs) if d else 0.0 for d in distinct], dtype=dtype)
    out[:] = values[inverse.reshape(-1)]
    return out


def _scatter(
    cols: np.ndarray, rows: np.ndarray, vals: np.ndarray, heads: np.ndarray, data: np.ndarray, indices: np.ndarray
) -> None:
    """Append one batch's pairs to their columns; rows ascend within a column because batches come in doc order."""
    if cols.size == 0:
        return
    order = np.argsort(cols, kind="stable")
    sc = cols[order]
    starts = np.flatnonzero(np.concatenate(([True], sc[1:] != sc[:-1])))
    lengths = np.diff(np.append(starts, sc.size))
    rank = np.arange(sc.size, dtype=np.int64) - np.repeat(starts, lengths)
    pos = heads[sc] + rank
    data[pos] = vals[order]
    indices[pos] = rows[order]
    heads[sc[starts]] += lengths


def _batches(texts: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(texts), size):
        yield list(texts[i : i + size])


def _encoded_batches(
    texts: Sequence[str], arm: str, tokenizer: Tokenizer, tokenizer_dir: Path | None, workers: int, batch_docs: int
) -> Iterator[tuple[Hashable, ArmCounts]]:
    if workers <= 1:
        tokens, vocab = arm_tokens(tokenizer, arm), LocalVocab()
        for batch in _batches(texts, batch_docs):
            yield "parent", vocab.encode([tokens(t) for t in batch])
        return
    if tokenizer_dir is None:
        raise ValueError("parallel tokenisation needs the saved tokenizer folder (workers re-create it from there)")
    # spawn, not fork: the parent may hold threads (faiss/OpenMP, a progress display) that a fork would copy
    # mid-lock, and a forked child's garbage collector would touch (and so copy) the parent's whole corpus.
    # ProcessPoolExecutor, not Pool: a worker that dies breaks the pool (BrokenProcessPool) instead of hanging it.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(str(tokenizer_dir), arm)) as pool:
        # map yields in submission order and each worker takes tasks in that order, so each worker's batches
        # arrive in the order it tokenised them (PostingAccumulator.add checks it).
        yield from pool.map(_encode_in_worker, _batches(texts, batch_docs))


def _accumulate(
    texts: Sequence[str], arm: str, tokenizer: Tokenizer, tokenizer_dir: Path | None, workers: int, batch_docs: int,
    spill: Path,
) -> PostingAccumulator:
    acc = PostingAccumulator(spill)
    try:
        for source, batch in _encoded_batches(texts, arm, tokenizer, tokenizer_dir, workers, batch_docs):
            acc.add(source, batch)
    finally:
        acc.close()
    return acc


def build_bm25_arm(
    texts: Sequence[str],
    arm: str,
    tokenizer: Tokenizer,
    out: str | Path,
    *,
    tokenizer_dir: str | Path | None = None,
    workers: int = 1,
    batch_docs: int = BATCH_DOCS,
) -> tuple[bm25s.BM25, ArmStats]:
    """Build and save (to `out`) the bm25s index of one arm over `texts`; returns (bm25s.BM25, ArmStats).

    `workers` > 1 tokenises in that many spawned processes, each loading the tokenizer saved in `tokenizer_dir`
    (it must be `tokenizer.save`d there: same user words and settings, so the same tokens). Spawned workers
    re-import the caller's main module, so a script that builds must keep its work under
    `if __name__ == "__main__":`; if the workers cannot start, the arm is tokenised in this process instead.
    """
    import bm25s

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tok_dir = Path(tokenizer_dir) if tokenizer_dir is not None else None
    spill = Path(tempfile.mkdtemp(prefix=f".bm25-{arm}-spill-", dir=out.parent))
    t0 = time.perf_counter()
    try:
        try:
            acc = _accumulate(texts, arm, tokenizer, tok_dir, workers, batch_docs, spill)
        except BrokenProcessPool as exc:
            log.warning("bm25 %s: tokenising in %d worker processes failed (%s); tokenising in this process",
                        arm, workers, exc)
            workers = 1
            acc = _accumulate(texts, arm, tokenizer, tok_dir, workers, batch_docs, spill)
        t1 = time.perf_counter()
        retriever = bm25s.BM25()  # bm25s defaults (lucene, k1 1.5, b 0.75): what the manifest records
        n_vocab = len(acc.tokens)
        pairs = acc.finish(retriever)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    retriever.save(str(out), show_progress=False)
    stats = ArmStats(
        docs=len(texts),
        vocab=n_vocab,
        pairs=pairs,
        workers=max(1, workers),
        tokenize_seconds=round(t1 - t0, 3),
        csc_seconds=round(time.perf_counter() - t1, 3),
    )
    log.info("bm25 %s: %s", arm, stats)
    return retriever, stats
