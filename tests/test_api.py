"""The HTTP API in-process (FastAPI's TestClient over `create_app`), plus one real `reportqa serve` lifecycle."""

from __future__ import annotations

import signal

import pytest

from conftest import REPORTS, in_process_api, run_cli_in_process, start_server, stop_server

TOWN = "004_1aa96ab411d029c6"  # 川沙新镇 政府上半年工作情况报告
PLAN = "000_20d7c97a3767f276-15"  # 关于青浦区2020年上半年国民经济和社会发展计划执行情况的报告


def test_healthz_and_readyz(api):
    with api.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["counts"]["documents"] == 21
    assert set(ready["arms"]) == {"word", "char", "dense"}
    assert ready["answer_modes"] == ["extractive"] and ready["llm_model"] is None


def test_search_contract(api):
    with api.client() as c:
        r = c.get("/v1/search", params={"q": "川沙新镇1-7月财政总收入是多少", "top_k": 5})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 5
    first = results[0]
    assert set(first) == {"passage_id", "doc_id", "doc_title", "heading_path", "kind", "text", "score", "ranks"}
    assert set(first["ranks"]) == {"word", "char", "dense"}
    assert first["heading_path"][0] == first["doc_title"]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    # Ranking quality is measured by `reportqa eval`; here only that the evidence is near the top.
    assert any("12.42亿元" in r["text"] for r in results[:3])


def test_search_doc_filter(api):
    with api.client() as c:
        docs = c.get("/v1/documents").json()
        court = next(d["id"] for d in docs if d["title"].startswith("青浦区人民法院") and "上半年工作报告" in d["title"])
        r = c.get("/v1/search", params={"q": "案件", "doc_ids": court, "top_k": 10})
    assert r.status_code == 200
    assert len(r.json()["results"]) == 10
    assert {x["doc_id"] for x in r.json()["results"]} == {court}


def test_definition_passage_lookup_and_neighbours(api):
    with api.client() as c:
        hit = c.get("/v1/search", params={"q": "六保", "top_k": 1}).json()["results"][0]
        p = c.get(f"/v1/passages/{hit['passage_id']}").json()
        assert set(p) == {"passage_id", "doc_id", "doc_title", "kind", "heading_path", "text", "start", "end", "page",
                          "prev_id", "next_id", "parent_id", "document_url"}
        assert (p["passage_id"], p["doc_id"], p["kind"]) == (hit["passage_id"], TOWN, "definition")
        assert p["text"].startswith("六保：保居民就业")
        # The offsets point into the document's text.
        assert p["document_url"] == f"/v1/documents/{TOWN}"
        doc = c.get(p["document_url"], params={"text": "true"}).json()
        assert doc["text"][p["start"]:p["end"]] == p["text"]
        # Reading-order links go both ways.
        assert p["prev_id"] and p["next_id"] and p["parent_id"] is None
        assert c.get(f"/v1/passages/{p['next_id']}").json()["prev_id"] == p["passage_id"]
        assert c.get(f"/v1/passages/{p['prev_id']}").json()["next_id"] == p["passage_id"]


def test_table_row_passage_names_its_table(api):
    with api.client() as c:
        results = c.get("/v1/search", params={"q": "合同外资", "doc_ids": PLAN, "top_k": 10}).json()["results"]
        rows = [r for r in results if r["kind"] == "table_row"]
        assert rows, [r["kind"] for r in results]
        row = c.get(f"/v1/passages/{rows[0]['passage_id']}").json()
        assert "指标名称：合同外资" in row["text"] and row["page"] == 109
        table = c.get(f"/v1/passages/{row['parent_id']}").json()
    assert table["kind"] == "table" and table["doc_id"] == PLAN
    assert table["start"] <= row["start"] < row["end"] <= table["end"]


