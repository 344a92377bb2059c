"""Document management over HTTP, in-process (httpx ASGI transport): uploads and deletes as background jobs."""

from __future__ import annotations

import asyncio
import shutil

import httpx
import pytest

from asgi import run_with_client
from conftest import run_cli
from doc_jobs import build_gazette_index, docx_file, txt_file, wait_job
from ingest.index_reader import load_index
from ingest.manifest import read_manifest
from qa_service.app import create_app
from qa_service.config import Settings
from qa_service.jobs import Job, JobStore, now_ns
from test_upload_formats import PAGE

NEWS = "嘉定区科技创新工作报告\n一、总体情况\n2023年嘉定区新增专利授权8650件，其中发明专利1320件。\n"


@pytest.fixture()
def index(tmp_path):
    return build_gazette_index(tmp_path / "index")


async def _doc_ids(client) -> set[str]:
    return {d["id"] for d in (await client.get("/v1/documents")).json()}


def test_upload_ask_and_delete(index):
    app = create_app(Settings(index=index))

    async def body(client):
        files = [txt_file("patents.txt", NEWS), ("files", ("jiading.html", PAGE.encode(), "text/html")),
                 docx_file("budget.docx")]
        r = await client.post("/v1/documents", files=files)
        assert r.status_code == 202
        job = await wait_job(client, r.json()["job_id"])
        assert job["status"] == "done" and job["error"] is None and job["kind"] == "upload"
        assert sorted(job["result"]["documents"]) == ["budget", "jiading", "patents"] and not job["result"]["skipped"]
        assert await _doc_ids(client) == {"a", "b", "budget", "jiading", "patents"}
        assert sorted(p.name for p in (index / "sources").iterdir()) == ["budget.docx", "jiading.html", "patents.txt"]

        ask = (await client.post("/v1/ask", json={"question": "2023年嘉定区新增专利授权多少件？"})).json()
        assert "8650" in ask["answer"] and ask["citations"][0]["doc_id"] == "patents"
        ask = (await client.post("/v1/ask", json={"question": "嘉定区2023年新增高新技术企业多少家？"})).json()
        assert "356" in ask["answer"] and ask["citations"][0]["doc_id"] == "jiading"
        hits = (await client.get("/v1/search", params={"q": "税收收入", "doc_ids": "budget"})).json()["results"]
        assert any("9.5" in h["text"] for h in hits)
        rows = [c.text for c in load_index(index).chunks if c.doc_id == "budget" and c.kind == "table_row"]
        assert rows == ["项目：税收收入（亿元）；2022年：9.5；2023年：10.2"]  # the Word table's row, labelled

        r = await client.delete("/v1/documents/patents")
        assert r.status_code == 202
        job = await wait_job(client, r.json()["job_id"])
        assert job["status"] == "done" and job["result"]["documents"] == ["patents"]
        assert await _doc_ids(client) == {"a", "b", "budget", "jiading"}
        assert not (index / "sources" / "patents.txt").exists()
        ask = (await client.post("/v1/ask", json={"question": "2023年嘉定区新增专利授权多少件？"})).json()
        assert "8650" not in ask["answer"]

        # a source file split into several documents goes with all of them
        job = await wait_job(client, (await client.delete("/v1/documents/b")).json()["job_id"])
        assert job["status"] == "done" and sorted(job["result"]["documents"]) == ["a", "b"]
        assert await _doc_ids(client) == {"budget", "jiading"}

    run_with_client(app, body)


def test_a_job_where_every_file_is_skipped_fails_with_the_reasons(index):
    app = create_app(Settings(index=index))

    async def body(client):
        files = [("files", ("tool.exe", b"MZ", "application/octet-stream")), txt_file("empty.txt", ""),
                 ("files", ("broken.docx", b"not a zip", "application/octet-stream"))]
        r = await client.post("/v1/documents", files=files)
        assert r.status_code == 202
        job = await wait_job(client, r.json()["job_id"])
        assert job["status"] == "failed" and job["result"]["documents"] == []
        skipped = {s["path"]: s["reason"] for s in job["result"]["skipped"]}
        assert skipped == {"tool.exe": "unsupported file type .exe", "empty.txt": "empty file",
                           "broken.docx": "corrupt docx"}
        assert all(name in job["error"] for name in skipped)
        assert await _doc_ids(client) == {"a", "b"}  # the index is unchanged

    run_with_client(app, body)


def test_bad_requests(index):
    app = create_app(Settings(index=index, upload_max_bytes=1000))

    async def body(client):
        assert (await client.delete("/v1/documents/nope")).status_code == 404
        assert (await client.get("/v1/jobs/0123456789abcdef0123456789abcdef")).status_code == 404
        assert (await client.get("/v1/jobs/..%2Fmanifest")).status_code == 404
        r = await client.post("/v1/documents", files=[txt_file("big.txt", "财政" * 1000)])
        assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"
        assert (await client.post("/v1/documents", data={"x": "1"})).status_code == 422
        # a folder sent with the name is dropped: the file lands in the sources folder, nowhere else
        r = await client.post("/v1/documents", files=[txt_file("../../evil.txt", NEWS)])
        job = await wait_job(client, r.json()["job_id"])
        assert job["status"] == "done" and job["result"]["documents"] == ["evil"]
        assert (index / "sources" / "evil.txt").is_file() and not (index.parent / "evil.txt").exists()

    run_with_client(app, body)


