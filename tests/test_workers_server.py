"""A real `reportqa serve --workers 2` on loopback: both workers answer, a document uploaded through one is
served by both, its job is visible from both, and /metrics sums both workers.

Which worker answered a request is read from the JSON access log: each line holds the request id (sent by the
test as X-Request-ID) and the worker's pid. Requests go in concurrent batches on fresh connections, so the
kernel hands them to both workers; each check gives up after a bounded number of batches, never after a time.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import Server, start_server, stop_server
from doc_jobs import build_gazette_index, txt_file

QUESTION = "川沙新镇上半年财政总收入是多少？"
NEW_DOC = "upload001"
NEW_TEXT = "第1号测试报告\n一、项目情况\n第1号测试项目完成投资1234万元，进展顺利。\n"
BATCH = 16
MAX_BATCHES = 50


class _Workers:
    """Sends requests with known ids and tells, from the access log, which worker answered each."""

    def __init__(self, server: Server):
        self.server = server
        self.sent: dict[str, tuple[str, str]] = {}  # request id -> (method, path)

    def request(self, method: str, path: str, **kwargs) -> tuple[str, httpx.Response]:
        rid = uuid.uuid4().hex
        # a fresh connection per request (no keep-alive), so each one is accepted by whichever worker is free
        with httpx.Client(base_url=self.server.url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as c:
            r = c.request(method, path, headers={"X-Request-ID": rid}, **kwargs)
        self.sent[rid] = (method, path)
        return rid, r

    def batch(self, method: str, path: str, **kwargs) -> list[tuple[str, httpx.Response]]:
        with ThreadPoolExecutor(BATCH) as pool:
            return list(pool.map(lambda _: self.request(method, path, **kwargs), range(BATCH)))

    def pids(self) -> dict[str, int]:
        """request id -> pid of the worker that answered it (lines of this test's requests only)."""
        lines = [json.loads(line) for line in self.server.stderr().splitlines() if line.startswith("{")]
        return {rec["request_id"]: rec["pid"] for rec in lines if rec.get("request_id") in self.sent}

    def until_both(self, method: str, path: str, check, **kwargs) -> set[int]:
        """Batches of the request until both workers have answered one that passes `check`; their pids."""
        passed: set[str] = set()
        for _ in range(MAX_BATCHES):
            for rid, r in self.batch(method, path, **kwargs):
                assert r.status_code == 200, r.text
                if check(r):
                    passed.add(rid)
            pids = self.pids()
            answered = {pids[rid] for rid in passed if rid in pids}
            if len(answered) >= 2:
                return answered
        raise AssertionError(f"{method} {path}: not answered (and passing) by two workers in {MAX_BATCHES} batches")


def _wait_done(workers: _Workers, job_id: str) -> dict:
    for _ in range(3000):
        _, r = workers.request("GET", f"/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("done", "failed"):
            return r.json()
    raise AssertionError(f"job {job_id} did not finish")


def _counter(metrics_text: str, route: str, method: str) -> float:
    total = 0.0
    for line in metrics_text.splitlines():
        if line.startswith("reportqa_http_requests_total{") and f'route="{route}"' in line and f'method="{method}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.slow
def test_two_workers_share_builds_jobs_and_metrics(tmp_path):
    index = build_gazette_index(tmp_path / "index")
    server = start_server(index, workers=2)
    try:
        workers = _Workers(server)
        ask_pids = workers.until_both("POST", "/v1/ask", lambda r: "12.4亿元" in r.json()["answer"], json={"question": QUESTION})
        assert len(ask_pids) == 2

        _, r = workers.request("POST", "/v1/documents", files=[txt_file(f"{NEW_DOC}.txt", NEW_TEXT)])
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        job = _wait_done(workers, job_id)
        assert job["status"] == "done" and job["result"]["documents"] == [NEW_DOC]

        # the job is on disk: every worker shows it, done, with the same result
        workers.until_both("GET", f"/v1/jobs/{job_id}", lambda r: r.json() == job)
        # every worker picked up the new build: the new document is listed and found by both
        workers.until_both("GET", "/v1/documents", lambda r: NEW_DOC in {d["id"] for d in r.json()})
        workers.until_both("GET", "/v1/search", lambda r: r.json()["results"][0]["doc_id"] == NEW_DOC,
                           params={"q": "第1号测试项目完成投资"})

        # deleting through whichever worker: gone from both
        _, r = workers.request("DELETE", f"/v1/documents/{NEW_DOC}")
        assert r.status_code == 202, r.text
        assert _wait_done(workers, r.json()["job_id"])["result"]["documents"] == [NEW_DOC]
        workers.until_both("GET", "/v1/documents", lambda r: {d["id"] for d in r.json()} == {"a", "b"})

        # /metrics sums both workers: every ask this test sent is counted, whichever worker took the scrape
        asks = sum(1 for method, path in workers.sent.values() if (method, path) == ("POST", "/v1/ask"))
        for _ in range(4):
            _, r = workers.request("GET", "/metrics")
            assert _counter(r.text, "/v1/ask", "POST") == asks
    finally:
        stop_server(server)
