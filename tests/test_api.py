"""The HTTP API on a real `reportqa serve` process, called over loopback with httpx."""

from __future__ import annotations

import pytest

from conftest import start_server, stop_server


def test_healthz_and_readyz(server):
    with server.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["counts"]["documents"] == 21
    assert set(ready["arms"]) >= {"word", "char"}
    assert "extractive" in ready["answer_modes"]


def test_search_contract(server):
    with server.client() as c:
        r = c.get("/v1/search", params={"q": "川沙新镇1-7月财政总收入是多少", "top_k": 5})
    assert r.status_code == 200
    results = r.json()["results"]
    assert 1 <= len(results) <= 5
    first = results[0]
    assert set(first) == {"passage_id", "doc_id", "doc_title", "heading_path", "kind", "text", "score", "ranks"}
    assert set(first["ranks"]) == {"word", "char", "dense"}
    assert first["heading_path"][0] == first["doc_title"]
    # Ranking quality is measured by `reportqa eval`; here only that the evidence is near the top.
    assert any("12.42亿元" in r["text"] for r in results[:3])


def test_search_doc_filter(server):
    with server.client() as c:
        docs = c.get("/v1/documents").json()
        court = next(d["id"] for d in docs if d["title"].startswith("青浦区人民法院") and "上半年工作报告" in d["title"])
        r = c.get("/v1/search", params={"q": "案件", "doc_ids": court, "top_k": 10})
    assert r.status_code == 200
    assert r.json()["results"]
    assert {x["doc_id"] for x in r.json()["results"]} == {court}


def test_passage_lookup_and_neighbours(server):
    with server.client() as c:
        hit = c.get("/v1/search", params={"q": "六保", "top_k": 1}).json()["results"][0]
        p = c.get(f"/v1/passages/{hit['passage_id']}").json()
        assert p["passage_id"] == hit["passage_id"]
        assert set(p) == {"passage_id", "doc_id", "doc_title", "kind", "heading_path", "text", "start", "end", "page",
                          "prev_id", "next_id", "parent_id", "document_url"}
        doc = c.get(p["document_url"], params={"text": "true"}).json()
        if p["kind"] in ("text", "definition"):
            assert doc["text"][p["start"]:p["end"]] == p["text"]
        neighbour = p["next_id"] or p["prev_id"]
        if neighbour:
            assert c.get(f"/v1/passages/{neighbour}").status_code == 200


def test_documents(server):
    with server.client() as c:
        docs = c.get("/v1/documents").json()
        assert len(docs) == 21
        assert set(docs[0]) == {"id", "title", "source_file", "page", "date", "reporter", "n_sections", "n_chunks"}
        detail = c.get(f"/v1/documents/{docs[1]['id']}").json()
        assert detail["outline"] and detail.get("text") is None
        with_text = c.get(f"/v1/documents/{docs[1]['id']}", params={"text": "true"}).json()
        assert with_text["text"]


def test_models_list(server):
    with server.client() as c:
        body = c.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["reportqa"]


def test_openapi_docs(server):
    with server.client() as c:
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
def test_search_bad_input(server, params, status):
    with server.client() as c:
        r = c.get("/v1/search", params=params)
    assert r.status_code == status
    body = r.json()
    assert set(body) == {"error"} and body["error"]["type"] and body["error"]["message"]
    assert "Traceback" not in r.text


def test_unknown_ids_are_404(server):
    with server.client() as c:
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
def test_ask_bad_input(server, body, status):
    with server.client() as c:
        r = c.post("/v1/ask", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]


def test_503_without_index(tmp_path):
    server = start_server(tmp_path / "missing")
    try:
        with server.client() as c:
            assert c.get("/healthz").status_code == 200
            for method, path, kwargs in (
                ("GET", "/readyz", {}),
                ("GET", "/v1/search", {"params": {"q": "财政"}}),
                ("GET", "/v1/documents", {}),
                ("POST", "/v1/ask", {"json": {"question": "财政收入"}}),
            ):
                r = c.request(method, path, **kwargs)
                assert r.status_code == 503
                assert "reportqa ingest" in r.json()["error"]["message"]
    finally:
        stop_server(server)
