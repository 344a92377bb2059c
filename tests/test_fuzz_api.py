"""Schemathesis against a real `reportqa serve` on a throwaway index: every check, 200 examples per operation.

Run alone with `pytest -m slow tests/test_fuzz_api.py`. The hooks in fuzz_hooks.py make schema-valid chat
requests end with a user question (a rule JSON Schema cannot state). A fixed seed keeps CI reproducible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import start_server, stop_server

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
ADMIN_KEY = "fuzz-admin-key"
EXAMPLES = 200
# Per-operation settings (one stateful check off for the asynchronous DELETE; see the file for why).
CONFIG = TESTS / "fuzz_schemathesis.toml"


def schemathesis_run(url: str, workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
        "--max-examples", str(EXAMPLES), "--workers", "1", "--seed", "1", "--no-color", *extra,
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "fuzz_hooks", "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    # schemathesis keeps a cache (.schemathesis/) in its working directory: a throwaway one, not the tree
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=1500, cwd=workdir)


@pytest.mark.parametrize("keys", [False, True], ids=["anonymous", "api-keys"])
def test_schemathesis_all_checks(shipped_index, keys, tmp_path):
    # The stateful phase uploads and deletes documents: it fuzzes a throwaway copy, never the session's
    # shared index that other tests read.
    index = tmp_path / "index"
    shutil.copytree(shipped_index, index)
    env = {"REPORTQA_API_KEYS": f"{ADMIN_KEY}:admin"} if keys else {"REPORTQA_API_KEYS": ""}
    server = start_server(index, env=env)
    workdir = tmp_path / "work"
    workdir.mkdir()
    try:
        extra = ("--header", f"Authorization: Bearer {ADMIN_KEY}") if keys else ()
        result = schemathesis_run(server.url, workdir, *extra)
    finally:
        stop_server(server)
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report  # schemathesis exits non-zero on any failed check or error
    summary = result.stdout.split("SUMMARY")[-1]
    assert "Test cases:" in summary and "generated" in summary, report
    assert "failure" not in summary.split("Test cases:")[-1], report
