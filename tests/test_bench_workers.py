"""`reportqa bench --workers/--uploads`: the pure parts (wrk's script and result, speed-ups, failures), and one
small real run (slow). Timings are never asserted; structure, error counts and document counts are."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from conftest import run_cli
from doc_jobs import build_gazette_index
from eval.bench_config import BenchError
from eval.bench_http import _RESULT_MARK, _wrk_result, pick_client, wrk_script
from eval.bench_workers import _speedups, failures, render_workers_markdown

QUESTIONS = ['川沙新镇"财政"收入是多少？', "]==] 不会 ]] 截断", "a\\b\nc"]


def test_wrk_script_bodies_are_the_questions_as_json():
    script = wrk_script(QUESTIONS)
    bodies = re.findall(r"\[==\[(.*?)\]==\]", script, flags=re.S)
    assert [json.loads(b) for b in bodies] == [{"question": q, "mode": "extractive"} for q in QUESTIONS]
    assert 'wrk.format(nil, "/v1/ask"' in script and _RESULT_MARK in script


def test_wrk_result_counts_every_kind_of_error():
    line = _RESULT_MARK + json.dumps({"completed": 1000, "duration_us": 10_000_000, "status_errors": 3,
                                      "socket_errors": 2, "timeouts": 1, "p50_us": 5000, "p95_us": 9000,
                                      "p99_us": 12000, "mean_us": 5500.5, "max_us": 30000})
    r = _wrk_result("Running 10s test\n" + line + "\n", concurrency=8)
    assert r["errors"] == 6 and r["completed"] == 1000 and r["concurrency"] == 8
    assert r["rps"] == 99.7  # the 997 answered 200 over 10 s
    assert (r["p50_ms"], r["p95_ms"], r["p99_ms"]) == (5.0, 9.0, 12.0)
    with pytest.raises(BenchError):
        _wrk_result("unable to connect", concurrency=8)


def test_pick_client():
    assert pick_client("httpx") == "httpx"
    assert pick_client("auto") == ("wrk" if shutil.which("wrk") else "httpx")
    with pytest.raises(BenchError):
        pick_client("ab")


def _row(workers, c, rps, errors=0):
    return {"workers": workers, "concurrency": c, "rps": rps, "errors": errors, "completed": 100, "p50_ms": 1.0,
            "p95_ms": 2.0, "p99_ms": 3.0}


def test_speedups_and_failures():
    rows = [_row(1, 8, 100.0), _row(1, 32, 80.0), _row(2, 8, 150.0), _row(2, 32, 160.0, errors=2)]
    assert _speedups(rows) == {"2@8": 1.5, "2@32": 2.0}
    result = {"workers": {"rows": rows, "speedup": _speedups(rows), "worker_memory": {}}}
    assert failures(result) == ["2 errors at 2 worker(s), c=32"]
    md = render_workers_markdown({**result, "command": "reportqa bench --workers 1,2", "client": "wrk"})
    assert "| 2 | 32 | 160.0 |" in md and "2 workers at c=32: 2.0x" in md


@pytest.mark.slow
def test_workers_and_uploads_bench_runs_end_to_end(tmp_path):
    index = build_gazette_index(tmp_path / "index")
    out = tmp_path / "out"
    result = run_cli("bench", "--index", str(index), "--workers", "1,2", "--concurrency", "2", "--seconds", "2",
                     "--client", "httpx", "--uploads", "3", "--out", str(out), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((out / "bench_workers.json").read_text(encoding="utf-8"))
    assert [(r["workers"], r["concurrency"]) for r in data["workers"]["rows"]] == [(1, 2), (2, 2)]
    assert all(r["errors"] == 0 and r["completed"] > 0 for r in data["workers"]["rows"])
    assert len(data["workers"]["worker_memory"]["2"]) == 2
    up = data["uploads"]
    assert up["load"]["errors"] == 0 and up["load"]["completed"] > 0
    assert (up["documents_before"], up["documents_after_uploads"], up["documents_after_deletes"]) == (2, 5, 2)
    assert up["jobs_not_done"] == [] and up["documents_lost"] == [] and up["documents_left_over"] == []
    assert not (index / "jobs").exists()  # the run worked on a copy
    assert "Uploads under load" in result.stdout
