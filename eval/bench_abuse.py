"""Abuse benchmark: how `reportqa serve` holds up, with /healthz latency measured all along (target < 100 ms).

    python -m eval.bench_abuse --index index --out abuse.json
    python -m eval.bench_abuse --index index --phases load --load-clients 64 --load-seconds 60

Phases (each with a /healthz probe on a fresh connection every 50 ms):

* `slowloris`: `--connections` (1,000) connections that stall: a third stop mid-header, a third send a header byte
  a second, a third stop mid-body. Reports how many the server dropped (and after how long) and how many it
  still held at the end of `--hold-seconds` (default 45 s: past the 10 s header and 30 s body deadlines).
* `history`: `--history-clients` clients send /v1/ask for `--history-seconds`, alternately a follow-up after a
  20,000-character history turn and a 2,000-character question of jumbled characters (the worst inputs found
  for the tagger); their latencies and status codes.
* `load`: `--load-clients` clients for `--load-seconds` against /v1/ask with the dev-set questions
  (eval.bench_load in its own process): errors, p50/p95/p99, req/s, and the server's RSS (process tree) peak.

The server is started on loopback with the given index (`--url` uses a running one instead; RSS is then not
measured). Timing figures depend on the machine: run it on an idle one.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import random
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .bench_load import latency_summary, run_load
from .bench_proc import RssSampler, run_module, start_server, stop_server
from .bench_steps import load_questions

log = logging.getLogger(__name__)

PHASES = ("slowloris", "history", "load")
PROBE_INTERVAL = 0.05
KINDS = ("mid-header", "trickled-header", "mid-body")
FOLLOW_UP = "那下半年呢？"
# Characters that make jieba's tagger slowest (runs of characters outside its dictionary) and exercise the
# follow-up, time and place patterns.
_JUMBLE = "川沙新镇呢吗？ 1-7月年法院局委员会市区县上半年"


def jumbled(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(_JUMBLE) for _ in range(n)).strip() or "川"


class HealthProbe:
    """GET /healthz on a fresh connection every PROBE_INTERVAL seconds in a thread: latencies and failures."""

    def __init__(self, url: str):
        self.url = url
        self.latencies_ms: list[float] = []
        self.failures: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        while not self._stop.is_set():
            t = time.perf_counter()
            try:
                status = _get_healthz(host, int(port))
                if status == 200:
                    self.latencies_ms.append((time.perf_counter() - t) * 1000)
                else:
                    self.failures[f"HTTP {status}"] += 1
            except OSError as exc:  # a failed probe is a figure, not an error of the benchmark
                self.failures[type(exc).__name__] += 1
            self._stop.wait(PROBE_INTERVAL)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        return {**latency_summary(self.latencies_ms), "failures": dict(self.failures),
                "under_100ms": round(sum(ms < 100 for ms in self.latencies_ms) / max(1, len(self.latencies_ms)), 4)}


def _get_healthz(host: str, port: int) -> int:
    """One GET /healthz on a new connection, read to the end: its status. A raw socket, not httpx: a new httpx
    client per probe costs the client ~50 ms (its SSL context), which would be counted as the server's."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    return int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else 0


# -- slow-loris ------------------------------------------------------------------------------------------------


async def _stalled(host: str, port: int, kind: str, hold: float) -> dict[str, Any]:
    """One stalled connection: how long until the server closed it (None: still open after `hold`), and the
    status of any response it sent first."""
    start = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return {"kind": kind, "connect_error": type(exc).__name__}
    head = b"POST /v1/ask HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
    if kind == "mid-body":
        writer.write(head + b'Content-Length: 1000\r\n\r\n{"question": "')
    else:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
    trickle = b"X-Slow: " + b"a" * 10_000
    dropped_after: float | None = None
    status: str | None = None
    try:
        while (elapsed := time.monotonic() - start) < hold:
            if kind == "trickled-header":
                writer.write(trickle[int(elapsed) % len(trickle):][:1])
            try:
                data = await asyncio.wait_for(reader.read(4096), timeout=1.0)
            except asyncio.TimeoutError:
                continue
            if data.startswith(b"HTTP/1.1 "):
                status = data[9:12].decode()
            if not data:
                dropped_after = time.monotonic() - start
                break
    except (ConnectionError, OSError):
        dropped_after = time.monotonic() - start
    finally:
        writer.close()
    return {"kind": kind, "dropped_after": dropped_after, "status": status}


