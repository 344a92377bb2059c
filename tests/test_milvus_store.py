"""The Milvus store (REPORTQA_STORE=milvus) against milvus-lite: in-process through a file URI here, and through
`milvus-lite server` on loopback (the network path a cluster is reached by) in the slow tests, with two real
`reportqa serve` replicas. The contract itself is in milvus_contract.py; corpora stay tiny (lite is slow)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from conftest import free_port, start_server, stop_server  # noqa: E402
from ingest.milvus_store import MAX_TOKENS, encode_token, encode_tokens  # noqa: E402
from milvus_contract import NEWS, check_api, check_arms, milvus_settings, publish_tiny  # noqa: E402
from qa_service.errors import IndexUnavailable  # noqa: E402
from qa_service.service import QAService  # noqa: E402


def test_tokens_survive_the_standard_analyzer_whole():
    # \w+ would cut these; their encodings are one alphanumeric word each, distinct per token
    tokens = ["12.42", "1-7月", "13.2%", "川沙新镇", "川", "沙"]
    codes = [encode_token(t) for t in tokens]
    assert all(c.isalnum() and c.isascii() for c in codes) and len(set(codes)) == len(tokens)
    assert encode_tokens(tokens).split(" ") == codes
    assert len(encode_tokens(["x"] * (MAX_TOKENS + 5)).split(" ")) == MAX_TOKENS


def test_nothing_published_is_a_clear_503(tmp_path):
    service = QAService(milvus_settings(str(tmp_path / "m.db"), tmp_path / "cache"))
    with pytest.raises(IndexUnavailable):
        service.loaded()


def test_arms_on_a_milvus_lite_file(tmp_path):
    uri = str(tmp_path / "milvus.db")
    check_arms(uri, tmp_path, publish_tiny(uri, tmp_path))


@pytest.mark.slow  # ~30 s: three apps and two document-job builds, each published to milvus-lite
def test_api_and_document_jobs_on_a_milvus_lite_file(tmp_path):
    uri = str(tmp_path / "milvus.db")
    check_api(uri, tmp_path, publish_tiny(uri, tmp_path))


# -- through `milvus-lite server` on loopback ------------------------------------------------------------------
@pytest.fixture()
def lite_server(tmp_path) -> Iterator[str]:
    port = free_port()
    exe = Path(sys.executable).with_name("milvus-lite")
    proc = subprocess.Popen([str(exe), "server", "--data-dir", str(tmp_path / "milvus"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(port, proc)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_port(port: int, proc: subprocess.Popen) -> None:
    import socket

    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError("milvus-lite server exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("milvus-lite server did not start")


@pytest.mark.slow
def test_contract_through_milvus_lite_server(lite_server, tmp_path):
    built = publish_tiny(lite_server, tmp_path)
    check_arms(lite_server, tmp_path, built)
    check_api(lite_server, tmp_path, built)


def _milvus_env(uri: str) -> dict:
    return {"REPORTQA_STORE": "milvus", "REPORTQA_MILVUS_URI": uri, "REPORTQA_MILVUS_COLLECTION": "contract",
            "REPORTQA_MILVUS_POLL_SECONDS": "0.2", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}


def _wait(client: httpx.Client, job_id: str) -> dict:
    for _ in range(1800):
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def _sees_patents(client: httpx.Client) -> bool:
    for _ in range(100):  # a replica looks for a new build every REPORTQA_MILVUS_POLL_SECONDS
        if "patents" in {d["id"] for d in client.get("/v1/documents").json()}:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_two_serve_replicas_on_one_milvus_lite_server(lite_server, tmp_path):
    publish_tiny(lite_server, tmp_path)
    env = _milvus_env(lite_server)
    a = start_server(tmp_path / "cache_a", env=env)  # both caches start empty
    b = start_server(tmp_path / "cache_b", env=env)
    try:
        with a.client() as ca, b.client() as cb:
            assert ca.get("/v1/documents").json() == cb.get("/v1/documents").json()
            r = ca.post("/v1/documents", files=[("files", ("patents.txt", NEWS.encode(), "text/plain"))])
            assert r.status_code == 202 and _wait(ca, r.json()["job_id"])["status"] == "done"
            assert _sees_patents(cb)
            ask = cb.post("/v1/ask", json={"question": "2023年嘉定区新增专利授权多少件？"}).json()
            assert "8650" in ask["answer"]
            r = cb.delete("/v1/documents/patents")
            assert r.status_code == 202 and _wait(cb, r.json()["job_id"])["status"] == "done"
            for _ in range(100):
                if "patents" not in {d["id"] for d in ca.get("/v1/documents").json()}:
                    break
                time.sleep(0.1)
            assert "patents" not in {d["id"] for d in ca.get("/v1/documents").json()}
    finally:
        stop_server(a)
        stop_server(b)


@pytest.mark.slow
def test_cli_ingest_publishes_and_an_empty_cache_lists_it(tmp_path):
    from conftest import run_cli_in_process

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "patents.txt").write_text(NEWS, encoding="utf-8")
    env = {"REPORTQA_STORE": "milvus", "REPORTQA_MILVUS_URI": str(tmp_path / "m.db"),
           "REPORTQA_MILVUS_COLLECTION": "cli"}
    built = run_cli_in_process("ingest", str(tmp_path / "src"), "--index", str(tmp_path / "cache"),
                               "--embed-model", "none", "--json", env=env)
    assert built.returncode == 0, built.stderr
    listed = run_cli_in_process("documents", "--index", str(tmp_path / "empty"), env=env)
    assert listed.returncode == 0, listed.stderr
    assert "patents" in listed.stdout
    hits = run_cli_in_process("search", "--index", str(tmp_path / "empty2"), "--json", "嘉定区新增专利授权", env=env)
    assert hits.returncode == 0 and "8650" in hits.stdout, hits.stderr


@pytest.mark.slow
def test_ingest_with_ray_tokenises_on_a_local_ray(tmp_path):
    """`reportqa ingest --ray local`: the rows tokenised by Ray workers rank as the serial upload's do."""
    pytest.importorskip("ray")
    from ingest.milvus_reader import load_milvus_index

    built = publish_tiny(str(tmp_path / "serial.db"), tmp_path)
    ray_uri = str(tmp_path / "ray.db")
    config = milvus_settings(ray_uri, tmp_path / "unused").milvus_config()
    from ingest.manifest import read_manifest
    from ingest.milvus_publish import publish_to_milvus

    publish_to_milvus(config, built, read_manifest(built), ray_address="local")
    serial = load_milvus_index(milvus_settings(str(tmp_path / "serial.db"), tmp_path / "c1").milvus_config(), tmp_path / "c1")
    on_ray = load_milvus_index(config, tmp_path / "c2")
    for q in ["川沙新镇财政总收入12.4亿元", "全院共受理各类案件"]:
        word, char = serial.tokenizer.tokenize(q), serial.tokenizer.char_tokens(q)
        assert on_ray.rank_word(word, 10) == serial.rank_word(word, 10) != []
        assert on_ray.rank_char(char, 10) == serial.rank_char(char, 10) != []


def test_an_unreachable_milvus_is_a_503_naming_it(tmp_path):
    from asgi import request
    from qa_service.app import create_app

    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app(milvus_settings(uri, tmp_path / "cache"))
    r = request(app, "GET", "/v1/documents")
    assert r.status_code == 503 and uri in r.json()["error"]["message"], r.text
