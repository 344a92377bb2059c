"""The store contract, checked against a Milvus URI (a milvus-lite file or a `milvus-lite server` on loopback):
the Milvus store ranks, filters, lists, serves passages, answers, uploads and deletes as the embedded one does.

Ties: rows 5 and 6 of the tiny corpus have the same text and headings, so the same score; the embedded arms
break ties by row, Milvus by its own order. Rankings are compared as lists of search texts, which ties share.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asgi import run_with_client
from doc_jobs import txt_file, wait_job
from ingest.chunking import make_search_text
from ingest.index_reader import load_index
from ingest.manifest import read_manifest
from ingest.milvus_publish import publish_to_milvus
from ingest.milvus_reader import load_milvus_index
from qa_service.app import create_app
from qa_service.config import Settings
from qa_service.fusion import weighted_rrf
from tiny_index import build_tiny_index

QUERIES = ["川沙新镇财政总收入12.4亿元", "六稳六保", "全院共受理各类案件", "青浦区合作项目", "1-7月 13.2%", "不存在的词语组合"]
NEWS = "嘉定区科技创新工作报告\n一、总体情况\n2023年嘉定区新增专利授权8650件，其中发明专利1320件。\n"


def milvus_settings(uri: str, cache: Path, **extra) -> Settings:
    return Settings(index=cache, store="milvus", milvus_uri=uri, milvus_collection="contract", milvus_poll_seconds=0,
                    **extra)


def publish_tiny(uri: str, tmp: Path) -> Path:
    """The tiny corpus built in tmp/built (an embedded index) and published to Milvus; returns the built index."""
    built = build_tiny_index(tmp / "built")
    publish_to_milvus(milvus_settings(uri, tmp / "unused").milvus_config(), built, read_manifest(built))
    return built


def check_arms(uri: str, tmp: Path, built: Path) -> None:
    """Each arm ranks alike, with and without an allowed-row mask, from a replica whose cache starts empty."""
    embedded = load_index(built)
    milvus = load_milvus_index(milvus_settings(uri, tmp / "empty").milvus_config(), tmp / "empty")
    assert [c.id for c in milvus.chunks] == [c.id for c in embedded.chunks]
    assert milvus.documents.keys() == embedded.documents.keys() and milvus.arms == embedded.arms
    text = make_search_text(embedded.manifest.search_text.with_heading)
    texts = [text(c) for c in embedded.chunks]
    masks = [None, np.array([c.doc_id == "b" for c in embedded.chunks]), embedded.heading_mask("二、下半年"),
             np.array([i in (1, 2, 5) for i in range(len(embedded.chunks))])]
    for q in QUERIES:
        word, char = embedded.tokenizer.tokenize(q), embedded.tokenizer.char_tokens(q)
        assert milvus.tokenizer.tokenize(q) == word  # the tokenizer's user words come from the store
        for mask in masks:
            for rank in ("rank_word", "rank_char"):
                tokens = word if rank == "rank_word" else char
                want = [texts[i] for i in getattr(embedded, rank)(tokens, 10, mask)]
                got = [texts[i] for i in getattr(milvus, rank)(tokens, 10, mask)]
                assert got == want, (q, rank, mask)
        for mask in masks[:2]:  # Milvus's own RRF (hybrid_search) is our fusion with equal weights
            rankings = {"word": embedded.rank_word(word, 10, mask), "char": embedded.rank_char(char, 10, mask)}
            order, _, _ = weighted_rrf(rankings, {"word": 1.0, "char": 1.0}, 60)
            got = milvus.rank_rrf(word, char, None, 10, 60, mask)
            assert [texts[i] for i in got] == [texts[i] for i in order[:10]], (q, mask)
        for term in word:
            assert milvus.has_word(term) == embedded.has_word(term)
            assert abs(milvus.idf(term) - embedded.idf(term)) < 1e-9


def _search_texts(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["text"] for r in response.json()["results"]]


def check_api(uri: str, tmp: Path, built: Path) -> None:
    """The HTTP API over each store answers alike; an upload and a delete through one Milvus replica are seen by
    another replica (empty cache of its own) without a restart."""
    embedded = create_app(Settings(index=built))
    replica_a = create_app(milvus_settings(uri, tmp / "replica_a"))
    replica_b = create_app(milvus_settings(uri, tmp / "replica_b"))
    requests = [("/v1/search", {"q": q, "top_k": 5}) for q in QUERIES[:4]]
    requests += [("/v1/search", {"q": "案件", "doc_ids": "b"}), ("/v1/search", {"q": "工作", "heading_prefix": "二、下半年"})]

    async def read(client) -> dict:
        out = {"documents": (await client.get("/v1/documents")).json(),
               "document": (await client.get("/v1/documents/a")).json(),
               "passage": (await client.get("/v1/passages/a.2")).json(),
               "missing": (await client.get("/v1/passages/nope")).status_code,
               "search": [_search_texts(await client.get(path, params=params)) for path, params in requests]}
        ask = (await client.post("/v1/ask", json={"question": "川沙新镇上半年财政总收入是多少？"})).json()
        out["answer"] = (ask["answer"], ask["abstained"], [c["text"] for c in ask["citations"]])
        return out

    want = run_with_client(embedded, read)
    assert want["missing"] == 404 and any(want["search"])
    assert run_with_client(replica_a, read) == want
    assert run_with_client(replica_b, read) == want

    async def upload(client):
        r = await client.post("/v1/documents", files=[txt_file("patents.txt", NEWS)])
        assert r.status_code == 202, r.text
        return await wait_job(client, r.json()["job_id"])

    job = run_with_client(replica_a, upload)
    assert job["status"] == "done", job

    async def patents(client):
        ids = {d["id"] for d in (await client.get("/v1/documents")).json()}
        hits = _search_texts(await client.get("/v1/search", params={"q": "嘉定区新增专利授权"}))
        return "patents" in ids, any("8650" in h for h in hits)

    assert run_with_client(replica_b, patents) == (True, True)  # the other replica sees the upload

    async def delete(client):
        r = await client.delete("/v1/documents/patents")
        assert r.status_code == 202, r.text
        return await wait_job(client, r.json()["job_id"])

    assert run_with_client(replica_b, delete)["status"] == "done"
    assert run_with_client(replica_a, patents) == (False, False)
    assert run_with_client(replica_a, read) == want  # back to the tiny corpus, on both