def test_past_the_queue_cap_submissions_get_429(index):
    settings = Settings(index=index, jobs_queue_max=2)
    app = create_app(settings)
    store = JobStore(settings.jobs_dir(), settings.jobs_queue_max, settings.jobs_keep)

    async def body(client):
        with store.runner_lock() as held:  # as if another worker were running a long job
            assert held
            ids = [(await client.post("/v1/documents", files=[txt_file(f"n{i}.txt", NEWS)])).json()["job_id"]
                   for i in range(2)]
            r = await client.post("/v1/documents", files=[txt_file("n2.txt", NEWS)])
            assert r.status_code == 429 and r.json()["error"]["type"] == "too_many_jobs"
            assert (await client.delete("/v1/documents/a")).status_code == 429
            assert [(await client.get(f"/v1/jobs/{i}")).json()["status"] for i in ids] == ["queued", "queued"]
        jobs = [await wait_job(client, i) for i in ids]  # the lock released, this worker's runner takes them
        assert [j["status"] for j in jobs] == ["done", "done"]
        assert {"n0", "n1"} <= await _doc_ids(client) and "n2" not in await _doc_ids(client)

    run_with_client(app, body)


def test_a_cli_rebuild_keeps_the_uploaded_documents(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "court.txt").write_text("青浦区人民法院工作报告\n全院共受理各类案件一万余件，审结率明显提高。\n", encoding="utf-8")
    index = tmp_path / "index"
    assert run_cli("ingest", str(reports), "--index", str(index), "--embed-model", "none").returncode == 0
    app = create_app(Settings(index=index))

    async def body(client):
        r = await client.post("/v1/documents", files=[txt_file("patents.txt", NEWS)])
        assert (await wait_job(client, r.json()["job_id"]))["status"] == "done"

    run_with_client(app, body)
    rebuilt = run_cli("ingest", str(reports), "--index", str(index), "--rebuild", "--embed-model", "none", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert set(load_index(index).documents) == {"court", "patents"}


def test_an_upload_and_its_delete_leave_the_shipped_index_as_it_was(shipped_index, tmp_path):
    """Documents a job keeps are not re-parsed and keep their vectors: upload then delete gives back the same
    build, byte for byte, every vector reused."""
    index = tmp_path / "index"
    shutil.copytree(shipped_index, index)
    before = read_manifest(index)
    app = create_app(Settings(index=index))

    async def body(client):
        for method, url, kwargs in (("POST", "/v1/documents", {"files": [txt_file("patents.txt", NEWS)]}),
                                    ("DELETE", "/v1/documents/patents", {})):
            r = await client.request(method, url, **kwargs)
            assert (await wait_job(client, r.json()["job_id"]))["status"] == "done"

    run_with_client(app, body)
    after = read_manifest(index)
    assert after.build_id != before.build_id and after.incremental.reused_vectors == before.counts["chunks"]
    assert after.counts == before.counts and after.embedding.sha256 == before.embedding.sha256
    # every file (records, tokenizer, BM25 arms, vectors, FAISS, model) has the size and sha256 it had
    assert [f.model_dump() for f in after.index_files] == [f.model_dump() for f in before.index_files]


def test_two_workers_share_the_jobs_and_run_one_build_at_a_time(index):
    """Two apps on one index stand for two worker processes: each sees the other's jobs and documents."""
    first, second = create_app(Settings(index=index)), create_app(Settings(index=index))

    async def submit(app, name):
        return await _in(app, lambda c: c.post("/v1/documents", files=[txt_file(name, NEWS)]))

    async def body():
        r1, r2 = await asyncio.gather(submit(first, "w1.txt"), submit(second, "w2.txt"))
        jobs = await asyncio.gather(_in(second, lambda c: wait_job(c, r1.json()["job_id"])),
                                    _in(first, lambda c: wait_job(c, r2.json()["job_id"])))
        assert [j["status"] for j in jobs] == ["done", "done"]
        for app in (first, second):
            assert {"w1", "w2"} <= await _in(app, _doc_ids)

    asyncio.run(body())


async def _in(app, call):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60) as c:
        return await call(c)


def test_a_job_left_running_by_a_dead_process_fails_as_interrupted(index):
    settings = Settings(index=index)
    app = create_app(settings)
    store = JobStore(settings.jobs_dir(), settings.jobs_queue_max, settings.jobs_keep)
    orphan = store.submit(Job(job_id=store.new_id(), kind="delete", status="running", created_ns=now_ns(), doc_id="a"))
    assert app.state.jobs.run_pending()
    job = store.get(orphan.job_id)
    assert job.status == "failed" and "interrupted" in job.error
    assert run_with_client(app, _doc_ids) == {"a", "b"}
