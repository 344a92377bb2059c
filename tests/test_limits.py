"""Limits and back-pressure in-process: body size (413, also for a chunked body), body deadline (408), the answering
cap (503 + Retry-After) with /healthz and /readyz answering while it is full, per-key rate limits (429), and
over-long history turns."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import pytest

from qa_service.app import create_app
from qa_service.config import Settings
from qa_service.schemas import MAX_QUERY_CHARS
from tiny_index import build_tiny_index

Q = "川沙新镇上半年财政总收入是多少？"


def ask_body(question: str) -> dict:
    return {"question": question}


def chat_body(content: str, stream: bool = False) -> dict:
    return {"model": "reportqa", "messages": [{"role": "user", "content": content}], "stream": stream}


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("limits") / "index")


def run(app, body):
    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
            return await body(client)

    return asyncio.run(main())


# -- body size and deadline -------------------------------------------------------------------------------------


def test_an_oversize_body_is_413_in_each_error_shape(tiny_index):
    app = create_app(Settings(index=tiny_index, body_max_bytes=2048))
    big = {"question": Q, "history": [{"role": "user", "content": "财" * 1000}]}

    async def body(client):
        return (await client.post("/v1/ask", json=big),
                await client.post("/v1/chat/completions", json=chat_body("财" * 1000)),
                await client.post("/v1/ask", json=ask_body(Q)))

    ask, chat, small = run(app, body)
    assert ask.status_code == 413 and ask.json()["error"]["type"] == "payload_too_large"
    assert "REPORTQA_BODY_MAX_BYTES" in ask.json()["error"]["message"]
    assert ask.headers["connection"] == "close"  # the rest of the body is never read
    assert chat.status_code == 413 and set(chat.json()["error"]) == {"message", "type", "param", "code"}
    assert small.status_code == 200


def test_a_chunked_oversize_body_is_refused_as_it_streams(tiny_index):
    """No Content-Length: the bytes are counted as they arrive, and the body is not read to its end first."""
    app = create_app(Settings(index=tiny_index, body_max_bytes=4096))
    sent = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"question": "'
        for _ in range(1000):
            sent.append(1)
            yield "财".encode() * 100

    async def body(client):
        request = client.build_request("POST", "/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
        assert "content-length" not in request.headers and request.headers["transfer-encoding"] == "chunked"
        return await client.send(request)

    response = run(app, body)
    assert response.status_code == 413 and response.json()["error"]["type"] == "payload_too_large"
    assert len(sent) < 1000  # refused when the limit was passed, not after the whole body


def test_a_stalled_body_is_408(tiny_index):
    app = create_app(Settings(index=tiny_index, body_timeout=0.2))

    async def stalled() -> AsyncIterator[bytes]:
        yield b'{"question": "'
        await asyncio.sleep(3600)
        yield b'"}'

    async def body(client):
        return await client.post("/v1/ask", content=stalled(), headers={"Content-Type": "application/json"})

    response = run(app, body)
    assert response.status_code == 408 and response.json()["error"]["type"] == "request_timeout"
    assert response.headers["connection"] == "close"


def test_uploads_have_their_own_limit(tmp_path):
    index = build_tiny_index(tmp_path / "index")
    app = create_app(Settings(index=index, body_max_bytes=1024, upload_max_bytes=8192))
    over_body_limit = [("files", ("a.unsupported", b"x" * 4000, "application/octet-stream"))]
    over_upload_limit = [("files", ("a.txt", b"x" * 20000, "text/plain"))]

    async def body(client):
        return (await client.post("/v1/documents", files=over_body_limit),
                await client.post("/v1/documents", files=over_upload_limit))

    accepted, refused = run(app, body)
    assert accepted.status_code == 202  # 4 KB: over the 1 KiB body limit, under the upload limit
    assert refused.status_code == 413 and "REPORTQA_UPLOAD_MAX_BYTES" in refused.json()["error"]["message"]


# -- the answering cap -----------------------------------------------------------------------------------------


def test_past_the_answering_cap_503_with_retry_after_while_status_routes_answer(tiny_index):
    """One answering slot, no queue: while a held request has the slot, every answering route is 503 with
    Retry-After, and /healthz, /readyz (which loads the index meanwhile) and the other routes still answer."""
    app = create_app(Settings(index=tiny_index, answer_concurrency=1, answer_queue=0, retry_after=7))
    service = app.state.service
    holding, release = threading.Event(), threading.Event()
    real_ask = service.ask

    def held_ask(req):
        holding.set()
        release.wait(60)
        return real_ask(req)

    service.ask = held_ask

    async def body(client):
        first = asyncio.create_task(client.post("/v1/ask", json=ask_body(Q)))
        await asyncio.to_thread(holding.wait, 60)
        try:
            refused = [await client.post("/v1/ask", json=ask_body(Q)),
                       await client.get("/v1/search", params={"q": Q}),
                       await client.post("/v1/chat/completions", json=chat_body(Q)),
                       await client.post("/v1/chat/completions", json=chat_body(Q, stream=True))]
            status = [await client.get(p) for p in ("/healthz", "/readyz", "/v1/documents", "/v1/models")]
        finally:
            release.set()
        return refused, status, await first, await client.post("/v1/ask", json=ask_body(Q))

    refused, status, first, after = run(app, body)
    for r in refused:
        assert r.status_code == 503 and r.headers["retry-after"] == "7", r.text
    assert refused[0].json()["error"]["type"] == "overloaded"
    assert set(refused[2].json()["error"]) == {"message", "type", "param", "code"}  # OpenAI's shape on chat
    assert [r.status_code for r in status] == [200, 200, 200, 200]
    assert status[1].json()["status"] == "ready"
    assert first.status_code == 200 and after.status_code == 200  # the slot was given back
    assert app.state.answer_gate.in_flight == 0


def test_a_queue_lets_requests_wait_for_a_slot(tiny_index):
    app = create_app(Settings(index=tiny_index, answer_concurrency=1, answer_queue=8))

    async def body(client):
        return await asyncio.gather(*[client.post("/v1/ask", json=ask_body(Q)) for _ in range(6)],
                                    client.post("/v1/chat/completions", json=chat_body(Q, stream=True)))

    responses = run(app, body)
    assert [r.status_code for r in responses] == [200] * 7
    assert "data: [DONE]" in responses[-1].text
    assert app.state.answer_gate.in_flight == 0


def test_readyz_loads_the_index_off_the_event_loop(tiny_index):
    app = create_app(Settings(index=tiny_index))
    holder = app.state.service._holder
    real_load, threads = holder._load, []

    def load(key):
        try:
            asyncio.get_running_loop()
            threads.append("event loop")
        except RuntimeError:
            threads.append("worker thread")
        return real_load(key)

    holder._load = load
    first, second = run(app, lambda c: asyncio.gather(c.get("/readyz"), c.get("/readyz")))
    assert first.status_code == second.status_code == 200
    assert threads == ["worker thread"]  # loaded once, not on the loop; the second waited for that load


# -- rate limits -------------------------------------------------------------------------------------------------


def test_rate_limit_per_key_then_per_address(tiny_index):
    app = create_app(Settings(index=tiny_index, api_keys="k1:query,k2:query", rate_limit="2/minute"))
    k1, k2, wrong = ({"Authorization": f"Bearer {k}"} for k in ("k1", "k2", "nope"))

    async def body(client):
        one = [await client.get("/v1/models", headers=k1) for _ in range(3)]
        chat = await client.post("/v1/chat/completions", json=chat_body(Q), headers=k1)
        two = await client.get("/v1/documents", headers=k2)
        anonymous = [await client.get("/v1/models", headers=wrong) for _ in range(3)]
        health = await client.get("/healthz")
        return one, chat, two, anonymous, health

    one, chat, two, anonymous, health = run(app, body)
    assert [r.status_code for r in one] == [200, 200, 429]
    assert one[2].json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(one[2].headers["retry-after"]) <= 60
    assert chat.status_code == 429 and set(chat.json()["error"]) == {"message", "type", "param", "code"}
    assert two.status_code == 200  # another key has its own allowance
    # made-up keys count against the client's address: two refusals for the key, then the limit
    assert [r.status_code for r in anonymous] == [401, 401, 429]
    assert health.status_code == 200  # only /v1 is limited


def test_rate_limit_setting_is_checked():
    with pytest.raises(ValueError, match="rate_limit"):
        Settings(rate_limit="lots")
    assert Settings().rate_limit == ""  # off unless configured


# -- over-long history -------------------------------------------------------------------------------------------


def test_a_20000_character_history_turn_is_answered(tiny_index):
    app = create_app(Settings(index=tiny_index))
    long_turn = {"role": "user", "content": ("川沙新镇呢？ 1-7月法院局委员会" * 1500)[:20000]}
    history = [long_turn, {"role": "assistant", "content": "好的"}, {"role": "user", "content": Q}]

    async def body(client):
        return (await client.post("/v1/ask", json={"question": "那下半年呢？", "history": [long_turn]}),
                await client.post("/v1/ask", json={"question": "那下半年呢？", "history": history}),
                await client.post("/v1/chat/completions", json={
                    "model": "reportqa", "messages": [long_turn, {"role": "user", "content": "那下半年呢？"}]}))

    alone, resolved, chat = run(app, body)
    assert alone.status_code == 200 and alone.json()["standalone_question"] is None  # the long turn is no subject
    assert resolved.status_code == 200
    assert resolved.json()["standalone_question"] == Q.replace("上半年", "下半年")
    assert len(resolved.json()["standalone_question"]) <= MAX_QUERY_CHARS
    assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"]


def test_uvicorn_options_are_plain_values_carrying_the_deadlines():
    """`reportqa serve` passes them to uvicorn.run for one process or for spawned workers alike."""
    import json

    from qa_service.http_protocol import HeaderDeadlineProtocol, uvicorn_limits

    options = uvicorn_limits(Settings(header_timeout=3.5, keep_alive_timeout=7))
    assert json.loads(json.dumps(options)) == options
    assert options["timeout_keep_alive"] == 7 and HeaderDeadlineProtocol.header_timeout == 3.5
    uvicorn_limits(Settings())  # back to the default for the rest of the session
