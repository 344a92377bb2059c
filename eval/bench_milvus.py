"""Measure the Milvus store against the embedded one on a synthetic corpus: the figures behind README's capacity
table.

    python -m eval.bench_milvus --source INDEX --n 10000 --out eval/runs/milvus-10k.json [--embed-model SPEC]

It starts a `milvus-lite server` on loopback (the network path, as a cluster is reached), builds N synthetic
chunks varied from INDEX's chunks (eval.bench_synth, as `reportqa bench` does), publishes them to Milvus, then
times the service's retrieval (query analysis + every arm + fusion) per dev-set question on each store, each arm
of the Milvus store alone, and reads the memory of the server process and the size of its data folder.
SPEC: `none` (lexical arms only, the default) or the folder of an offline model (e.g. INDEX's build `model/`).
`--ray local` only times the upload, serial against Ray Data (ingest.milvus_ray). `--uri http://host:19530` measures an existing Milvus (a cluster) instead; its memory is read from the cluster.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .bench_load import latency_summary
from .bench_worker import _carry_offline_model, current_rss_bytes, du_bytes

log = logging.getLogger(__name__)
DATASET = Path(__file__).parent / "datasets" / "reports_dev.jsonl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lite_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    exe = Path(sys.executable).with_name("milvus-lite")
    proc = subprocess.Popen([str(exe), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("milvus-lite server did not start")


def _questions(limit: int) -> list[str]:
    rows = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows][:limit]


def _time_service(settings: Any, questions: list[str]) -> dict[str, Any]:
    from qa_service.retriever import RetrievalQuery
    from qa_service.service import QAService

    rss = current_rss_bytes()
    t = time.perf_counter()
    service = QAService(settings)
    loaded = service.loaded()
    load_s = time.perf_counter() - t
    search = service.pipeline().search
    for q in questions[:3]:  # warm-up: jieba's dictionary, the embedding model
        search(RetrievalQuery(query=q, top_k=10))
    lat = []
    for q in questions:
        t = time.perf_counter()
        search(RetrievalQuery(query=q, top_k=10))
        lat.append((time.perf_counter() - t) * 1000)
    return {"load_seconds": round(load_s, 3), "retrieval": latency_summary(lat),
            "client_rss_growth_bytes": current_rss_bytes() - rss, "arms": list(loaded.index.arms),
            "arm_ms": _arm_ms(loaded.index, questions, settings.candidate_depth)}


def _arm_ms(index: Any, questions: list[str], depth: int) -> dict[str, Any]:
    arms = {"word": lambda q: index.rank_word(index.tokenizer.tokenize(q), depth),
            "char": lambda q: index.rank_char(index.tokenizer.char_tokens(q), depth),
            "dense": lambda q: index.rank_dense(q, depth)}
    out = {}
    for arm, run in arms.items():
        if arm not in index.arms:
            continue
        lat = []
        for q in questions:
            t = time.perf_counter()
            run(q)
            lat.append((time.perf_counter() - t) * 1000)
        out[arm] = latency_summary(lat)["p50_ms"]
    return out


def ray_publish(index_dir: Path, manifest: Any, work: Path, address: str) -> dict[str, float]:
    """Seconds to publish the same build to a fresh milvus-lite file serially and with Ray (`--ray ADDRESS`)."""
    from ingest.milvus_publish import publish_to_milvus
    from qa_service.config import Settings

    out = {}
    for label, ray_address in (("serial", None), ("ray", address)):
        config = Settings(index=work / "unused", store="milvus", milvus_uri=str(work / f"{label}.db"),
                          milvus_collection="bench").milvus_config()
        t = time.perf_counter()
        publish_to_milvus(config, index_dir, manifest, ray_address)
        out[f"publish_{label}_seconds"] = round(time.perf_counter() - t, 3)
    return out


def run(source: Path, n: int, embed_model: str, n_questions: int, work: Path, uri: str | None = None,
        ray_address: str | None = None) -> dict[str, Any]:
    import psutil

    from ingest.index_build import build_index
    from ingest.index_reader import load_index
    from ingest.milvus_publish import publish_to_milvus
    from qa_service.config import Settings

    from .bench_synth import synthetic_corpus

    src = load_index(source, load_dense=False)
    corpus = synthetic_corpus(src.chunks, list(src.documents.values()), n, glossary=src.glossary)
    embedded = Settings(index=work / "index")
    t = time.perf_counter()
    result = build_index(corpus, embedded.build_config(embed_model=embed_model))
    build_s = time.perf_counter() - t
    _carry_offline_model(result, embed_model)
    if ray_address:
        return {"n": n, "embedded_build_seconds": round(build_s, 3),
                **ray_publish(work / "index", result.manifest, work, ray_address)}
    server = None
    if uri is None:
        server, uri = start_lite_server(work / "milvus")
    try:
        milvus = Settings(index=work / "cache", store="milvus", milvus_uri=uri, milvus_collection="bench")
        t = time.perf_counter()
        publish_to_milvus(milvus.milvus_config(), work / "index", result.manifest)
        publish_s = time.perf_counter() - t
        questions = _questions(n_questions)
        out = {"n": n, "embed_model": embed_model, "questions": len(questions), "embedded_build_seconds": round(build_s, 3),
               "milvus_publish_seconds": round(publish_s, 3), "embedded_index_bytes": du_bytes(work / "index"),
               "embedded": _time_service(embedded, questions), "milvus": _time_service(milvus, questions)}
        if server is not None:  # a remote Milvus reports its own memory (its metrics, or Attu)
            out["milvus_server_rss_bytes"] = int(psutil.Process(server.pid).memory_info().rss)
            out["milvus_data_bytes"] = du_bytes(work / "milvus")
        out["milvus_cache_bytes"] = du_bytes(work / "cache")
        return out
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", type=Path, required=True, help="an index whose chunks seed the synthetic corpus")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--embed-model", default="none")
    p.add_argument("--questions", type=int, default=60)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="only time the upload, serial against Ray at ADDRESS ('local'), to milvus-lite files")
    p.add_argument("--uri", default=None, help="an existing Milvus (http://host:19530) instead of a local lite server")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-milvus-") as work:
        result = run(args.source, args.n, args.embed_model, args.questions, Path(work), args.uri, args.ray)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    logging.getLogger(__name__).warning("written %s", args.out)


if __name__ == "__main__":
    main()
