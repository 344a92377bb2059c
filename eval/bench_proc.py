"""Child processes of `reportqa bench`: running them, the server on loopback, and sampling their memory."""

from __future__ import annotations

import json
import logging
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .bench_config import RSS_SAMPLE_SECONDS, BenchError

log = logging.getLogger(__name__)

# Children run in the project root, so `python -m eval.bench_worker` finds the packages from a clone too.
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def machine_info() -> dict[str, Any]:
    import psutil

    vm = psutil.virtual_memory()
    return {
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_bytes": int(vm.total),
        "memory_available_bytes": int(vm.available),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")  # the benchmark never downloads a model
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def run_child(cmd: Sequence[str], timeout: float, what: str) -> subprocess.CompletedProcess:
    """Run `cmd` in the project root; BenchError with the stderr tail when it fails."""
    cmd = list(cmd)
    log.info("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=timeout, cwd=PROJECT_ROOT)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what}: no result after {timeout:.0f} s") from exc
    if proc.returncode not in (0, 3):  # 3 = `reportqa ingest` skipped some file: still a build
        tail = (proc.stderr or "").strip().splitlines()[-15:]
        raise BenchError(f"{what}: exit {proc.returncode}\n" + "\n".join(tail))
    return proc


def run_module(module: str, args: Sequence[str], timeout: float, what: str) -> subprocess.CompletedProcess:
    """`python -m module args…` with this interpreter (see run_child)."""
    return run_child([sys.executable, "-m", module, *args], timeout, what)


def run_worker(args: Sequence[str], out: Path, timeout: float, what: str) -> dict[str, Any]:
    """A step of eval.bench_worker in its own process; its JSON result."""
    run_module("eval.bench_worker", [*args, "--out", str(out)], timeout, what)
    return json.loads(out.read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RssSampler:
    """Samples a process tree's RSS (the process and all its children) in a thread; `.peak` in bytes."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> int:
        import psutil

        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue
        self.peak = max(self.peak, total)
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(RSS_SAMPLE_SECONDS)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def start_server(cli: Sequence[str], index_dir: Path, log_path: Path, timeout: float = 180,
                 workers: int = 1) -> tuple[subprocess.Popen, str]:
    """`CLI serve --workers N` (`cli`: the command that runs reportqa) on a free loopback port; returns once /readyz
    answers 200 (from the first worker ready: see eval.bench_workers.wait_for_workers for all of them)."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = open(log_path, "w", encoding="utf-8")  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen(
        [*cli, "serve", "--index", str(index_dir), "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=log_file, env=child_env(), cwd=PROJECT_ROOT,
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
