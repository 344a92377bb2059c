"""Child-process steps of `reportqa bench`, so each measurement starts from a clean process and its RSS is its own.

    python -m eval.bench_worker build   --source INDEX --n N --index OUT --embed-model SPEC --out result.json
    python -m eval.bench_worker measure --index INDEX --questions q.json --out result.json [--peer-questions K]

`build` makes a synthetic corpus of N chunks from the source index's chunks (eval.bench_synth) and builds it with
ingest.index_build.build_index, the code `reportqa ingest` runs. `measure` loads an index through QAService (so
the retriever has the service's settings), times Retriever.retrieve per question, then each arm alone, probes
HNSW efSearch (recall@10 against an exact scan) and, when asked, runs the llama-index peer. Results go to --out as
JSON (never stdout: libraries may print there).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bench_load import latency_summary

log = logging.getLogger(__name__)

EF_SEARCH_PROBE: tuple[int, ...] = (16, 32, 64, 128, 256)
WARMUP_QUERIES = 3  # the first queries load jieba's dictionary and the lazily loaded embedding model


def peak_rss_bytes() -> int:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def current_rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def rss_anon_bytes() -> int | None:
    """This process's anonymous resident memory (RssAnon in /proc/self/status: heap, Python objects, numpy arrays;
    not the memory-mapped index files, which the page cache holds and may drop); None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def du_bytes(path: str | Path) -> int:
    """Disk usage like `du -s` (allocated blocks), in bytes."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


# ----------------------------------------------------------------------------------------------------------------
# build
# ----------------------------------------------------------------------------------------------------------------
def build_synthetic(source: Path, n: int, index_dir: Path, embed_model: str, seed: int = 0) -> dict[str, Any]:
    """Build an index of `n` synthetic chunks varied from `source`'s chunks; timings, bytes and peak RSS."""
    from ingest.index_build import build_index
    from ingest.index_reader import load_index
    from qa_service.config import Settings

    from .bench_synth import synthetic_corpus

    settings = Settings(index=index_dir)
    src = load_index(source, load_dense=False)
    t = time.perf_counter()
    corpus = synthetic_corpus(src.chunks, list(src.documents.values()), n, seed=seed, glossary=src.glossary)
    generate_s = time.perf_counter() - t
    mean_chars = float(np.mean([len(c.text) for c in corpus.chunks]))
    t = time.perf_counter()
    result = build_index(corpus, settings.build_config(embed_model=embed_model))
    build_s = time.perf_counter() - t
    _carry_offline_model(result, embed_model)
    return {
        "n": n,
        "seed": seed,
        "embed_model": embed_model,
        "mean_chunk_chars": round(mean_chars, 1),
        "generate_seconds": round(generate_s, 3),
        "build_seconds": round(build_s, 3),
        "stage_seconds": result.stage_seconds,
        "dense": result.manifest.dense.model_dump(exclude_unset=True) if result.manifest.dense else None,
        "index_bytes": du_bytes(index_dir),
        "index_bytes_by_part": _bytes_by_part(result.build_dir),
        "build_peak_rss_bytes": peak_rss_bytes(),
    }


def _bytes_by_part(build_dir: Path | None) -> dict[str, int]:
    """Disk usage of each top-level entry of a build (chunks.jsonl, bm25_char/, dense.faiss, …)."""
    if build_dir is None:
        return {}
    out = {}
    for p in sorted(Path(build_dir).iterdir()):
        out[p.name] = du_bytes(p) if p.is_dir() else os.lstat(p).st_blocks * 512
    return out


def _carry_offline_model(result: Any, embed_model: str) -> None:
    """Copy an external offline model folder into the build as `model/`.

    Why: an index built with `embed_model=<path of an offline model>` records kind offline-static with no
    `path`, and load_index looks for offline models only inside the build (build/model), so without the copy the
    dense arm of the synthetic index would be off at query time. The copy is what an `auto` build stores too.
    """
    from ingest.embeddings import is_offline_model_dir

    if result.build_dir is None or not is_offline_model_dir(embed_model):
        return
    target = Path(result.build_dir) / "model"
    if not target.exists():
        shutil.copytree(embed_model, target)


# ----------------------------------------------------------------------------------------------------------------
# measure
# ----------------------------------------------------------------------------------------------------------------
def _time_each(fn: Callable[[str], Any], questions: Sequence[str]) -> list[float]:
    out = []
    for q in questions:
        t = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _arm_timings(index: Any, questions: Sequence[str], depth: int) -> dict[str, dict[str, Any]]:
    """Each arm alone at the retriever's candidate depth: where retrieval time goes as N grows."""
    tok = index.tokenizer
    arms: dict[str, Callable[[str], Any]] = {
        "word": lambda q: index.rank_word(tok.tokenize(q), depth),
        "char": lambda q: index.rank_char(tok.char_tokens(q), depth),
    }
    if "dense" in index.arms:
        arms["dense"] = lambda q: index.rank_dense(q, depth)
    return {name: latency_summary(_time_each(fn, questions)) for name, fn in arms.items()}


