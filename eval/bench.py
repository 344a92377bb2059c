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
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .bench_machine import RssSampler, machine_info
from .bench_report import gib

log = logging.getLogger(__name__)

SCHEMA = 1
DEV_SET = Path(__file__).resolve().parent / "datasets" / "reports_dev.jsonl"
FULL_CONCURRENCY: tuple[int, ...] = (1, 8, 32, 64)
QUICK_CONCURRENCY: tuple[int, ...] = (1, 8)
ENDPOINTS: tuple[str, ...] = ("ask", "search")
PEER_MAX_N = 100_000  # SimpleVectorStore rebuilds a numpy array of every vector per query: 1M would take ~20 s/query
PILOT_N = 10_000  # built first (for the projection only) when the smallest requested size is larger than this
MEMORY_HEADROOM = 0.8  # a size is skipped when its projected peak RSS exceeds this share of available memory

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """A step of the benchmark could not run (a child process failed, the server did not start)."""


@dataclass
class BenchConfig:
    out_dir: Path
    command: str
    index: Path | None = None
    synthetic: list[int] = field(default_factory=list)
    quick: bool = False
    concurrency: tuple[int, ...] = FULL_CONCURRENCY
    requests: int = 256  # per (endpoint, concurrency)
    max_questions: int | None = None  # None = every dev-set question
    growth_questions: int = 100
    peer_questions: int = 30
    # A 1M-chunk build takes ~20 min on 2 cores (jieba is ~1 ms per chunk per core); sizes projected
    # past this budget are skipped with the projection recorded.
    max_build_seconds: float = 1800.0
    seed: int = 0

    @classmethod
    def make(cls, out_dir: Path, command: str, *, index: Path | None = None, synthetic: Sequence[int] = (),
             quick: bool = False, requests: int | None = None) -> "BenchConfig":
        """The full benchmark, or with `quick` a small version of every part (a smoke test)."""
        if quick:
            return cls(out_dir=out_dir, command=command, index=index, synthetic=list(synthetic) or [2000], quick=True,
                       concurrency=QUICK_CONCURRENCY, requests=requests or 16, max_questions=20,
                       growth_questions=10, peer_questions=5, max_build_seconds=300.0)
        return cls(out_dir=out_dir, command=command, index=index, synthetic=list(synthetic),
                   requests=requests or 256)


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")  # the benchmark never downloads a model
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def _run_child(args: Sequence[str], timeout: float, what: str) -> subprocess.CompletedProcess:
    """Run `python -m …` in the project root; BenchError with the stderr tail when it fails."""
    cmd = [sys.executable, *args]
    log.info("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_child_env(), timeout=timeout,
                              cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what}: no result after {timeout:.0f} s") from exc
    if proc.returncode not in (0, 3):  # 3 = `reportqa ingest` skipped some file: still a build
        tail = (proc.stderr or "").strip().splitlines()[-15:]
        raise BenchError(f"{what}: exit {proc.returncode}\n" + "\n".join(tail))
    return proc


def _worker(args: Sequence[str], out: Path, timeout: float, what: str) -> dict[str, Any]:
    _run_child(["-m", "eval.bench_worker", *args, "--out", str(out)], timeout, what)
    return json.loads(out.read_text(encoding="utf-8"))


def load_questions(limit: int | None = None) -> list[str]:
    from eval.dataset import load_dataset

    questions = [item.question for item in load_dataset(DEV_SET)]
    return questions[:limit] if limit else questions


def _index_embed_spec(index_dir: Path) -> str:
    """The source index's embedding model as a build_index `embed_model`: its offline model folder, its model
    name, or `none` when it has no dense arm."""
    from ingest.embeddings import KIND_OFFLINE
    from ingest.manifest import read_manifest

    manifest = read_manifest(index_dir)
    if manifest is None or not manifest.embedding.model:
        return "none"
    if manifest.embedding.kind == KIND_OFFLINE:
        return str(manifest.build_dir(index_dir) / (manifest.embedding.path or "model"))
    return str(manifest.embedding.model)


