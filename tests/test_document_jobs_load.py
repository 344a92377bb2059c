"""100 uploads and 100 deletes while /v1/ask is under concurrent load: no request fails, no document is lost.

Slow (about a minute on 2 cores): every batch of jobs is a new build, published while questions are answered.
In-process over httpx's ASGI transport: the app's endpoints run in its thread pool, the job runner in its thread.
"""

from __future__ import annotations

import asyncio

import pytest

from asgi import run_with_client
from doc_jobs import build_gazette_index, txt_file, wait_job
from qa_service.app import create_app
from qa_service.config import Settings

N_DOCS = 100
ASKERS = 4
QUESTION = "川沙新镇上半年财政总收入是多少？"


def _doc(i: int) -> tuple[str, str]:
    return f"upload{i:03d}", f"第{i}号测试报告\n一、项目情况\n第{i}号测试项目完成投资{1000 + i}万元，进展顺利。\n"


async def _submit(client, method: str, url: str, **kwargs) -> str:
    """Submit a job, waiting while the queue is full (429); the job id."""
    for _ in range(3000):
        r = await client.request(method, url, **kwargs)
        if r.status_code != 429:
            assert r.status_code == 202, r.text
            return r.json()["job_id"]
        await asyncio.sleep(0.05)
    raise AssertionError("the queue never had room")


async def _ask_until(client, stop: asyncio.Event, outcomes: list[tuple[int, str]]) -> None:
    while not stop.is_set():
        r = await client.post("/v1/ask", json={"question": QUESTION})
        outcomes.append((r.status_code, r.json().get("answer", "") if r.status_code == 200 else r.text))
        await asyncio.sleep(0)


@pytest.mark.slow
def test_uploads_and_deletes_under_load_lose_nothing(tmp_path):
    index = build_gazette_index(tmp_path / "index")
    app = create_app(Settings(index=index))
    outcomes: list[tuple[int, str]] = []

    async def body(client):
        baseline = (await client.post("/v1/ask", json={"question": QUESTION})).json()["answer"]
        assert "12.4亿元" in baseline
        stop = asyncio.Event()
        askers = [asyncio.create_task(_ask_until(client, stop, outcomes)) for _ in range(ASKERS)]
        try:
            uploads = [await _submit(client, "POST", "/v1/documents", files=[txt_file(f"{name}.txt", text)])
                       for name, text in map(_doc, range(N_DOCS))]
            done = [await wait_job(client, j, seconds=600) for j in uploads]
            assert [j["result"]["documents"] for j in done] == [[_doc(i)[0]] for i in range(N_DOCS)]
            assert all(j["status"] == "done" for j in done)
            ids = {d["id"] for d in (await client.get("/v1/documents")).json()}
            assert ids == {"a", "b"} | {_doc(i)[0] for i in range(N_DOCS)}
            for i in (0, 57, N_DOCS - 1):
                hits = (await client.get("/v1/search", params={"q": f"第{i}号测试项目完成投资"})).json()["results"]
                assert hits[0]["doc_id"] == _doc(i)[0] and f"{1000 + i}万元" in hits[0]["text"]

            deletes = [await _submit(client, "DELETE", f"/v1/documents/{_doc(i)[0]}") for i in range(N_DOCS)]
            done = [await wait_job(client, j, seconds=600) for j in deletes]
            assert [j["result"]["documents"] for j in done] == [[_doc(i)[0]] for i in range(N_DOCS)]
            assert {d["id"] for d in (await client.get("/v1/documents")).json()} == {"a", "b"}
            assert not any((index / "sources").iterdir())
        finally:
            stop.set()
            await asyncio.gather(*askers)

    run_with_client(app, body)
    assert len(outcomes) >= ASKERS
    failed = [o for o in outcomes if o[0] != 200]
    assert not failed, failed[:3]
    assert all("12.4亿元" in answer for _, answer in outcomes)  # every answer came from a complete build
