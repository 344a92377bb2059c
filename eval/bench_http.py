"""Load clients of the worker benchmark, run as child processes against /v1/ask: `wrk` or eval.bench_load.

wrk (C, one thread, a Lua script that posts the dev-set questions in turn) is preferred when it is installed
(`apt-get install wrk`): on a 2-core machine the Python client (httpx threads) itself eats most of a core, which
the server then lacks, so it understates what 2 workers serve. Both report the same fields: completed requests,
errors (non-200 answers, socket errors, timeouts), req/s over the run, and p50/p95/p99/mean/max latency in ms.

A run lasts `seconds`, or with `seconds=None` until `stop()` (SIGINT: wrk and eval.bench_load both still report).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .bench_config import BenchError
from .bench_proc import PROJECT_ROOT, child_env

Client = Literal["wrk", "httpx"]
_RESULT_MARK = "BENCH_JSON "
_OPEN_ENDED_SECONDS = 24 * 3600  # "until stopped": wrk needs a duration
_TIMEOUT_SECONDS = 60  # a slower answer counts as an error (wrk's default, 2 s, would count queueing at c=64)

# Every question as a ready JSON body; `done` prints the summary as one JSON line. wrk's own summary counts
# non-2xx/3xx answers in errors.status, and socket errors and timeouts in the others.
_WRK_SCRIPT = """
local bodies = {%(bodies)s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  return wrk.format(nil, "/v1/ask", nil, bodies[(i %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%(mark)s{"completed": %%d, "duration_us": %%d, "status_errors": %%d, ' ..
    '"socket_errors": %%d, "timeouts": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "mean_us": %%f, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
"""


def pick_client(wanted: str) -> Client:
    """`auto`: wrk when installed, else the Python client."""
    if wanted == "auto":
        return "wrk" if shutil.which("wrk") else "httpx"
    if wanted == "wrk" and not shutil.which("wrk"):
        raise BenchError("wrk is not installed (apt-get install wrk), or use --client httpx")
    if wanted not in ("wrk", "httpx"):
        raise BenchError(f"unknown load client {wanted!r} (wrk, httpx or auto)")
    return wanted  # type: ignore[return-value]


def wrk_script(questions: Sequence[str]) -> str:
    """The Lua script. Each body sits in a Lua long bracket string ([==[...]==]), where nothing is an escape; a `]`
    (only ever inside the question) is written as the JSON escape \\u005d, so no body can close its bracket."""
    bodies = ",\n".join("[==[" + json.dumps({"question": q, "mode": "extractive"}).replace("]", "\\u005d") + "]==]"
                        for q in questions)
    return _WRK_SCRIPT % {"bodies": bodies, "mark": _RESULT_MARK}


@dataclass
class LoadRun:
    client: Client
    concurrency: int
    proc: subprocess.Popen
    out: Path  # eval.bench_load's result file, or wrk's stdout

    def stop(self) -> None:
        """End an open-ended run now (its result is still reported by `result`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.proc.kill()
            raise BenchError(f"the {self.client} load client did not finish") from exc
        if self.client == "wrk":
            return _wrk_result(self.out.read_text(encoding="utf-8"), self.concurrency)
        if not self.out.is_file():
            raise BenchError(f"eval.bench_load wrote no result (exit {self.proc.returncode})")
        result = json.loads(self.out.read_text(encoding="utf-8"))
        return {**result, "client": "httpx", "completed": result.get("n", 0)}


def start_load(client: Client, url: str, questions: Sequence[str], concurrency: int, seconds: float | None,
               work: Path, name: str) -> LoadRun:
    """Start a load client against `url`/v1/ask with `concurrency` connections."""
    work.mkdir(parents=True, exist_ok=True)
    duration = seconds if seconds is not None else _OPEN_ENDED_SECONDS
    if client == "wrk":
        script = work / f"{name}.lua"
        script.write_text(wrk_script(questions), encoding="utf-8")
        out = work / f"{name}.wrk.txt"
        cmd = ["wrk", "-t", "1", "-c", str(concurrency), "-d", f"{duration:.0f}s", "--timeout", f"{_TIMEOUT_SECONDS}s",
               "-s", str(script), url]
    else:
        qfile = work / f"{name}.questions.json"
        qfile.write_text(json.dumps(list(questions), ensure_ascii=False), encoding="utf-8")
        out = work / f"{name}.json"
        cmd = [sys.executable, "-m", "eval.bench_load", "--url", url, "--endpoint", "ask", "--concurrency",
               str(concurrency), "--seconds", str(duration), "--timeout", str(_TIMEOUT_SECONDS),
               "--questions", str(qfile), "--out", str(out)]
        out.unlink(missing_ok=True)
    # wrk's result is on its stdout; eval.bench_load writes its own file, and its stdout is only kept for errors
    with open(out if client == "wrk" else work / f"{name}.stdout", "w", encoding="utf-8") as stdout:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT, env=child_env(), cwd=PROJECT_ROOT)
    return LoadRun(client, concurrency, proc, out)


def run_load_for(client: Client, url: str, questions: Sequence[str], concurrency: int, seconds: float,
                 work: Path, name: str) -> dict[str, Any]:
    run = start_load(client, url, questions, concurrency, seconds, work, name)
    return run.result(timeout=seconds + 120)


def _wrk_result(stdout: str, concurrency: int) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith(_RESULT_MARK)]
    if not lines:
        raise BenchError("wrk printed no result:\n" + stdout[-1500:])
    r = json.loads(lines[-1][len(_RESULT_MARK):])
    seconds = r["duration_us"] / 1e6
    errors = r["status_errors"] + r["socket_errors"] + r["timeouts"]
    ok = r["completed"] - r["status_errors"]
    return {
        "client": "wrk",
        "endpoint": "ask",
        "concurrency": concurrency,
        "completed": r["completed"],
        "errors": errors,
        "error_kinds": {k: r[k] for k in ("status_errors", "socket_errors", "timeouts")},
        "seconds": round(seconds, 3),
        "rps": round(ok / seconds, 2) if seconds > 0 else None,
        **{f"{k}_ms": round(r[f"{k}_us"] / 1000, 2) for k in ("p50", "p95", "p99", "mean", "max")},
    }
