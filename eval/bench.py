"""`reportqa bench`: ingest, retrieval, service and growth costs, written as bench.json and bench.md.

Every measurement runs in its own process so timings and RSS belong to the thing measured:

* ingest: `reportqa ingest --json` twice on a fresh temporary index of the shipped reports (first build with the
  default `auto` model, which trains the offline model; then a re-ingest of the same folder, which reuses vectors);
* retrieval: `eval.bench_worker measure` loads the index through QAService and times Retriever.retrieve(top_k 10)
  over the dev-set questions, then each arm alone, and runs the llama-index peer on the same chunks;
* service: a real `reportqa serve` on loopback and a load generator in another process (`eval.bench_load`) per
  (endpoint, concurrency); the server's RSS (children included) is sampled during the load;
* growth: per --synthetic N, `eval.bench_worker build` makes N synthetic chunks (eval.bench_synth) and builds them
  with build_index, then `measure` queries the result. A size whose cost, projected linearly from the largest size
  measured before it, exceeds the time budget or the available memory is skipped and the projection recorded.

The parts live in eval.bench_config (settings, limits), eval.bench_proc (child processes, RSS sampling),
eval.bench_steps (ingest, service, growth) and eval.bench_markdown (bench.md); this module runs them in order.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .bench_config import SCHEMA, BenchConfig, BenchError, Progress
from .bench_markdown import render_markdown, write_outputs
from .bench_proc import machine_info, run_worker
from .bench_steps import bench_growth, bench_ingest, bench_service, load_questions

__all__ = ["BenchConfig", "BenchError", "render_markdown", "run_bench", "write_outputs"]

log = logging.getLogger(__name__)


def run_bench(config: BenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Run every part and return the bench.json object (see write_outputs)."""
    say = progress or (lambda msg: log.info("%s", msg))
    started = time.perf_counter()
    questions = load_questions(config.max_questions)
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": config.command,
        "quick": config.quick,
        "machine": machine_info(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
    }
    work = Path(tempfile.mkdtemp(prefix="reportqa-bench-"))
    try:
        if config.growth_only and config.index is not None:
            result["growth"] = bench_growth(config.index, config, work, say)
            result["peer"] = peer_rows(result)
            return result | {"errors": 0, "seconds": round(time.perf_counter() - started, 1)}
        say("ingest: first build and re-ingest of the shipped reports")
        shipped = work / "shipped_index"
        result["ingest"] = bench_ingest(config.cli, shipped)
        index_dir = config.index or shipped
        qfile = work / "questions.json"
        qfile.write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
        say(f"retrieval in-process over {len(questions)} questions (and the llama-index peer)")
        result["retrieval"] = run_worker(
            ["measure", "--index", str(index_dir), "--questions", str(qfile), "--peer-questions", str(config.peer_questions)],
            work / "measure_shipped.json", timeout=1800, what="measure (shipped index)",
        )
        say("service: reportqa serve + load generator")
        result["service"] = bench_service(index_dir, questions, config, work, say)
        result["growth"] = bench_growth(index_dir, config, work, say) if config.synthetic else []
        result["peer"] = peer_rows(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["errors"] = total_errors(result)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def peer_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The peer comparison at every size it ran: (N, peer p50, reportqa p50 on the same questions, ratio)."""
    rows = []
    sources = [("shipped", result.get("retrieval") or {})] + [
        (g["n"], g.get("query") or {}) for g in result.get("growth", []) if g.get("status") == "ok"
    ]
    for n, measured in sources:
        peer = measured.get("peer")
        if peer and peer.get("status") == "ok":
            rows.append({"n": n, "chunks": measured.get("chunks"), "questions": peer["questions"],
                         "peer_p50_ms": peer["retrieval"]["p50_ms"], "reportqa_p50_ms": peer["reportqa_p50_ms"],
                         "ratio_p50": peer["ratio_p50"], "peer_build_seconds": peer["build_seconds"]})
    return rows


def total_errors(result: dict[str, Any]) -> int:
    return sum(int(m.get("errors", 0)) for m in (result.get("service") or {}).get("measurements", []))