def test_documents(api):
    with api.client() as c:
        docs = c.get("/v1/documents").json()
        assert len(docs) == 21
        assert set(docs[0]) == {"id", "title", "source_file", "page", "date", "reporter", "n_sections", "n_chunks"}
        assert (docs[0]["title"], docs[0]["page"], docs[0]["reporter"]) == ("在区五届人大常委会第三十六次会议上的讲话", 1, "区人大常委会主任 朱明福")
        town = next(d for d in docs if d["id"] == TOWN)
        assert (town["title"], town["date"], town["reporter"]) == ("政府上半年工作情况报告", "2020年8月18日", "宦勇")
        detail = c.get(f"/v1/documents/{TOWN}").json()
        assert detail["outline"] and detail["text"] is None
        with_text = c.get(f"/v1/documents/{TOWN}", params={"text": "true"}).json()
    assert with_text["text"].startswith("政府上半年工作情况报告")
    assert "12.42亿元" in with_text["text"]


def test_models_list(api):
    with api.client() as c:
        body = c.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["reportqa"]


def test_openapi_docs(api):
    with api.client() as c:
        assert c.get("/docs").status_code == 200
        assert "/v1/ask" in c.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "params,status",
    [
        ({"q": ""}, 422),
        ({"q": "   "}, 422),
        ({"q": "财" * 2001}, 422),
        ({"q": "财政", "top_k": "abc"}, 422),
        ({"q": "财政", "top_k": 0}, 422),
        ({"q": "财政", "top_k": 51}, 422),
        ({}, 422),
    ],
)
def test_search_bad_input(api, params, status):
    with api.client() as c:
        r = c.get("/v1/search", params=params)
    assert r.status_code == status
    body = r.json()
    assert set(body) == {"error"} and body["error"]["type"] and body["error"]["message"]
    assert "Traceback" not in r.text


def test_unknown_ids_are_404(api):
    with api.client() as c:
        for path in ("/v1/passages/nope", "/v1/documents/nope", "/v1/nothing-here"):
            r = c.get(path)
            assert r.status_code == 404
            assert r.json()["error"]["type"] == "not_found"


@pytest.mark.parametrize(
    "body,status",
    [
        (b"{not json", 400),
        (b'{"question": ""}', 422),
        (b'{"question": "  "}', 422),
        ('{"question": "' + "财" * 2001 + '"}', 422),
        (b'{"question": 5}', 422),
        (b'{"question": "x", "top_k": 0}', 422),
        (b'{"question": "x", "top_k": 21}', 422),
        (b'{"question": "x", "mode": "magic"}', 422),
        (b'{"question": "x", "history": "nope"}', 422),
        (b'[]', 422),
    ],
)
def test_ask_bad_input(api, body, status):
    with api.client() as c:
        r = c.post("/v1/ask", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]


def test_503_without_index(tmp_path):
    missing = in_process_api(tmp_path / "missing")
    with missing.client() as c:
        assert c.get("/healthz").status_code == 200
        for method, path, kwargs in (
            ("GET", "/readyz", {}),
            ("GET", "/v1/search", {"params": {"q": "财政"}}),
            ("GET", "/v1/documents", {}),
            ("POST", "/v1/ask", {"json": {"question": "财政收入"}}),
        ):
            r = c.request(method, path, **kwargs)
            assert r.status_code == 503
            assert r.json()["error"]["type"] == "index_unavailable"
            assert "reportqa ingest" in r.json()["error"]["message"]


@pytest.mark.slow
def test_real_server_lifecycle(tmp_path):
    """`reportqa serve` starts without an index (503 with the fix), serves the index once `reportqa ingest`
    has published one, and exits cleanly on SIGTERM."""
    index = tmp_path / "index"
    server = start_server(index)
    try:
        with server.client() as c:
            assert c.get("/healthz").json() == {"status": "ok"}
            r = c.get("/readyz")
            assert r.status_code == 503 and "reportqa ingest" in r.json()["error"]["message"]
            ingest = run_cli_in_process("ingest", str(REPORTS / f"{TOWN}.txt"), "--index", str(index), "--embed-model", "none", "--json")
            assert ingest.returncode == 0, ingest.stderr
            ready = c.get("/readyz").json()
            assert ready["status"] == "ready" and ready["counts"]["documents"] == 1
            assert ready["arms"] == ["word", "char"]
            out = c.post("/v1/ask", json={"question": "川沙新镇1-7月财政总收入是多少？"}).json()
            assert "12.42亿元" in out["answer"] and out["citations"]
    finally:
        code = stop_server(server)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught; -9 would mean it had to be killed.
    assert code in (0, -signal.SIGTERM)
    assert "Traceback" not in server.stderr()
