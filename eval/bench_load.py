"""HTTP load generator for `reportqa bench`, run as its own process so client CPU is not the server's GIL.

    python -m eval.bench_load --url http://127.0.0.1:8123 --endpoint ask --concurrency 8 \
        --requests 200 --questions questions.json --out result.json

`concurrency` worker threads share one httpx.Client (a connection pool as large as the concurrency) and take the
next question from a shared counter until `requests` requests have been sent (or, with `--seconds`, until that
time is up; SIGINT or SIGTERM also ends a run early, and its result is still written), so exactly `concurrency`
requests are in flight at any time. Every non-200 answer and every exception counts as an error. The result (latencies
summary, errors, a few error samples, requests/s over the wall time of the whole run) is written as JSON to --out.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ENDPOINTS: tuple[str, ...] = ("ask", "search")
MAX_ERROR_SAMPLES = 5


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50/p95/p99/mean/max in ms (None when there are no samples), rounded to 0.01 ms."""
    if not latencies_ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    a = np.asarray(latencies_ms, dtype=float)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {
        "n": int(a.size),
        "p50_ms": round(float(p50), 2),
        "p95_ms": round(float(p95), 2),
        "p99_ms": round(float(p99), 2),
        "mean_ms": round(float(a.mean()), 2),
        "max_ms": round(float(a.max()), 2),
    }


@dataclass
class _Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, ms: float) -> None:
        with self.lock:
            self.latencies_ms.append(ms)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.error_samples) < MAX_ERROR_SAMPLES:
                self.error_samples.append(what[:300])


def _send(client: Any, endpoint: str, question: str):
    if endpoint == "ask":
        return client.post("/v1/ask", json={"question": question, "mode": "extractive"})
    return client.get("/v1/search", params={"q": question, "top_k": 10})


def run_load(url: str, endpoint: str, questions: Sequence[str], concurrency: int, requests: int | None,
             timeout: float = 60.0, seconds: float | None = None,
             stop: threading.Event | None = None) -> dict[str, Any]:
    """Send `requests` requests (None: no limit) to `endpoint` with `concurrency` in flight, for at most `seconds`
    or until `stop` is set; latencies, errors and requests/s."""
    import httpx

    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {ENDPOINTS}, got {endpoint!r}")
    if not questions:
        raise ValueError("no questions to send")
    if requests is None and seconds is None and stop is None:
        raise ValueError("give requests, seconds or a stop event: the run must end")
    tally = _Tally()
    counter = itertools.count()
    stop = stop or threading.Event()
    limit = requests if requests is not None else float("inf")
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=url, timeout=timeout, limits=limits) as client:

        def worker() -> None:
            while (i := next(counter)) < limit and not stop.is_set():
                q = questions[i % len(questions)]
                t = time.perf_counter()
                try:
                    r = _send(client, endpoint, q)
                except Exception as exc:  # noqa: BLE001 - every failure is an error to count, not to raise
                    tally.error(f"{type(exc).__name__}: {exc}")
                    continue
                ms = (time.perf_counter() - t) * 1000
                if r.status_code == 200:
                    tally.ok(ms)
                else:
                    tally.error(f"HTTP {r.status_code}: {r.text}")

        started = time.perf_counter()
        timer = threading.Timer(seconds, stop.set) if seconds else None
        if timer:
            timer.start()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for f in [pool.submit(worker) for _ in range(concurrency)]:
                f.result()
        wall = time.perf_counter() - started
        if timer:
            timer.cancel()
    return {
        "endpoint": endpoint,
        "concurrency": concurrency,
        "requests": len(tally.latencies_ms) + tally.errors,
        "errors": tally.errors,
        "error_samples": tally.error_samples,
        "seconds": round(wall, 3),
        "rps": round(len(tally.latencies_ms) / wall, 2) if wall > 0 else None,
        **latency_summary(tally.latencies_ms),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--endpoint", choices=ENDPOINTS, required=True)
    p.add_argument("--concurrency", type=int, required=True)
    p.add_argument("--requests", type=int, default=None, help="how many requests (default: no limit)")
    p.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--questions", type=Path, required=True, help="JSON list of question strings")
    p.add_argument("--out", type=Path, required=True, help="where to write the result JSON")
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    questions = json.loads(args.questions.read_text(encoding="utf-8"))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # an early stop still writes the result
        signal.signal(sig, lambda *_: stop.set())
    result = run_load(args.url, args.endpoint, questions, args.concurrency, args.requests, args.timeout,
                      seconds=args.seconds, stop=stop)
    args.out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