# ----------------------------------------------------------------------------------------------------------------
# ingest
# ----------------------------------------------------------------------------------------------------------------
def bench_ingest(index_dir: Path) -> dict[str, Any]:
    """First build and re-ingest of the shipped reports into `index_dir` (stage seconds, total, wall)."""
    out: dict[str, Any] = {"index": str(index_dir)}
    for name in ("first_build", "reingest"):
        t = time.perf_counter()
        proc = _run_child(["-m", "qa_service.cli", "ingest", "--index", str(index_dir), "--json"], 1800, f"ingest ({name})")
        wall = time.perf_counter() - t
        summary = json.loads(proc.stdout)
        out[name] = {
            "stage_seconds": summary["stage_seconds"],
            "seconds": summary["seconds"],
            "wall_seconds": round(wall, 3),  # + interpreter start and imports
            "chunks": sum(summary["chunks"].values()),
            "documents": summary["documents"],
            "embedding_model": summary["embedding_model"],
            "reused_files": len(summary["reused_files"]),
        }
    return out


# ----------------------------------------------------------------------------------------------------------------
# service
# ----------------------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(index_dir: Path, log_path: Path, timeout: float = 180) -> tuple[subprocess.Popen, str]:
    """`python -m qa_service.cli serve` on a free loopback port; returns once /readyz answers 200."""
    import httpx

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = open(log_path, "w", encoding="utf-8")  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa_service.cli", "serve", "--index", str(index_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=log_file, env=_child_env(), cwd=Path(__file__).resolve().parents[1],
    )
    log_file.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited ({proc.returncode}): {log_path.read_text(encoding='utf-8')[-2000:]}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise BenchError(f"the server did not become ready within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _warm_up(url: str, questions: Sequence[str]) -> None:
    """A few untimed requests: the first ones load jieba's dictionary and the lazily loaded embedding model."""
    import httpx

    with httpx.Client(base_url=url, timeout=120) as client:
        for q in questions[:3]:
            client.post("/v1/ask", json={"question": q, "mode": "extractive"})
            client.get("/v1/search", params={"q": q, "top_k": 10})


def bench_service(index_dir: Path, questions: Sequence[str], config: BenchConfig, work: Path,
                  progress: Progress) -> dict[str, Any]:
    qfile = work / "service_questions.json"
    qfile.write_text(json.dumps(list(questions), ensure_ascii=False), encoding="utf-8")
    proc, url = start_server(index_dir, work / "server.log")
    measurements: list[dict[str, Any]] = []
    try:
        sampler = RssSampler(proc.pid)
        rss_idle = sampler.sample()
        _warm_up(url, questions)
        rss_warm = sampler.sample()
        with sampler:
            for endpoint in ENDPOINTS:
                for c in config.concurrency:
                    progress(f"service /v1/{endpoint} at concurrency {c}")
                    run_sampler = RssSampler(proc.pid)
                    out = work / f"load_{endpoint}_{c}.json"
                    with run_sampler:
                        _run_child(
                            ["-m", "eval.bench_load", "--url", url, "--endpoint", endpoint, "--concurrency", str(c),
                             "--requests", str(config.requests), "--questions", str(qfile), "--out", str(out)],
                            timeout=1800, what=f"load /v1/{endpoint} c={c}",
                        )
                    m = json.loads(out.read_text(encoding="utf-8"))
                    m["peak_rss_bytes"] = run_sampler.peak
                    measurements.append(m)
                    if proc.poll() is not None:
                        raise BenchError(f"the server died during /v1/{endpoint} c={c}")
    finally:
        stop_server(proc)
    return {
        "index": str(index_dir),
        "url": url,
        "client": "httpx thread pool in a separate process (eval.bench_load), same machine",
        "questions": len(questions),
        "requests_per_measurement": config.requests,
        "rss_bytes_ready": rss_idle,
        "rss_bytes_warm": rss_warm,
        "peak_rss_bytes": sampler.peak,
        "measurements": measurements,
    }


# ----------------------------------------------------------------------------------------------------------------
# growth
# ----------------------------------------------------------------------------------------------------------------
def _projection(n: int, done: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Linear projection of build seconds and build peak RSS from the largest size measured so far."""
    built = [g for g in done if g.get("status") == "ok"]
    if not built:
        return None
    ref = max(built, key=lambda g: g["n"])
    f = n / ref["n"]
    return {
        "from_n": ref["n"],
        "build_seconds": round(ref["build"]["build_seconds"] * f, 1),
        "build_peak_rss_bytes": int(ref["build"]["build_peak_rss_bytes"] * f),
    }


def _skip_reason(proj: dict[str, Any] | None, config: BenchConfig) -> str | None:
    import psutil

    if proj is None:
        return None
    available = psutil.virtual_memory().available
    reasons = []
    if proj["build_peak_rss_bytes"] > MEMORY_HEADROOM * available:
        reasons.append(f"projected build peak RSS {gib(proj['build_peak_rss_bytes'])} > "
                       f"{MEMORY_HEADROOM:.0%} of the {gib(available)} available")
    if proj["build_seconds"] > config.max_build_seconds:
        reasons.append(f"projected build {proj['build_seconds']:.0f} s > the {config.max_build_seconds:.0f} s budget")
    return "; ".join(reasons) or None


def bench_growth(source: Path, config: BenchConfig, work: Path, progress: Progress) -> list[dict[str, Any]]:
    embed = _index_embed_spec(source)
    gq = work / "growth_questions.json"
    gq.write_text(json.dumps(load_questions(config.growth_questions), ensure_ascii=False), encoding="utf-8")
    sizes = sorted(set(config.synthetic))
    plan = ([PILOT_N] if sizes and sizes[0] > PILOT_N else []) + sizes
    results: list[dict[str, Any]] = []
    for n in plan:
        row: dict[str, Any] = {"n": n, "pilot": n not in sizes, "embed_model": embed}
        proj = _projection(n, results)
        reason = _skip_reason(proj, config)
        if reason:
            progress(f"growth N={n}: skipped ({reason})")
            results.append(row | {"status": "skipped", "reason": reason, "projected": proj})
            continue
        index_dir = work / f"synthetic_{n}"
        try:
            progress(f"growth N={n}: build")
            row["build"] = _worker(
                ["build", "--source", str(source), "--n", str(n), "--index", str(index_dir), "--embed-model", embed,
                 "--seed", str(config.seed)],
                work / f"build_{n}.json", timeout=max(600.0, 3 * config.max_build_seconds), what=f"build N={n}",
            )
            progress(f"growth N={n}: query")
            peer_q = config.peer_questions if n <= PEER_MAX_N else 0
            row["query"] = _worker(
                ["measure", "--index", str(index_dir), "--questions", str(gq), "--peer-questions", str(peer_q)],
                work / f"measure_{n}.json", timeout=1800, what=f"measure N={n}",
            )
            row["status"] = "ok"
        except BenchError as exc:
            progress(f"growth N={n}: failed")
            row |= {"status": "failed", "reason": str(exc)}
        finally:
            shutil.rmtree(index_dir, ignore_errors=True)  # 100k chunks take ~1 GB on disk
        results.append(row)
    return results


# ----------------------------------------------------------------------------------------------------------------
# the whole run
# ----------------------------------------------------------------------------------------------------------------
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
        say("ingest: first build and re-ingest of the shipped reports")
        shipped = work / "shipped_index"
        result["ingest"] = bench_ingest(shipped)
        index_dir = config.index or shipped
        qfile = work / "questions.json"
        qfile.write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
        say(f"retrieval in-process over {len(questions)} questions (and the llama-index peer)")
        result["retrieval"] = _worker(
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
