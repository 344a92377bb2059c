"""Real streaming of LLM answers on /v1/chat/completions, and the LLM circuit breaker.

The scripted LLM (tests/fake_llm_server.py) streams its reply as server-sent events. The gate test runs the app
behind uvicorn on loopback in a thread (tests/live_server.py): the in-process TestClient buffers whole responses,
a socket does not. The other tests read whole streams in-process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator

import httpx
import openai
import pytest

from conftest import InProcessAPI, in_process_api
from fake_llm_server import FakeLLM, FakeLLMServer, Reply, passage_number
from live_server import serve_in_thread
from qa_service.circuit import CircuitBreaker, CircuitConfig

QUESTION = "川沙新镇1-7月财政总收入是多少？"
REWRITES = "川沙新镇财政总收入完成情况\n川沙新镇一般公共预算收入"
TIMEOUT_S = 3.0  # generous: on a busy 2-core machine a first token can take over 1 s


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    with FakeLLMServer() as f:
        yield f


@pytest.fixture(scope="module")
def llm_api(shipped_index, fake) -> InProcessAPI:
    return in_process_api(shipped_index, llm_base_url=fake.url, llm_model="fake", llm_timeout=TIMEOUT_S)


@pytest.fixture(autouse=True)
def closed_circuit(llm_api) -> None:
    llm_api.app.state.service.llm.breaker.reset()


def body(question: str = QUESTION, **extra) -> dict:
    return {"model": "reportqa", "stream": True, "mode": "llm", "messages": [{"role": "user", "content": question}], **extra}


def payloads(lines: Iterable[str]) -> Iterator[dict]:
    """The JSON chunks of an SSE stream, up to `[DONE]`."""
    for line in lines:
        if line.startswith("data:"):
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                return
            yield json.loads(data)


def stream(api: InProcessAPI, **kwargs) -> list[dict]:
    with api.client() as c, c.stream("POST", "/v1/chat/completions", json=body(**kwargs)) as r:
        assert r.status_code == 200, r.read()
        return list(payloads(r.iter_lines()))


def deltas(chunks: list[dict]) -> str:
    return "".join(ch["choices"][0]["delta"].get("content") or "" for ch in chunks)


def figure_reply(prompt: str) -> str:
    return f"川沙新镇1-7月财政总收入为12.42亿元[{passage_number(prompt, '12.42')}]。"


def test_first_token_reaches_the_client_before_the_reply_is_complete(llm_api, fake):
    gate = threading.Event()
    raw: list[str] = []

    def reply(prompt: str) -> str:
        raw.append(figure_reply(prompt))
        return raw[0]

    fake.script(rewrite=REWRITES, answer=Reply(reply, gate=gate))
    with serve_in_thread(llm_api.app) as url, httpx.Client(base_url=url, timeout=60) as c:
        with c.stream("POST", "/v1/chat/completions", json=body()) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            chunks = payloads(r.iter_lines())
            first = next(ch for ch in chunks if ch["choices"][0]["delta"].get("content"))
            # The model sent its first piece and now waits on the gate: its reply is not complete.
            assert fake.streams_finished == 0
            assert first["choices"][0]["delta"]["content"] == raw[0][:3]
            gate.set()
            rest = list(chunks)
    assert not fake.errors and fake.streams_finished == 1
    assert first["choices"][0]["delta"]["content"] + deltas(rest) == raw[0]  # the model's draft, as written
    final = rest[-1]
    assert final["choices"][0]["finish_reason"] == "stop" and final["mode"] == "llm" and final["fallback"] is None
    assert final["answer"] == "川沙新镇1-7月财政总收入为12.42亿元[1]。"  # verified, markers renumbered
    assert [c["n"] for c in final["citations"]] == [1] and "12.42" in final["citations"][0]["quote"]
    assert final["unsupported_sentences"] == []


def test_final_chunk_carries_the_check(llm_api, fake):
    bad = "全年财政总收入预计达到98.76亿元"
    fake.script(rewrite=REWRITES, answer=lambda p: figure_reply(p) + f"{bad}[1]。")
    chunks = stream(llm_api)
    assert bad in deltas(chunks)  # streamed as the model wrote it...
    final = chunks[-1]
    assert [s.rstrip("。") for s in final["unsupported_sentences"]] == [bad]
    assert "98.76" not in final["answer"] and "12.42亿元[1]" in final["answer"]  # ...removed by the check
    assert [("citations" in ch) for ch in chunks] == [False] * (len(chunks) - 1) + [True]


def test_failure_before_the_first_token_streams_the_extractive_answer(llm_api, fake):
    fake.script(rewrite=REWRITES, answer=Reply("boom", status=500))
    chunks = stream(llm_api)
    final = chunks[-1]
    assert final["mode"] == "extractive" and final["fallback"] == "llm_error"
    assert deltas(chunks) == final["answer"] and "12.42亿元" in final["answer"]
    assert final["citations"]


def test_stream_that_breaks_falls_back(llm_api, fake):
    fake.script(rewrite=REWRITES, answer=Reply(figure_reply, break_after=2))
    chunks = stream(llm_api)
    final = chunks[-1]
    assert deltas(chunks).startswith("川沙新")  # the pieces that came before the break were sent
    assert final["mode"] == "extractive" and final["fallback"] == "llm_error"
    assert "12.42亿元" in final["answer"] and final["citations"]


def test_bad_question_is_a_400_before_the_first_byte(llm_api, fake):
    fake.script(rewrite=REWRITES, answer=figure_reply)
    with llm_api.client() as c:
        r = c.post("/v1/chat/completions", json=body("   "))
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["message"] and fake.kinds() == []


def test_openai_client_streams_llm_tokens(llm_api, fake):
    fake.script(rewrite=REWRITES, answer=figure_reply)
    client = openai.OpenAI(base_url=llm_api.url + "/v1", api_key="x", max_retries=0, http_client=llm_api.client())
    chunks = list(client.chat.completions.create(model="reportqa", messages=body()["messages"], stream=True, extra_body={"mode": "llm"}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "12.42亿元[" in "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert chunks[-1].model_extra["answer"] == "川沙新镇1-7月财政总收入为12.42亿元[1]。"


def test_time_to_first_token_is_measured(llm_api, fake):
    def count() -> float:
        with llm_api.client() as c:
            text = c.get("/metrics").text
        line = next((x for x in text.splitlines() if x.startswith("reportqa_llm_ttft_seconds_count")), "x 0")
        return float(line.split()[-1])

    before = count()
    fake.script(rewrite=REWRITES, answer=figure_reply)
    stream(llm_api)
    assert count() == before + 1


# -- the circuit breaker -----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_refuses_and_probes_once():
    clock = Clock()
    breaker = CircuitBreaker(CircuitConfig(failures=2, cooldown=30), clock)
    breaker.failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 29.9
    assert not breaker.allow()
    clock.now = 30.0
    assert breaker.state == "half-open"
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.failure()  # the probe failed: open for another cool-down
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 60.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


def test_dead_llm_costs_one_timeout_then_falls_back_at_once(llm_api, fake):
    breaker = llm_api.app.state.service.llm.breaker
    fake.script(rewrite=Reply(REWRITES, delay=TIMEOUT_S + 2), answer=figure_reply)

    def ask() -> dict:
        with llm_api.client() as c:
            r = c.post("/v1/ask", json={"question": QUESTION, "mode": "llm"})
        assert r.status_code == 200
        return r.json()

    assert ask()["fallback"] == "llm_timeout"
    assert fake.kinds() == ["rewrite"]
    for _ in range(3):  # the circuit is open: no call reaches the LLM
        out = ask()
        assert out["fallback"] == "llm_circuit_open" and out["mode"] == "extractive" and "12.42亿元" in out["answer"]
    chunks = stream(llm_api)
    assert chunks[-1]["fallback"] == "llm_circuit_open" and "12.42亿元" in deltas(chunks)
    assert fake.kinds() == ["rewrite"]
    with llm_api.client() as c:
        assert c.get("/readyz").json()["llm_circuit"] == "open"
    # After the cool-down one probe goes through; the LLM is back, so the circuit closes.
    fake.script(rewrite=REWRITES, answer=figure_reply)
    breaker.clock = lambda: time.monotonic() + 3600
    try:
        assert ask()["mode"] == "llm"
        assert breaker.state == "closed" and fake.kinds() == ["rewrite", "answer"]
    finally:
        breaker.clock = time.monotonic
