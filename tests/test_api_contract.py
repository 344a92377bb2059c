"""The HTTP contract in-process (httpx over ASGI, no server): one status-code rule, errors in our shape
(OpenAI's on the chat API), 405 with Allow, valid text only, and the length limit on the standalone question."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest

from qa_service.app import create_app
from qa_service.config import Settings
from qa_service.schemas import NON_BLANK_PATTERN
from tiny_index import build_tiny_index

QUESTION = "六稳是什么？"


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("contract") / "index")


@pytest.fixture(scope="module")
def app(tiny_index):
    return create_app(Settings(index=tiny_index))


def call(app, method: str, path: str, **kwargs) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def ours(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"} and body["error"]["message"]
    assert "Traceback" not in r.text and "pydantic.dev" not in r.text
    return body["error"]


def openai_shaped(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"] and "pydantic.dev" not in r.text and "function-after" not in r.text
    return body["error"]


@pytest.mark.parametrize("q", ["", "   ", "\u3000\n", "财" * 2001])
def test_search_blank_or_long_query_is_422(app, q):
    r = call(app, "GET", "/v1/search", params={"q": q})
    assert r.status_code == 422
    assert ours(r)["type"] == "invalid_request"


def test_search_scalar_parameters_take_one_value(app):
    r = call(app, "GET", "/v1/search", params=[("q", "六稳"), ("heading_prefix", "a"), ("heading_prefix", "b")])
    assert r.status_code == 422 and "heading_prefix" in ours(r)["message"]
    r = call(app, "GET", "/v1/search", params=[("q", "六稳"), ("doc_ids", "a"), ("doc_ids", "b,")])  # doc_ids may repeat
    assert r.status_code == 200


@pytest.mark.parametrize(
    "body",
    [b'{"question": "x", "top_k": true}', b'{"question": "x", "top_k": "5"}', b'{"question": "x", "mode": 1}',
     b'{"question": "x", "history": [{"role": "user", "content": 5}]}', b'{"question": ""}', b'{"question": " \\t "}', ('{"question": "' + "财" * 2001 + '"}').encode(), b'{"question": "\\ud800"}',
     b'{"question": "x", "history": [{"role": "user", "content": "\\udfff"}]}'],
)
def test_ask_invalid_question_is_422(app, body):
    r = call(app, "POST", "/v1/ask", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    ours(r)


def test_malformed_json_is_400(app):
    r = call(app, "POST", "/v1/ask", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and ours(r)["type"] == "invalid_json"
    r = call(app, "POST", "/v1/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and openai_shaped(r)["type"] == "invalid_request_error"


def test_condensed_question_keeps_the_length_limit(app):
    # A follow-up completed from an earlier question at the limit would be answered as a 2,000+ character
    # question (a turn past the limit is no question at all: it is not completed from, test_limits.py).
    history = [{"role": "user", "content": "青浦区人民法院受理案件" + "很" * 1983 + "多少件？"}]
    r = call(app, "POST", "/v1/ask", json={"question": "那2021年呢？", "history": history})
    assert r.status_code == 422, r.text
    assert "2000" in ours(r)["message"]
    chat = {"messages": [*history, {"role": "assistant", "content": "…"}, {"role": "user", "content": "那2021年呢？"}]}
    r = call(app, "POST", "/v1/chat/completions", json=chat)
    assert r.status_code == 400 and openai_shaped(r)


@pytest.mark.parametrize(
    "extra,status,code",
    [
        ({"n": 2}, 400, None),
        ({"n": 0}, 400, None),
        ({"temperature": 5}, 400, None),
        ({"temperature": -0.1}, 400, None),
        ({"top_p": 1.5}, 400, None),
        ({"model": "gpt-4o"}, 404, "model_not_found"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 123}]}]}, 400, None),
        ({"messages": [{"role": "user", "content": "\ud800"}]}, 400, None),
        ({"messages": [{"role": "user", "content": "  "}]}, 400, None),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, 400, None),
        ({"messages": []}, 400, None),
        ({"top_k": 0}, 400, None),
    ],
)
def test_chat_invalid_requests(app, extra, status, code):
    body = {"model": "reportqa", "messages": [{"role": "user", "content": QUESTION}], **extra}
    # a lone surrogate cannot be encoded by httpx's json=: send the escaped JSON text
    r = call(app, "POST", "/v1/chat/completions", content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    err = openai_shaped(r)
    assert err["code"] == code
    if status == 400:
        assert err["type"] == "invalid_request_error"


def test_chat_accepts_the_ignored_sampling_knobs(app):
    body = {"model": "reportqa", "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}, {"type": "image_url", "image_url": {"url": "x"}}]}],
            "temperature": 2, "top_p": 0.5, "n": 1, "max_tokens": 50, "presence_penalty": 1, "seed": 3, "user": "u"}
    r = call(app, "POST", "/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "reportqa" and "[1]" in r.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/v1/ask", "POST"), ("POST", "/v1/search", "GET"), ("PUT", "/healthz", "GET"),
    # one path served by two routes: Allow lists the methods of both
    ("OPTIONS", "/v1/documents", "GET, POST"), ("PUT", "/v1/documents/some-doc", "DELETE, GET"),
    ("DELETE", "/v1/jobs/some-job", "GET"),
])
def test_405_carries_allow(app, method, path, allow):
    r = call(app, method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert ours(r)["type"] == "method_not_allowed"


def test_openapi_states_what_is_enforced(app):
    schema = call(app, "GET", "/openapi.json").json()
    ask = schema["components"]["schemas"]["AskRequest"]["properties"]["question"]
    assert ask["maxLength"] == 2000 and ask["minLength"] == 1 and ask["pattern"] == NON_BLANK_PATTERN
    q = next(p for p in schema["paths"]["/v1/search"]["get"]["parameters"] if p["name"] == "q")
    assert q["schema"]["pattern"] == NON_BLANK_PATTERN and q["schema"]["maxLength"] == 2000
    chat = schema["paths"]["/v1/chat/completions"]["post"]
    assert "422" not in chat["responses"] and {"400", "404"} <= set(chat["responses"])
    chat_req = schema["components"]["schemas"]["ChatRequest"]["properties"]
    assert chat_req["n"]["maximum"] == 1 and chat_req["temperature"]["anyOf"][0]["maximum"] == 2
    assert "ignored" in chat_req["temperature"]["description"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    # pydantic writes `ge`/`le` (not JSON Schema) when it cannot place a bound: then nothing states it
    assert not re.search(r'"(ge|le|gt|lt)":', json.dumps(schema))
    # the pattern's blank is Python's blank (str.strip), character for character
    assert all((re.search(NON_BLANK_PATTERN, chr(c)) is None) == (not chr(c).strip()) for c in range(0x3100))