def _dense_probe(index: Any, questions: Sequence[str], k: int = 10) -> list[dict[str, Any]] | None:
    """For an HNSW index, per efSearch value: recall@k against an exact scan of vectors.npy, the score ratio
    (sum of the exact scores of what HNSW returned / sum of the exact top-k scores: near-ties make id recall look
    worse than the ranking is) and the search p50."""
    fi = index.faiss_index
    if fi is None or index.vectors is None or not hasattr(fi, "hnsw"):
        return None
    qv = np.ascontiguousarray(index.embedder.encode(list(questions)), dtype=np.float32)
    vectors = np.asarray(index.vectors)
    exact_scores = [vectors @ v for v in qv]
    exact = [np.argsort(-s, kind="stable")[:k] for s in exact_scores]
    original = fi.hnsw.efSearch
    rows = []
    try:
        for ef in EF_SEARCH_PROBE:
            fi.hnsw.efSearch = ef
            lat, recall, ratio = [], [], []
            for v, truth, scores in zip(qv, exact, exact_scores):
                t = time.perf_counter()
                _, ids = fi.search(v.reshape(1, -1), k)
                lat.append((time.perf_counter() - t) * 1000)
                got = ids[0][ids[0] >= 0]
                recall.append(len(set(truth.tolist()) & set(got.tolist())) / k)
                ratio.append(float(scores[got].sum() / scores[truth].sum()) if scores[truth].sum() > 0 else 1.0)
            rows.append({"efSearch": ef, "recall_at_10": round(float(np.mean(recall)), 4),
                         "score_ratio": round(float(np.mean(ratio)), 4), "p50_ms": latency_summary(lat)["p50_ms"]})
    finally:
        fi.hnsw.efSearch = original
    return rows


def measure(index_dir: Path, questions: Sequence[str], top_k: int = 10, peer_questions: int = 0) -> dict[str, Any]:
    """Retrieval latency over the questions on a loaded index, per-arm costs, HNSW probe and the peer."""
    from qa_service.config import Settings
    from qa_service.retriever import RetrievalQuery
    from qa_service.service import QAService

    settings = Settings(index=index_dir)
    rss_start = current_rss_bytes()
    t = time.perf_counter()
    service = QAService(settings)
    loaded = service.loaded()
    load_s = time.perf_counter() - t
    index, retriever, search = loaded.index, loaded.retriever, service.pipeline().search  # analysis + retrieval
    rss_loaded, rss_anon_loaded = current_rss_bytes(), rss_anon_bytes()
    for q in questions[:WARMUP_QUERIES]:
        search(RetrievalQuery(query=q, top_k=top_k))
    latencies = _time_each(lambda q: search(RetrievalQuery(query=q, top_k=top_k)), questions)
    out: dict[str, Any] = {
        "index": str(index_dir),
        "chunks": len(index.chunks),
        "arms": list(index.arms),
        "dense_index": index.manifest.dense.index if index.manifest.dense else None,
        "load_seconds": round(load_s, 3),
        "retrieval": {"top_k": top_k, **latency_summary(latencies)},
        # the slowest questions: what to profile when p95 moves
        "slowest": [{"question": questions[i], "ms": round(latencies[i], 2)} for i in np.argsort(latencies)[::-1][:5]],
        "rss_bytes": current_rss_bytes(),
        "rss_anon_bytes": rss_anon_bytes(),
        "rss_anon_bytes_after_load": rss_anon_loaded,
        "rss_bytes_interpreter": rss_start,
        "rss_bytes_after_load": rss_loaded,
        "arm_ms": _arm_timings(index, questions, retriever.config.candidate_depth),
        "dense_probe": _dense_probe(index, questions),
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if peer_questions > 0:
        out["peer"] = _peer(index, questions[:peer_questions], latencies[:peer_questions], settings, top_k)
    return out


def _peer(index: Any, questions: Sequence[str], reportqa_ms: Sequence[float], settings: Any, top_k: int) -> dict[str, Any]:
    from ingest.chunking import make_search_text

    from .bench_peer import PEER_NAME, build_peer, time_peer

    if index.embedder is None or index.vectors is None:
        return {"status": "skipped", "reason": "the index has no dense arm"}
    rss_before = current_rss_bytes()
    retriever, build_s = build_peer(index, make_search_text(settings.search_with_heading), top_k)
    peer = time_peer(retriever, questions)
    ours = latency_summary(reportqa_ms)
    ratio = peer["p50_ms"] / ours["p50_ms"] if peer["p50_ms"] and ours["p50_ms"] else None
    return {
        "status": "ok",
        "system": PEER_NAME,
        "questions": len(questions),
        "build_seconds": round(build_s, 3),
        "retrieval": peer,
        "reportqa_p50_ms": ours["p50_ms"],
        "ratio_p50": round(ratio, 2) if ratio else None,
        "rss_added_bytes": current_rss_bytes() - rss_before,
    }


# ----------------------------------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="reportqa bench child steps")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--source", type=Path, required=True)
    b.add_argument("--n", type=int, required=True)
    b.add_argument("--index", type=Path, required=True)
    b.add_argument("--embed-model", default="none")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--out", type=Path, required=True)
    m = sub.add_parser("measure")
    m.add_argument("--index", type=Path, required=True)
    m.add_argument("--questions", type=Path, required=True)
    m.add_argument("--top-k", type=int, default=10)
    m.add_argument("--peer-questions", type=int, default=0)
    m.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    import bm25s  # noqa: F401  - bm25s sets its logger to DEBUG on import; lower it afterwards

    for name in ("bm25s", "jieba", "sentence_transformers", "faiss", "llama_index"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.cmd == "build":
        result = build_synthetic(args.source, args.n, args.index, args.embed_model, args.seed)
    else:
        questions = json.loads(args.questions.read_text(encoding="utf-8"))
        result = measure(args.index, questions, args.top_k, args.peer_questions)
    args.out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
