"""The OpenAI-compatible chat endpoint driven by the official `openai` client and by raw httpx.

Most tests run in-process: the `openai` client is given the TestClient as its http_client. The tests
marked `slow` drive a real `reportqa serve` over a socket, streaming included.
"""

from __future__ import annotations

import json
import re

import httpx
import openai
import pytest

QUESTION = "川沙新镇1-7月财政总收入是多少？"


@pytest.fixture(scope="module")
def client(api) -> openai.OpenAI:
    """The official client talking to the in-process app."""
    return openai.OpenAI(base_url=api.url + "/v1", api_key="x", max_retries=0, timeout=60, http_client=api.client())


@pytest.fixture(scope="module")
def real_client(server) -> openai.OpenAI:
    """The official client over loopback to a real `reportqa serve`."""
    return openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=60)


def sse_events(response: httpx.Response) -> list[str]:
    """The `data:` payloads of a server-sent-event stream, in order."""
    events = []
    for line in response.iter_lines():
        if line.startswith("data:"):
            events.append(line[len("data:") :].strip())
    return events


@pytest.mark.slow
def test_real_server_with_openai_client(real_client):
    assert [m.id for m in real_client.models.list()] == ["reportqa"]
    completion = real_client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}])
    content = completion.choices[0].message.content
    assert "12.42亿元" in content and "[1]" in content
    assert "12.42" in completion.model_extra["citations"][0]["quote"]


@pytest.mark.slow
def test_real_server_streams_over_a_socket(real_client, server):
    chunks = list(real_client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}], stream=True))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["citations"]
    assert "12.42亿元" in text and "[1]" in text
    body = {"model": "reportqa", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with server.client() as c, c.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    assert "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1]) == text


def test_models_list(client):
    assert [m.id for m in client.models.list()] == ["reportqa"]


def test_non_stream(client):
    completion = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}])
    assert completion.object == "chat.completion" and completion.model == "reportqa"
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    content = choice.message.content
    assert "12.42亿元" in content and "[1]" in content
    citations = completion.model_extra["citations"]
    assert [c["n"] for c in citations] == list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", content)))
    assert all(c["quote"] in c["text"] for c in citations)
    assert "12.42" in citations[0]["quote"]


def test_non_stream_matches_ask(api, client):
    completion = client.chat.completions.create(model="reportqa", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": QUESTION}])
    with api.client() as c:
        ask = c.post("/v1/ask", json={"question": QUESTION}).json()
    assert completion.choices[0].message.content == ask["answer"]
    assert [c["passage_id"] for c in completion.model_extra["citations"]] == [c["passage_id"] for c in ask["citations"]]


def test_stream_with_openai_client(client):
    stream = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}], stream=True)
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(ch.object == "chat.completion.chunk" and ch.model == "reportqa" for ch in chunks)
    assert len({ch.id for ch in chunks}) == 1
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    citations = last.model_extra["citations"]
    assert citations and all(c["quote"] in c["text"] for c in citations)
    # The streamed text is the non-stream answer.
    full = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}])
    assert text == full.choices[0].message.content
    assert "12.42亿元" in text and "[1]" in text


def test_stream_raw_sse(api):
    body = {"model": "reportqa", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with api.client() as c, c.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    payloads = [json.loads(e) for e in events[:-1]]
    # Citations come in the last chunk before [DONE], and only there.
    assert [("citations" in p) for p in payloads] == [False] * (len(payloads) - 1) + [True]
    assert payloads[-1]["choices"][0]["finish_reason"] == "stop"
    text = "".join(p["choices"][0]["delta"].get("content") or "" for p in payloads)
    markers = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", text)))
    assert [c["n"] for c in payloads[-1]["citations"]] == markers


def test_history_resolves_follow_up(client):
    completion = client.chat.completions.create(
        model="reportqa",
        messages=[
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "1-7月，财政总收入12.42亿元，同比下降13.2%[1]。"},
            {"role": "user", "content": "它的同比增幅是多少？"},
        ],
    )
    assert "13.2%" in completion.choices[0].message.content


def test_content_parts_and_extra_knobs(client):
    # Clients send content as a list of parts and many knobs the service ignores.
    completion = client.chat.completions.create(
        model="reportqa",
        messages=[{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        temperature=0.2,
        max_tokens=100,
        user="tester",
    )
    assert "12.42亿元" in completion.choices[0].message.content


def test_abstains_through_chat(client):
    completion = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": "上海市2035年的人口规划目标是多少？"}])
    assert completion.choices[0].message.content.startswith("资料中未找到")
    assert completion.model_extra["citations"] == [] and completion.model_extra["abstained"] is True
    assert 0.0 < completion.model_extra["abstain_probability"] <= 1.0 and completion.model_extra["abstain_reason"]


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "assistant", "content": "hello"}],
        [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "…"}],
        [{"role": "system", "content": "only a system prompt"}],
        [{"role": "user", "content": "   "}],
        [{"role": "user", "content": None}],
        [{"role": "user", "content": "财" * 2001}],
    ],
)
def test_bad_messages_with_openai_client(client, messages):
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="reportqa", messages=messages)
    err = info.value
    assert 400 <= err.status_code < 500
    body = err.response.json()
    assert set(body) == {"error"} and body["error"]["type"] and body["error"]["message"]
    assert "pydantic" not in body["error"]["message"] and "Traceback" not in err.response.text


@pytest.mark.parametrize(
    "body,status",
    [
        (b"{not json", 400),
        (b"[]", 400),
        (b"{}", 400),
        (b'{"messages": "hi"}', 400),
        (b'{"messages": [{"role": "user", "content": 5}]}', 400),
        (b'{"messages": [{"role": "wizard", "content": "hi"}]}', 400),
        (b'{"messages": [{"content": "hi"}]}', 400),
        (b'{"messages": [{"role": "user", "content": "hi"}], "stream": "sometimes"}', 400),
        (b'{"messages": [{"role": "user", "content": "hi"}], "top_k": 0}', 400),
        (b'{"messages": [{"role": "user", "content": "hi"}], "top_k": "five"}', 400),
        (b'{"messages": [{"role": "user", "content": "hi"}], "mode": "magic"}', 400),
        (b'{"messages": [{"role": "user", "content": "hi"}], "filters": {"doc_ids": 3}}', 400),
        (b'{"messages": [{"role": "assistant", "content": "hi"}]}', 400),
        (b'{"messages": [{"role": "user", "content": ""}]}', 400),
        (b'{"messages": [{"role": "user", "content": "  "}], "stream": true}', 400),
        (b'{"messages": []}', 400),
    ],
)
def test_chat_bad_input_raw(api, body, status):
    # On the OpenAI-compatible API every invalid request is a 400 in OpenAI's error shape.
    with api.client() as c:
        r = c.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()
    assert set(err) == {"error"} and err["error"]["type"] and err["error"]["message"]


def test_chat_bad_question_messages_are_readable(api):
    with api.client() as c:
        r = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "财" * 2001}]})
    assert r.status_code == 400
    assert "2001" in r.json()["error"]["message"] and "errors.pydantic.dev" not in r.json()["error"]["message"]


def test_long_conversation_is_accepted(client):
    # More turns than AskRequest's history limit: the service keeps the recent ones.
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"第{i}轮"} for i in range(60)]
    completion = client.chat.completions.create(model="reportqa", messages=[*turns, {"role": "user", "content": QUESTION}])
    assert "12.42亿元" in completion.choices[0].message.content
