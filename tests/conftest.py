"""Shared fixtures.

Most API tests run in-process: `api` serves the app from `create_app` through FastAPI's TestClient
(no socket, no subprocess), over one index of the shipped reports built once per session. A few tests
marked `slow` start a real `reportqa serve` (`server`, `start_server`) for what only a process and a
socket can show: its lifecycle, the official `openai` client over HTTP, streaming over a real socket.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "ingest" / "data" / "reports"
CLI = [sys.executable, "-m", "reportqa"]


def run_cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real `reportqa` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env, timeout=timeout)


def run_cli_in_process(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`run_cli` without a new interpreter: the Typer app `CLI` runs, invoked in this process through
    Typer's CliRunner (`env` is set for the call only). An uncaught exception is exit code 1 with its
    traceback on stderr, as in a subprocess."""
    from typer.testing import CliRunner

    from reportqa.cli import app

    result = CliRunner().invoke(app, list(args), env=env)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess([*CLI, *args], result.exit_code, result.stdout, stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory) -> Path:
    """The shipped reports ingested with the default settings (offline embedding model included), built
    once per session by `reportqa ingest` run in-process."""
    index = tmp_path_factory.mktemp("shipped") / "index"
    result = run_cli_in_process("ingest", "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    return index


# -- in-process API ---------------------------------------------------------------------------------------------


class InProcessAPI:
    """The app served in-process; `client()` is an httpx.Client (TestClient) bound to it."""

    url = "http://testserver"

    def __init__(self, app: FastAPI):
        self.app = app

    def client(self, **kwargs) -> TestClient:
        return TestClient(self.app, base_url=self.url, **kwargs)


def in_process_api(index: Path, **settings) -> InProcessAPI:
    """The app from `create_app` over `index`; `settings` are further Settings fields (e.g. the LLM's)."""
    from qa_service.app import create_app
    from qa_service.config import Settings

    return InProcessAPI(create_app(Settings(index=index, **settings)))


@pytest.fixture(scope="session")
def api(shipped_index) -> InProcessAPI:
    """The API over the shipped index, in-process, shared by the session (no LLM configured)."""
    return in_process_api(shipped_index, llm_base_url=None, llm_model=None)


# -- a real `reportqa serve` (slow tests only) ----------------------------------------------------------------


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


def start_server(index: Path, env: dict | None = None, workers: int = 1) -> Server:
    """`reportqa serve` on a free loopback port; one worker process unless `workers` says otherwise."""
    port = free_port()
    # stderr goes to a file, not a pipe: the access log writes a line per request, and a pipe nobody
    # reads fills up and blocks the server.
    stderr_path = Path(tempfile.mkstemp(prefix="reportqa-serve-", suffix=".log")[1])
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [*CLI, "serve", "--index", str(index), "--port", str(port), "--workers", str(workers)],
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


def stop_server(server: Server) -> int:
    """SIGTERM, then SIGKILL if it does not stop within 10 s; returns the exit code."""
    server.proc.terminate()
    try:
        return server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        return server.proc.wait()


@pytest.fixture(scope="session")
def server(shipped_index) -> Iterator[Server]:
    """A real `reportqa serve` subprocess on loopback; only for tests marked `slow`."""
    s = start_server(shipped_index)
    yield s
    stop_server(s)
