"""The `llm` answer mode against a scripted OpenAI-compatible fake (tests/fake_llm_server.py).

The app runs in-process for the module (FastAPI's TestClient) with its LLM settings pointing at the
fake, a real HTTP server on loopback, and a 1 s LLM timeout. Each test scripts the fake's replies per call kind (condense / rewrite / answer,
told apart by their system prompts) and reads back the requests it received.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from conftest import InProcessAPI, in_process_api
from fake_llm_server import FakeLLM, FakeLLMServer, Reply, numbered_passages, passage_number
from qa_service.llm import ANSWER_SYSTEM, CONDENSE_SYSTEM, REWRITE_SYSTEM

QUESTION = "川沙新镇1-7月财政总收入是多少？"
REWRITES = "川沙新镇财政总收入完成情况\n川沙新镇一般公共预算收入"
TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    with FakeLLMServer() as f:
        yield f


@pytest.fixture(scope="module")
def llm_server(shipped_index, fake) -> InProcessAPI:
    return in_process_api(shipped_index, llm_base_url=fake.url, llm_model="fake", llm_api_key="k", llm_timeout=TIMEOUT_S)


@pytest.fixture(autouse=True)
def closed_circuit(request) -> None:
    """Each test starts with the LLM circuit closed: one test's scripted failure must not refuse the next's calls."""
    if "llm_server" in request.fixturenames:
        request.getfixturevalue("llm_server").app.state.service.llm.breaker.reset()


def llm_client(url: str, **config):
    """An LLMClient as the service builds it from Settings (the fake's URL, the 1 s timeout)."""
    from qa_service.config import Settings
    from qa_service.llm import LLMClient

    settings = Settings(llm_base_url=url, llm_model="fake", llm_timeout=TIMEOUT_S, **config)
    return LLMClient(settings.llm_config())


def ask(server: InProcessAPI, **body) -> dict:
    body.setdefault("mode", "llm")
    with server.client() as c:
        r = c.post("/v1/ask", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def answer_prompt(fake: FakeLLM) -> str:
    (req,) = fake.of_kind("answer")
    return req.user


def assert_verified(out: dict) -> None:
    for c in out["citations"]:
        assert c["quote"] and c["quote"] in c["text"]
    assert [c["n"] for c in out["citations"]] == list(range(1, len(out["citations"]) + 1))
    for c in out["citations"]:
        assert f"[{c['n']}]" in out["answer"]


def test_readyz_reports_llm(llm_server):
    with llm_server.client() as c:
        ready = c.get("/readyz").json()
    assert ready["answer_modes"] == ["extractive", "llm"] and ready["llm_model"] == "fake"


def test_correct_reply(llm_server, fake):
    fake.script(
        rewrite=REWRITES,
        answer=lambda prompt: f"川沙新镇1-7月财政总收入为12.42亿元[{passage_number(prompt, '12.42')}]。",
    )
    out = ask(llm_server, question=QUESTION)
    assert not fake.errors
    assert out["mode"] == "llm" and out["fallback"] is None and not out["abstained"]
    assert out["answer"] == "川沙新镇1-7月财政总收入为12.42亿元[1]。"
    assert_verified(out)
    assert "12.42" in out["citations"][0]["quote"]
    assert out["unsupported_sentences"] == []
    assert len(out["retrieved"]) == 10


def test_rewrite_and_answer_requests(llm_server, fake):
    fake.script(rewrite=REWRITES, answer="资料中未找到相关信息。")
    ask(llm_server, question=QUESTION, top_k=4)
    assert fake.kinds() == ["rewrite", "answer"]
    rewrite, answer = fake.requests
    assert rewrite.system == REWRITE_SYSTEM and rewrite.user == QUESTION
    assert answer.system == ANSWER_SYSTEM and answer.body["model"] == "fake"
    assert "[n]" in ANSWER_SYSTEM.replace("[编号]", "[n]") and "资料中未找到" in ANSWER_SYSTEM
    assert answer.user.rstrip().endswith("问题：" + QUESTION)
    assert sorted(numbered_passages(answer.user)) == [1, 2, 3, 4]  # top_k passages, numbered


def test_rewrites_are_used_for_retrieval(llm_server, fake):
    # Everyday wording the reports do not use; the rewrite brings in their vocabulary.
    everyday = "川沙那边今年头七个月一共收上来多少钱？"
    fake.script(rewrite="川沙新镇1-7月财政总收入\n川沙新镇财政收入完成情况", answer="资料中未找到相关信息。")
    with_rewrite = ask(llm_server, question=everyday)
    plain = ask(llm_server, question=everyday, mode="extractive")
    assert fake.kinds() == ["rewrite", "answer"]  # the extractive request made no LLM call

    def has_figure(out: dict) -> bool:
        with llm_server.client() as c:
            return any("12.42亿元" in c.get(f"/v1/passages/{r['passage_id']}").json()["text"] for r in out["retrieved"])

    # Only the rewrites' wording finds the passage with the figure.
    assert has_figure(with_rewrite) and not has_figure(plain)


def test_wrong_markers_removed_and_recited(llm_server, fake):
    def reply(prompt: str) -> str:
        assert len(numbered_passages(prompt)) == 5
        wrong = passage_number(prompt, "13.2", present=False)
        return f"川沙新镇1-7月财政总收入为12.42亿元[9]。财政总收入同比下降13.2%[{wrong}]。"

    fake.script(rewrite=REWRITES, answer=reply)
    out = ask(llm_server, question=QUESTION, top_k=5)
    assert not fake.errors
    assert out["mode"] == "llm" and out["fallback"] is None
    assert "[9]" not in out["answer"]
    assert out["unsupported_sentences"] == []
    assert_verified(out)
    # Both sentences now cite the passage that has their figures.
    assert out["answer"] == "川沙新镇1-7月财政总收入为12.42亿元[1]；财政总收入同比下降13.2%[1]。"
    (cite,) = out["citations"]
    assert "12.42" in cite["text"] and "13.2" in cite["text"]
    assert "12.42" in cite["quote"] and "13.2" in cite["quote"]


def test_figure_in_no_passage_is_unsupported(llm_server, fake):
    bad = "全年财政总收入预计达到98.76亿元"
    fake.script(rewrite=REWRITES, answer=lambda p: f"1-7月财政总收入12.42亿元[{passage_number(p, '12.42')}]。{bad}[1]。")
    out = ask(llm_server, question=QUESTION)
    assert out["mode"] == "llm"
    assert [s.rstrip("。") for s in out["unsupported_sentences"]] == [bad]
    assert out["answer"] == "1-7月财政总收入12.42亿元[1]。"  # removed from the answer (the default)
    with llm_server.client() as c:
        texts = [c.get(f"/v1/passages/{r['passage_id']}").json()["text"] for r in out["retrieved"]]
    assert not any("98.76" in t for t in texts)
    assert_verified(out)
    assert all("98.76" not in c["quote"] for c in out["citations"])


def test_nothing_supported_abstains_but_reports(llm_server, fake):
    fake.script(rewrite=REWRITES, answer="川沙新镇1-7月财政总收入为99.99亿元[1]。")
    out = ask(llm_server, question=QUESTION)
    assert out["mode"] == "llm" and out["abstained"] and out["citations"] == []
    assert out["answer"].startswith("资料中未找到")
    assert out["unsupported_sentences"] == ["川沙新镇1-7月财政总收入为99.99亿元。"]


def test_model_says_not_found(llm_server, fake):
    fake.script(rewrite="上海市人口规划", answer="资料中未找到相关信息。")
    out = ask(llm_server, question="上海市2035年的人口规划目标是多少？")
    assert out["mode"] == "llm" and out["fallback"] is None
    assert out["abstained"] and out["citations"] == [] and out["answer"].startswith("资料中未找到")


def test_slow_answer_falls_back_to_extractive(llm_server, fake):
    fake.script(rewrite=REWRITES, answer=Reply("川沙新镇财政总收入12.42亿元[1]。", delay=TIMEOUT_S + 4))
    out = ask(llm_server, question=QUESTION)
    # `llm_timeout`: the service gave up at its timeout instead of waiting for the reply.
    assert out["mode"] == "extractive" and out["fallback"] == "llm_timeout"
    assert "12.42亿元" in out["answer"] and not out["abstained"]
    assert_verified(out)


def test_slow_rewrite_falls_back_without_answer_call(llm_server, fake):
    fake.script(rewrite=Reply(REWRITES, delay=TIMEOUT_S + 2), answer="川沙新镇财政总收入12.42亿元[1]。")
    out = ask(llm_server, question=QUESTION)
    assert out["mode"] == "extractive" and out["fallback"] == "llm_timeout"
    assert fake.kinds() == ["rewrite"]
    assert "12.42亿元" in out["answer"]


def test_failing_answer_falls_back(llm_server, fake):
    fake.script(rewrite=REWRITES, answer=Reply("boom", status=500))
    out = ask(llm_server, question=QUESTION)
    assert out["mode"] == "extractive" and out["fallback"] == "llm_error"
    assert "12.42亿元" in out["answer"]
    assert_verified(out)


def test_failing_rewrite_falls_back(llm_server, fake):
    fake.script(rewrite=Reply("unavailable", status=503))
    out = ask(llm_server, question=QUESTION)
    assert out["mode"] == "extractive" and out["fallback"] == "llm_error"
    assert fake.kinds() == ["rewrite"]


def test_empty_reply_falls_back(llm_server, fake):
    fake.script(rewrite=REWRITES, answer="")
    out = ask(llm_server, question=QUESTION)
    assert out["mode"] == "extractive" and out["fallback"] and out["fallback"] != "llm_not_configured"
    assert "12.42亿元" in out["answer"]


HISTORY = [
    {"role": "user", "content": QUESTION},
    {"role": "assistant", "content": "1-7月，财政总收入12.42亿元，同比下降13.2%[1]。"},
]


def test_history_uses_llm_condense(llm_server, fake):
    condensed = "川沙新镇1-7月财政总收入同比增长或下降了多少？"
    fake.script(condense=condensed, rewrite=REWRITES, answer=lambda p: f"同比下降13.2%[{passage_number(p, '13.2')}]。")
    out = ask(llm_server, question="它的同比增幅是多少？", history=HISTORY)
    assert not fake.errors
    assert fake.kinds() == ["condense", "rewrite", "answer"]
    condense, rewrite, _ = fake.requests
    assert condense.system == CONDENSE_SYSTEM
    assert QUESTION in condense.user and "它的同比增幅是多少？" in condense.user
    assert rewrite.user == condensed
    assert out["standalone_question"] == condensed
    assert out["mode"] == "llm" and "13.2%" in out["answer"]
    assert_verified(out)


def test_failing_condense_falls_back_to_rules(llm_server, fake):
    fake.script(condense=Reply("down", status=500), rewrite=REWRITES, answer="同比下降13.2%[1]。")
    out = ask(llm_server, question="它的同比增幅是多少？", history=HISTORY)
    assert fake.kinds() == ["condense"]  # the LLM is down: no more calls to it
    assert out["mode"] == "extractive" and out["fallback"] == "llm_error"
    assert "财政总收入" in out["standalone_question"]
    assert "13.2%" in out["answer"]


def test_chat_in_llm_mode_with_openai_client(llm_server, fake):
    fake.script(rewrite=REWRITES, answer=lambda p: f"财政总收入12.42亿元[{passage_number(p, '12.42')}]。")
    client = openai.OpenAI(base_url=llm_server.url + "/v1", api_key="x", max_retries=0, http_client=llm_server.client())
    completion = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}], extra_body={"mode": "llm"})
    assert completion.choices[0].message.content == "财政总收入12.42亿元[1]。"
    assert completion.model_extra["mode"] == "llm" and completion.model_extra["fallback"] is None
    assert "12.42" in completion.model_extra["citations"][0]["quote"]
    # A failing LLM is still a 200 through the chat endpoint, streamed too.
    fake.script(rewrite=REWRITES, answer=Reply(status=500))
    chunks = list(client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}], extra_body={"mode": "llm"}, stream=True))
    assert "12.42亿元" in "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert chunks[-1].model_extra["citations"]


