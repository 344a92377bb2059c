"""/metrics, request ids and the JSON access log, in-process; and the linear-time question-tail pattern."""

from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ingest.zh.lexicon import alternation, words
from qa_service import conversation
from qa_service.access_log import ACCESS_LOGGER, JsonFormatter
from qa_service.app import create_app
from qa_service.config import Settings
from qa_service.metrics import fallback_reason
from qa_service.schemas import Turn
from test_api_contract import call
from tiny_index import build_tiny_index


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("obs") / "index")


@pytest.fixture(scope="module")
def app(tiny_index):
    # An LLM endpoint that refuses connections: every LLM call fails fast and is counted.
    return create_app(Settings(index=tiny_index, llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_timeout=2))


def samples(app) -> dict[tuple[str, frozenset], float]:
    r = call(app, "GET", "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(metrics: dict, name: str, **labels) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_answers_abstentions_and_fallbacks(app):
    before = samples(app)
    assert call(app, "POST", "/v1/ask", json={"question": "六稳是什么？"}).status_code == 200
    # filtered to a document that does not exist: nothing is retrieved, so the answer is an abstention
    abstained = call(app, "POST", "/v1/ask", json={"question": "火星上的人口规划目标是多少？", "filters": {"doc_ids": ["nope"]}}).json()
    assert abstained["abstained"] is True
    llm = call(app, "POST", "/v1/ask", json={"question": "六稳是什么？", "mode": "llm"}).json()
    assert llm["fallback"] == "llm_error"
    call(app, "GET", "/v1/passages/nope")
    after = samples(app)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("reportqa_http_requests_total", route="/v1/ask", method="POST", status="200") == 3
    assert delta("reportqa_http_requests_total", route="/v1/passages/{passage_id}", method="GET", status="404") == 1
    assert delta("reportqa_http_request_duration_seconds_count", route="/v1/ask", method="POST", status="200") == 3
    assert delta("reportqa_http_request_duration_seconds_bucket", route="/v1/ask", method="POST", status="200", le="+Inf") == 3
    assert delta("reportqa_answers_total", mode="extractive") == 3  # the LLM request fell back to extractive
    assert delta("reportqa_abstentions_total", mode="extractive") == 1
    assert delta("reportqa_llm_fallbacks_total", reason="llm_error") == 1
    assert delta("reportqa_llm_request_duration_seconds_count", outcome="failed") >= 1
    build_id = call(app, "GET", "/readyz").json()["build_id"]
    assert value(after, "reportqa_index_build_info", build_id=build_id) == 1


def test_unknown_paths_share_one_label(app):
    for path in ("/nothing/1", "/nothing/2"):
        call(app, "GET", path)
    routes = {dict(labels).get("route") for (name, labels) in samples(app) if name == "reportqa_http_requests_total"}
    assert "unmatched" in routes and not any(r.startswith("/nothing") for r in routes)


def test_fallback_reasons_stay_bounded():
    assert fallback_reason("llm_timeout") == "llm_timeout"
    assert fallback_reason("connection reset by peer: 10.0.0.1") == "other"


@pytest.mark.parametrize("sent,kept", [("req-42.a", True), ("x" * 200, False), ("two words", False), (None, False)])
def test_request_id_is_echoed_or_made(app, sent, kept):
    headers = {"X-Request-ID": sent} if sent else {}
    r = call(app, "GET", "/healthz", headers=headers)
    rid = r.headers["x-request-id"]
    if kept:
        assert rid == sent
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", rid)


def test_errors_carry_the_request_id_too(app):
    r = call(app, "POST", "/v1/ask", json={"question": " "}, headers={"X-Request-ID": "abc"})
    assert r.status_code == 422 and r.headers["x-request-id"] == "abc"


def test_access_log_is_json_with_the_request_id(app, caplog):
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        call(app, "GET", "/v1/search", params={"q": "六稳"}, headers={"X-Request-ID": "trace-1"})
    record = next(r for r in caplog.records if r.name == ACCESS_LOGGER and r.access["request_id"] == "trace-1")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-1" and line["route"] == "/v1/search" and line["status"] == 200
    assert line["method"] == "GET" and line["path"] == "/v1/search" and line["duration_ms"] >= 0 and line["ts"]
    assert "六稳" not in json.dumps(line, ensure_ascii=False)  # the query string (a question) is not logged


# -- a follow-up after a very long turn: a turn longer than a question may be is no subject (not read) --------


def test_follow_up_after_a_20000_character_turn():
    long_turn = Turn(role="user", content="川沙新镇上半年" + "，" * 19_980 + "财政收入是多少？")
    assert conversation.condense("它的同比增幅是多少？", [long_turn]) == "它的同比增幅是多少？"
    question = Turn(role="user", content="川沙新镇上半年财政收入是多少？")
    standalone = conversation.condense("它的同比增幅是多少？", [question, long_turn])
    assert standalone == "川沙新镇上半年财政收入的同比增幅是多少？"
