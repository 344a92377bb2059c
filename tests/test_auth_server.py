"""A real `reportqa serve` with API keys, driven by the official openai client; its JSON access log."""

from __future__ import annotations

import json

import openai
import pytest

from conftest import start_server, stop_server

pytestmark = pytest.mark.slow

KEY = "sk-test-query"
QUESTION = "川沙新镇1-7月财政总收入是多少？"


def test_openai_client_with_a_key_and_the_access_log(shipped_index):
    server = start_server(shipped_index, env={"REPORTQA_API_KEYS": f"{KEY}:query,sk-admin:admin"})
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=60)
        assert [m.id for m in client.models.list()] == ["reportqa"]
        completion = client.chat.completions.create(
            model="reportqa", messages=[{"role": "user", "content": QUESTION}], extra_headers={"X-Request-ID": "openai-1"}
        )
        assert "12.42亿元" in completion.choices[0].message.content
        stream = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}], stream=True)
        assert "12.42亿元" in "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        wrong = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-wrong", max_retries=0, timeout=60)
        with pytest.raises(openai.AuthenticationError) as info:
            wrong.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": QUESTION}])
        assert info.value.status_code == 401 and info.value.response.json()["error"]["message"]
        with pytest.raises(openai.NotFoundError) as info:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
        assert info.value.response.json()["error"]["code"] == "model_not_found"
    finally:
        stop_server(server)
    lines = [json.loads(line) for line in server.stderr().splitlines() if line.startswith("{")]
    line = next(x for x in lines if x.get("request_id") == "openai-1")
    assert line["route"] == "/v1/chat/completions" and line["status"] == 200 and line["role"] == "query"
    assert any(x["status"] == 401 and x["role"] is None for x in lines)