# -- LLMClient in-process (no reportqa server) ---------------------------------------------------


def test_client_rewrite_parsing_keeps_figures(fake):
    fake.script(rewrite="1. 2021年青浦区地区生产总值\n2、 “青浦区GDP增长12.5%”\n\n2021年青浦区地区生产总值\n3. 多余的第三种")
    client = llm_client(fake.url)
    # Numbering and quotes go, a leading year stays; duplicates and the third rewrite are dropped.
    assert client.rewrite("青浦区2021年GDP多少") == ["青浦区2021年GDP多少", "2021年青浦区地区生产总值", "青浦区GDP增长12.5%"]


def test_client_condense_takes_the_question_line(fake):
    from qa_service.schemas import Turn

    client = llm_client(fake.url)
    history = [Turn(role="user", content=QUESTION), Turn(role="assistant", content="12.42亿元[1]")]
    fake.script(condense="改写后的问题：川沙新镇1-7月财政总收入的同比增幅是多少？\n（补全了主语）")
    assert client.condense("它的同比增幅是多少？", history) == "川沙新镇1-7月财政总收入的同比增幅是多少？"
    fake.script(condense="好的。" + "很长的解释" * 60)  # not a question: keep the user's own
    assert client.condense("它的同比增幅是多少？", history) == "它的同比增幅是多少？"


def test_client_unreachable_endpoint_is_llm_error():
    from conftest import free_port
    from qa_service.llm import LLMUnavailable

    client = llm_client(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(LLMUnavailable) as info:
        client.answer(QUESTION, [])
    assert info.value.reason == "llm_error"
