"""`reportqa bench --workers 1,2`: /v1/ask throughput and latency per worker count and concurrency, and
`--uploads N`: N uploads and N deletes through /v1/documents while /v1/ask is under load.

Each worker count gets its own real `reportqa serve --workers N` on loopback. The benchmark waits until every
worker has answered (the JSON access log names the worker's pid), warms the server with a short untimed run,
then runs the load client (eval.bench_http: wrk or the Python client) for `seconds` per concurrency. Worker
memory (RSS, and PSS, which splits shared pages between the processes that map them) is read after the load.

The uploads run works on a copy of the index; it reports every load error (must be 0), every job that did not
end `done`, and the document ids before, after the uploads and after the deletes.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .bench_config import BenchError, Progress
from .bench_http import Client, run_load_for, start_load
from .bench_proc import start_server, stop_server

_WARM_SECONDS = 3
_PID_BATCH = 16
_PID_BATCHES = 200
_JOB_POLLS = 20_000  # x 0.1 s


def wait_for_workers(url: str, log_path: Path, workers: int) -> list[int]:
    """Concurrent /healthz batches on fresh connections until `workers` pids have answered; those pids."""
    import httpx

    marker = uuid.uuid4().hex

    def one(i: int) -> None:
        with httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as c:
            c.get("/healthz", headers={"X-Request-ID": f"{marker}-{i}"})

    for batch in range(_PID_BATCHES):
        with ThreadPoolExecutor(_PID_BATCH) as pool:
            list(pool.map(one, range(batch * _PID_BATCH, (batch + 1) * _PID_BATCH)))
        pids = _pids(log_path, marker)
        if len(pids) >= workers:
            return sorted(pids)
        time.sleep(0.2)
    raise BenchError(f"only {len(_pids(log_path, marker))} of {workers} workers answered (is REPORTQA_ACCESS_LOG off?)")


def _pids(log_path: Path, marker: str) -> set[int]:
    pids = set()
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and marker in line:
            pids.add(json.loads(line).get("pid"))
    return pids - {None}


def worker_memory(pids: Sequence[int]) -> list[dict[str, int]]:
    import psutil

    out = []
    for pid in pids:
        try:
            info = psutil.Process(pid).memory_full_info()
        except psutil.Error:
            continue
        out.append({"pid": pid, "rss_bytes": int(info.rss), "pss_bytes": int(getattr(info, "pss", 0)),
                    "uss_bytes": int(info.uss)})
    return out


def bench_workers(cli: Sequence[str], index: Path, questions: Sequence[str], workers: Sequence[int],
                  concurrency: Sequence[int], seconds: float, client: Client, work: Path,
                  progress: Progress) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    memory: dict[str, Any] = {}
    for n in workers:
        log_path = work / f"server_w{n}.log"
        proc, url = start_server(cli, index, log_path, workers=n)
        try:
            pids = wait_for_workers(url, log_path, n)
            progress(f"{n} worker(s) ready: pids {pids}; warming up")
            run_load_for(client, url, questions, max(concurrency), _WARM_SECONDS, work, f"warm_w{n}")
            for c in concurrency:
                progress(f"{n} worker(s), concurrency {c}: {seconds:.0f} s of /v1/ask")
                m = run_load_for(client, url, questions, c, seconds, work, f"load_w{n}_c{c}")
                rows.append({"workers": n, **m})
                if proc.poll() is not None:
                    raise BenchError(f"the server died at {n} workers, concurrency {c}")
            memory[str(n)] = worker_memory(pids)
        finally:
            stop_server(proc)
    return {"kind": "workers", "client": client, "seconds_per_row": seconds, "index": str(index),
            "rows": rows, "speedup": _speedups(rows), "worker_memory": memory}


def _speedups(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """req/s of each worker count over 1 worker's, per concurrency (`"2@32": 1.8`)."""
    base = {r["concurrency"]: r["rps"] for r in rows if r["workers"] == 1 and r.get("rps")}
    return {f"{r['workers']}@{r['concurrency']}": round(r["rps"] / base[r["concurrency"]], 2)
            for r in rows if r["workers"] != 1 and r.get("rps") and r["concurrency"] in base}


# -- uploads and deletes under load ------------------------------------------------------------------------------


def _doc_text(i: int) -> str:
    return f"第{i}号压测报告\n一、项目情况\n第{i}号压测项目完成投资{1000 + i}万元，进展顺利。\n"


def _submit(client: Any, method: str, path: str, **kwargs: Any) -> str:
    for _ in range(_JOB_POLLS):
        r = client.request(method, path, **kwargs)
        if r.status_code == 202:
            return r.json()["job_id"]
        if r.status_code != 429:  # the queue is full: wait for room; anything else is a failure
            raise BenchError(f"{method} {path}: HTTP {r.status_code}: {r.text[:300]}")
        time.sleep(0.1)
    raise BenchError("the job queue never had room")


def _wait(client: Any, job_id: str) -> dict[str, Any]:
    for _ in range(_JOB_POLLS):
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise BenchError(f"job {job_id} did not finish")


