"""Writers on the Milvus store (issue 14): serialised by the write lease, each starting from the build in service,
so nothing one replica stores is lost by another's write. In-process on a milvus-lite file, and (slow) with
`reportqa serve` replicas and killed writers against one `milvus-lite server` on loopback. Corpora stay tiny."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from conftest import start_server, stop_server  # noqa: E402
from ingest.corpus_edit import remove_source  # noqa: E402
from ingest.index_build import build_index  # noqa: E402
from ingest.manifest import read_manifest  # noqa: E402
from ingest.milvus_publish import PublishConflict, publish_to_milvus  # noqa: E402
from ingest.milvus_store import client_for, current_collection  # noqa: E402
from milvus_contract import NEWS, milvus_settings, publish_tiny  # noqa: E402
from qa_service.store import MilvusStore  # noqa: E402
from test_milvus_store import _milvus_env, _wait, lite_server  # noqa: E402,F401 - the server fixture
from tiny_index import build_tiny_index  # noqa: E402

PARKS = "青浦区绿化工作报告\n一、总体情况\n2023年青浦区新建公园37座，新增绿地面积120公顷。\n"
PARKS_QUESTION = "2023年青浦区新建公园多少座？"
PATENTS_QUESTION = "2023年嘉定区新增专利授权多少件？"


def test_a_publish_is_refused_when_the_build_in_service_changed_meanwhile(tmp_path):
    """A writer whose lease lapsed must not overwrite the build another writer published in the meantime."""
    uri = str(tmp_path / "m.db")
    publish_tiny(uri, tmp_path)
    settings = milvus_settings(uri, tmp_path / "writer")
    store = MilvusStore(settings)
    client, config = client_for(store.config), store.config
    with store.writing():
        base = store.published()
        assert {d.doc_id for d in base.corpus.documents} == {"a", "b"}
        remove_source(base.corpus, "b.txt")
        result = build_index(base.corpus, settings.build_config(embed_model="none"))
        other = build_tiny_index(tmp_path / "other")  # another writer, past the lease, publishes first
        publish_to_milvus(config, other, read_manifest(other))
        with pytest.raises(PublishConflict):
            store.publish(result)
    in_service = current_collection(client, config)
    assert in_service == config.build_collection(read_manifest(other).build_id)
    assert config.build_collection(result.manifest.build_id) not in client.list_collections()  # the upload is dropped


# -- through `milvus-lite server` on loopback --------------------------------------------------------------------
def _documents(client: httpx.Client) -> set[str]:
    return {d["id"] for d in client.get("/v1/documents").json()}


def _sees(client: httpx.Client, doc_ids: set[str]) -> bool:
    for _ in range(100):  # a replica looks for a new build every REPORTQA_MILVUS_POLL_SECONDS
        if doc_ids <= _documents(client):
            return True
        time.sleep(0.1)
    return False


def _upload(client: httpx.Client, name: str, text: str, results: dict) -> None:
    r = client.post("/v1/documents", files=[("files", (name, text.encode(), "text/plain"))])
    results[name] = _wait(client, r.json()["job_id"]) if r.status_code == 202 else r.text


@pytest.mark.slow
def test_two_replicas_uploading_at_once_both_keep_their_document(lite_server, tmp_path):
    publish_tiny(lite_server, tmp_path)
    env = _milvus_env(lite_server)
    a = start_server(tmp_path / "cache_a", env=env)
    b = start_server(tmp_path / "cache_b", env=env)
    try:
        with a.client() as ca, b.client() as cb:
            results: dict = {}
            uploads = [threading.Thread(target=_upload, args=(ca, "patents.txt", NEWS, results)),
                       threading.Thread(target=_upload, args=(cb, "parks.txt", PARKS, results))]
            for t in uploads:
                t.start()
            for t in uploads:
                t.join()
            assert all(job["status"] == "done" for job in results.values()), results
            for client in (ca, cb):
                assert _sees(client, {"a", "b", "patents", "parks"})
                assert "8650" in client.post("/v1/ask", json={"question": PATENTS_QUESTION}).json()["answer"]
                assert "37" in client.post("/v1/ask", json={"question": PARKS_QUESTION}).json()["answer"]
    finally:
        stop_server(a)
        stop_server(b)


_HOLD_AND_WAIT = textwrap.dedent("""
    import sys, time
    from ingest.milvus_lease import WriteLease
    from qa_service.config import Settings
    config = Settings().milvus_config()
    lease = WriteLease(config, "a writer about to be killed")
    lease.acquire(60)
    print("held", flush=True)
    time.sleep(600)
""")


@pytest.mark.slow
def test_a_writer_killed_holding_the_lease_is_superseded_after_it_expires(lite_server, tmp_path):
    publish_tiny(lite_server, tmp_path)
    env = {**_milvus_env(lite_server), "REPORTQA_MILVUS_LEASE_SECONDS": "3"}
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_AND_WAIT], env={**os.environ, **env},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
    finally:
        holder.send_signal(signal.SIGKILL)  # no release: its row stays in the lease collection until it expires
        holder.wait()
    replica = start_server(tmp_path / "cache", env=env)
    try:
        with replica.client() as client:
            results: dict = {}
            _upload(client, "patents.txt", NEWS, results)
            assert results["patents.txt"]["status"] == "done", results
            assert _sees(client, {"a", "b", "patents"})
    finally:
        stop_server(replica)


@pytest.mark.slow
def test_an_ingest_elsewhere_keeps_the_documents_uploaded_through_a_replica(tmp_path):
    """The uploaded file lives in Milvus: `reportqa ingest` from another machine's (empty) cache re-parses it."""
    from asgi import run_with_client
    from conftest import run_cli_in_process
    from doc_jobs import txt_file, wait_job
    from qa_service.app import create_app

    uri = str(tmp_path / "m.db")
    publish_tiny(uri, tmp_path)
    replica = create_app(milvus_settings(uri, tmp_path / "replica"))

    async def upload(client):
        r = await client.post("/v1/documents", files=[txt_file("patents.txt", NEWS)])
        return await wait_job(client, r.json()["job_id"])

    assert run_with_client(replica, upload)["status"] == "done"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "parks.txt").write_text(PARKS, encoding="utf-8")
    env = {"REPORTQA_STORE": "milvus", "REPORTQA_MILVUS_URI": uri, "REPORTQA_MILVUS_COLLECTION": "contract"}
    built = run_cli_in_process("ingest", str(tmp_path / "src"), "--index", str(tmp_path / "elsewhere"),
                               "--embed-model", "none", "--json", env=env)
    assert built.returncode == 0, built.stderr
    listed = run_cli_in_process("documents", "--index", str(tmp_path / "empty"), "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert {"parks", "patents"} <= {d["id"] for d in __import__("json").loads(listed.stdout)}
