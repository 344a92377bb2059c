"""The measured parts of `reportqa bench`: ingest, the HTTP service and index growth (each in child processes)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .bench_config import DEV_SET, ENDPOINTS, MEMORY_HEADROOM, PEER_MAX_N, PILOT_N, BenchConfig, BenchError, Progress
from .bench_markdown import gib
from .bench_proc import RssSampler, run_child, run_module, run_worker, start_server, stop_server


def load_questions(limit: int | None = None) -> list[str]:
    from eval.dataset import load_dataset

    questions = [item.question for item in load_dataset(DEV_SET)]
    return questions[:limit] if limit else questions


def index_embed_spec(index_dir: Path) -> str:
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


def bench_ingest(cli: Sequence[str], index_dir: Path) -> dict[str, Any]:
    """First build and re-ingest of the shipped reports into `index_dir` by `CLI ingest` (`cli`: the command that
    runs reportqa): stage seconds, total, wall."""
    out: dict[str, Any] = {"index": str(index_dir)}
    for name in ("first_build", "reingest"):
        t = time.perf_counter()
        proc = run_child([*cli, "ingest", "--index", str(index_dir), "--json"], 1800, f"ingest ({name})")
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
    proc, url = start_server(config.cli, index_dir, work / "server.log")
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
                        run_module(
                            "eval.bench_load",
                            ["--url", url, "--endpoint", endpoint, "--concurrency", str(c),
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


def projection(n: int, done: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
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


def skip_reason(proj: dict[str, Any] | None, config: BenchConfig) -> str | None:
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


KEPT_BUILD = "bench_build.json"  # beside a kept synthetic index's manifest: what its build measured


def kept_build(index_dir: Path, n: int, source: Path, seed: int) -> dict[str, Any] | None:
    """The recorded build of a synthetic index kept by an earlier `--keep` run, when it is the same corpus (size,
    seed) embedded with the source index's model (same sha256); None means build it (again). A 1M build takes
    ~20 min: keeping it lets the query side be re-measured after a code change without rebuilding."""
    from ingest.manifest import read_manifest

    record = index_dir / KEPT_BUILD
    kept, src = read_manifest(index_dir), read_manifest(source)
    if kept is None or src is None or not record.is_file():
        return None
    try:
        build = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (build.get("n"), build.get("seed")) != (n, seed) or kept.embedding.sha256 != src.embedding.sha256:
        return None
    return build | {"reused": True}


def bench_growth(source: Path, config: BenchConfig, work: Path, progress: Progress) -> list[dict[str, Any]]:
    embed = index_embed_spec(source)
    gq = work / "growth_questions.json"
    gq.write_text(json.dumps(load_questions(config.growth_questions), ensure_ascii=False), encoding="utf-8")
    sizes = sorted(set(config.synthetic))
    plan = ([PILOT_N] if sizes and sizes[0] > PILOT_N else []) + sizes
    results: list[dict[str, Any]] = []
    for n in plan:
        row: dict[str, Any] = {"n": n, "pilot": n not in sizes, "embed_model": embed}
        index_dir = (config.keep or work) / f"synthetic_{n}"
        kept = kept_build(index_dir, n, source, config.seed) if config.keep else None
        proj = projection(n, results)
        reason = None if kept else skip_reason(proj, config)  # a kept build costs no build
        if reason:
            progress(f"growth N={n}: skipped ({reason})")
            results.append(row | {"status": "skipped", "reason": reason, "projected": proj})
            continue
        try:
            row["build"] = kept
            if row["build"] is not None:
                progress(f"growth N={n}: reusing the build kept in {index_dir}")
            else:
                progress(f"growth N={n}: build")
                row["build"] = run_worker(
                    ["build", "--source", str(source), "--n", str(n), "--index", str(index_dir), "--embed-model", embed,
                     "--seed", str(config.seed)],
                    work / f"build_{n}.json", timeout=max(600.0, 3 * config.max_build_seconds), what=f"build N={n}",
                )
                if config.keep:
                    (index_dir / KEPT_BUILD).write_text(json.dumps(row["build"], ensure_ascii=False), encoding="utf-8")
            progress(f"growth N={n}: query")
            peer_q = config.peer_questions if n <= PEER_MAX_N else 0
            row["query"] = run_worker(
                ["measure", "--index", str(index_dir), "--questions", str(gq), "--peer-questions", str(peer_q)],
                work / f"measure_{n}.json", timeout=1800, what=f"measure N={n}",
            )
            row["status"] = "ok"
        except BenchError as exc:
            progress(f"growth N={n}: failed")
            row |= {"status": "failed", "reason": str(exc)}
        finally:
            if not config.keep:
                shutil.rmtree(index_dir, ignore_errors=True)  # 100k chunks take ~1 GB on disk
        results.append(row)
    return results