def _doc_ids(client: Any) -> set[str]:
    return {d["id"] for d in client.get("/v1/documents").json()}


def bench_uploads(cli: Sequence[str], index: Path, questions: Sequence[str], n_docs: int, workers: int,
                  concurrency: int, client: Client, work: Path, progress: Progress) -> dict[str, Any]:
    import httpx

    copy = work / "uploads_index"
    shutil.copytree(index, copy, ignore=shutil.ignore_patterns("jobs", "sources"))  # the source index is not changed
    log_path = work / "server_uploads.log"
    proc, url = start_server(cli, copy, log_path, workers=workers)
    try:
        wait_for_workers(url, log_path, workers)
        with httpx.Client(base_url=url, timeout=120) as http:
            before = _doc_ids(http)
            load = start_load(client, url, questions, concurrency, None, work, "uploads_load")
            started = time.perf_counter()
            try:
                progress(f"{n_docs} uploads under load (c={concurrency}, {workers} worker(s))")
                uploads = [_wait(http, j) for j in [
                    _submit(http, "POST", "/v1/documents", files=[("files", (f"load{i:03d}.txt", _doc_text(i).encode(), "text/plain"))])
                    for i in range(n_docs)]]
                added = [d for job in uploads for d in job["result"]["documents"]]
                after_uploads = _doc_ids(http)
                progress(f"{len(added)} deletes under load")
                deletes = [_wait(http, j) for j in [_submit(http, "DELETE", f"/v1/documents/{d}") for d in added]]
                after_deletes = _doc_ids(http)
            finally:
                load.stop()
            seconds = time.perf_counter() - started
            result = load.result(timeout=120)
    finally:
        stop_server(proc)
        shutil.rmtree(copy, ignore_errors=True)
    jobs = uploads + deletes
    return {
        "kind": "uploads", "client": client, "workers": workers, "concurrency": concurrency, "seconds": round(seconds, 1),
        "uploads": n_docs, "deletes": len(deletes),
        "jobs_not_done": [{"job_id": j["job_id"], "status": j["status"], "error": j["error"]} for j in jobs if j["status"] != "done"],
        "documents_before": len(before), "documents_after_uploads": len(after_uploads),
        "documents_after_deletes": len(after_deletes),
        "documents_lost": sorted((before | set(added)) - after_uploads) + sorted(before - after_deletes),
        "documents_left_over": sorted(after_deletes - before),
        "load": result,
    }


# -- bench_workers.md ------------------------------------------------------------------------------------------------


def render_workers_markdown(result: dict[str, Any]) -> str:
    lines = [f"# reportqa bench: workers and uploads\n", f"Command: `{result.get('command', '')}`  ",
             f"Load client: {result.get('client')}; machine: {result.get('machine', {}).get('logical_cores')} cores\n"]
    load = result.get("workers")
    if load:
        lines += ["| workers | concurrency | req/s | p50 ms | p95 ms | p99 ms | requests | errors |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['workers']} | {r['concurrency']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} "
                  f"| {r['completed']} | {r['errors']} |" for r in load["rows"]]
        if load["speedup"]:
            lines.append("\nSpeed-up over 1 worker (req/s ratio): "
                         + ", ".join(f"{k.split('@')[0]} workers at c={k.split('@')[1]}: {v}x" for k, v in load["speedup"].items()))
        for n, procs in load["worker_memory"].items():
            lines.append(f"\nMemory with {n} worker(s): " + "; ".join(
                f"pid {p['pid']} RSS {p['rss_bytes'] / 2**20:.0f} MiB, PSS {p['pss_bytes'] / 2**20:.0f} MiB, "
                f"USS {p['uss_bytes'] / 2**20:.0f} MiB" for p in procs))
    up = result.get("uploads")
    if up:
        lines += ["", f"Uploads under load: {up['uploads']} uploads and {up['deletes']} deletes in {up['seconds']} s, "
                  f"{up['workers']} worker(s), /v1/ask at c={up['concurrency']}: {up['load']['completed']} asks, "
                  f"{up['load']['errors']} errors; jobs not done: {len(up['jobs_not_done'])}; documents "
                  f"{up['documents_before']} -> {up['documents_after_uploads']} -> {up['documents_after_deletes']}, "
                  f"lost: {len(up['documents_lost'])}, left over: {len(up['documents_left_over'])}"]
    return "\n".join(lines) + "\n"


def failures(result: dict[str, Any]) -> list[str]:
    """What makes the run fail (exit 1): load errors, jobs that did not end done, lost or left-over documents."""
    out = []
    for r in (result.get("workers") or {}).get("rows", []):
        if r["errors"]:
            out.append(f"{r['errors']} errors at {r['workers']} worker(s), c={r['concurrency']}")
    up = result.get("uploads")
    if up:
        if up["load"]["errors"]:
            out.append(f"{up['load']['errors']} /v1/ask errors during the uploads")
        if up["jobs_not_done"] or up["documents_lost"] or up["documents_left_over"]:
            out.append("document jobs failed or documents were lost or left over (see bench_workers.json)")
    return out
