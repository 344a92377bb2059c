"""Shared fixtures: an index built from the shipped reports, and a real `reportqa serve` on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "ingest" / "data" / "reports"
CLI = [sys.executable, "-m", "reportqa"]


def run_cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real `reportqa` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory) -> Path:
    """The shipped reports ingested with the default settings (offline embedding model included)."""
    index = tmp_path_factory.mktemp("shipped") / "index"
    result = run_cli("ingest", "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    return index


class Server:
    def __init__(self, proc: subprocess.Popen, url: str, stderr_path: Path):
        self.proc = proc
        self.url = url
        self.stderr_path = stderr_path

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def stderr(self) -> str:
        """What the server wrote to stderr so far (its messages and JSON access log)."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def start_server(index: Path, env: dict | None = None) -> Server:
    port = free_port()
    # stderr goes to a file, not a pipe: the access log writes a line per request, and a pipe nobody
    # reads fills up and blocks the server.
    stderr_path = Path(tempfile.mkstemp(prefix="reportqa-serve-", suffix=".log")[1])
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [*CLI, "serve", "--index", str(index), "--port", str(port)],
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {stderr_path.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return Server(proc, url, stderr_path)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="session")
def server(shipped_index) -> Iterator[Server]:
    s = start_server(shipped_index)
    yield s
    stop_server(s)