async def _slowloris(url: str, connections: int, hold: float) -> list[dict[str, Any]]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    tasks = []
    for i in range(connections):
        tasks.append(asyncio.create_task(_stalled(host, int(port), KINDS[i % len(KINDS)], hold)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)  # open them over about half a second, not in one burst of SYNs
    return list(await asyncio.gather(*tasks))


def slowloris_phase(url: str, connections: int, hold: float) -> dict[str, Any]:
    with HealthProbe(url) as probe:
        results = asyncio.run(_slowloris(url, connections, hold))
    by_kind: dict[str, Any] = {}
    for kind in KINDS:
        rows = [r for r in results if r["kind"] == kind]
        dropped = [r["dropped_after"] for r in rows if r.get("dropped_after") is not None]
        by_kind[kind] = {
            "opened": sum("connect_error" not in r for r in rows),
            "connect_errors": sum("connect_error" in r for r in rows),
            "dropped_by_server": len(dropped),
            "held_at_end": sum("connect_error" not in r and r.get("dropped_after") is None for r in rows),
            "drop_after_s": {"min": round(min(dropped), 2), "max": round(max(dropped), 2)} if dropped else None,
            "responses": dict(Counter(r["status"] for r in rows if r.get("status"))),
        }
    return {"connections": connections, "hold_seconds": hold, "by_kind": by_kind, "healthz": probe.summary()}


# -- long inputs -----------------------------------------------------------------------------------------------


def history_phase(url: str, clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    bodies = [
        ("history_20000", {"question": FOLLOW_UP, "history": [{"role": "user", "content": jumbled(20_000, 1)}]}),
        ("question_2000", {"question": jumbled(2_000, 2)}),
    ]
    latencies: dict[str, list[float]] = {name: [] for name, _ in bodies}
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as c:
            i = k
            while time.monotonic() < deadline:
                name, body = bodies[i % len(bodies)]
                i += 1
                t = time.perf_counter()
                try:
                    status = str(c.post("/v1/ask", json=body).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with lock:
                    statuses[status] += 1
                    if status == "200":
                        latencies[name].append((time.perf_counter() - t) * 1000)

    with HealthProbe(url) as probe:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return {"clients": clients, "seconds": seconds, "statuses": dict(statuses),
            "ask": {name: latency_summary(v) for name, v in latencies.items()}, "healthz": probe.summary()}


# -- load ---------------------------------------------------------------------------------------------------------


def load_phase(url: str, clients: int, seconds: float, work: Path) -> dict[str, Any]:
    """eval.bench_load in its own process (its client threads would otherwise take this process's GIL from the
    probe), for `seconds` when it supports a duration, else for about that many requests at ~100 req/s."""
    qfile = work / "load_questions.json"
    qfile.write_text(json.dumps(load_questions(), ensure_ascii=False), encoding="utf-8")
    out = work / "load_result.json"
    if "seconds" in inspect.signature(run_load).parameters:
        span = ["--seconds", str(seconds)]
    else:
        span = ["--requests", str(int(seconds * 100))]
    with HealthProbe(url) as probe:
        run_module("eval.bench_load", ["--url", url, "--endpoint", "ask", "--concurrency", str(clients), *span,
                                       "--questions", str(qfile), "--out", str(out)], seconds * 20 + 600, "load")
    return {**json.loads(out.read_text(encoding="utf-8")), "healthz": probe.summary()}


# -- the run ------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, url: str, server_pid: int | None, work: Path) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with HealthProbe(url) as idle:
        time.sleep(3)
    result["idle_healthz"] = idle.summary()
    for phase in args.phases:
        sampler = RssSampler(server_pid) if server_pid else None
        if sampler:
            result.setdefault("rss_before_mb", {})[phase] = round(sampler.sample() / 2**20, 1)
            sampler.__enter__()
        log.warning("phase %s", phase)
        try:
            if phase == "slowloris":
                result[phase] = slowloris_phase(url, args.connections, args.hold_seconds)
            elif phase == "history":
                result[phase] = history_phase(url, args.history_clients, args.history_seconds)
            else:
                result[phase] = load_phase(url, args.load_clients, args.load_seconds, work)
        finally:
            if sampler:
                sampler.__exit__()
                result[phase]["server_rss_peak_mb"] = round(sampler.peak / 2**20, 1)
                result[phase]["server_rss_end_mb"] = round(sampler.sample() / 2**20, 1)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, help="index to serve (not with --url)")
    p.add_argument("--url", help="a running server instead of starting one")
    p.add_argument("--out", type=Path, default=Path("abuse.json"))
    p.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--hold-seconds", type=float, default=45.0)
    p.add_argument("--history-clients", type=int, default=4)
    p.add_argument("--history-seconds", type=float, default=30.0)
    p.add_argument("--load-clients", type=int, default=64)
    p.add_argument("--load-seconds", type=float, default=60.0)
    p.add_argument("--workers", type=int, help="server worker processes (REPORTQA_WORKERS, where supported)")
    args = p.parse_args(argv)
    args.phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    if unknown := set(args.phases) - set(PHASES):
        p.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if not args.url and not args.index:
        p.error("give --index (a server is started) or --url")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.workers:
        os.environ["REPORTQA_WORKERS"] = str(args.workers)
    with tempfile.TemporaryDirectory(prefix="reportqa-abuse-") as tmp:
        work = Path(tmp)
        proc = None
        url = args.url
        if not url:
            proc, url = start_server([sys.executable, "-m", "reportqa"], args.index, work / "server.log")
        try:
            result = run(args, url, proc.pid if proc else None, work)
        finally:
            if proc:
                stop_server(proc)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
