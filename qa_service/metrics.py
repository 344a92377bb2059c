"""Prometheus metrics (`GET /metrics`): HTTP requests and latency per route and status, answers by mode,
abstentions, LLM fallbacks by reason, LLM latency and time to first token, and the index build in service.

The metric objects live in prometheus-client's default registry. With several worker processes,
`PROMETHEUS_MULTIPROC_DIR` switches prometheus-client to its multiprocess mode and a scrape sums every
worker's files; the build id is the scraped worker's (each worker picks up a new build on its own).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:  # pragma: no cover
    from .schemas import AskResponse
    from .service import QAService

# Seconds: health checks take ~1 ms, extractive answers ~15 ms, LLM answers seconds.
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LLM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

REQUESTS = Counter("reportqa_http_requests", "HTTP requests by route template, method and status.", ["route", "method", "status"])
LATENCY = Histogram(
    "reportqa_http_request_duration_seconds", "HTTP request latency by route template, method and status.",
    ["route", "method", "status"], buckets=_HTTP_BUCKETS,
)
ANSWERS = Counter("reportqa_answers", "Answers given, by the mode that answered (extractive or llm).", ["mode"])
ABSTENTIONS = Counter("reportqa_abstentions", "Answers that abstained (the passages do not answer), by mode.", ["mode"])
FALLBACKS = Counter("reportqa_llm_fallbacks", "LLM-mode requests answered without the model, by reason.", ["reason"])
LLM_LATENCY = Histogram("reportqa_llm_request_duration_seconds", "LLM calls by outcome (ok or failed).", ["outcome"], buckets=_LLM_BUCKETS)
LLM_TTFT = Histogram("reportqa_llm_ttft_seconds", "Seconds from a streamed LLM answer call to its first token.", buckets=_LLM_BUCKETS)

_REASON_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")


class MetricsResponse(Response):
    media_type = CONTENT_TYPE_LATEST


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method, str(status)).observe(seconds)


def observe_answer(response: AskResponse) -> None:
    ANSWERS.labels(response.mode).inc()
    if response.abstained:
        ABSTENTIONS.labels(response.mode).inc()
    if response.fallback:
        FALLBACKS.labels(fallback_reason(response.fallback)).inc()


def observe_llm(seconds: float, ok: bool) -> None:
    LLM_LATENCY.labels("ok" if ok else "failed").observe(seconds)


def observe_llm_ttft(seconds: float) -> None:
    LLM_TTFT.observe(seconds)


def fallback_reason(reason: str) -> str:
    """The label for a fallback reason: reasons are short codes (`llm_timeout`); anything else is `other`,
    so a label can never carry free text or grow without bound."""
    return reason if _REASON_RE.fullmatch(reason) else "other"


class _BuildCollector:
    """`reportqa_index_build_info{build_id="…"} 1` for the index this process serves (nothing before it loads)."""

    def __init__(self, service: QAService):
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("reportqa_index_build_info", "The index build this process serves.", labels=["build_id"])
        build_id = self.service.build_id()
        if build_id is not None:
            family.add_metric([build_id], 1.0)
        yield family


def render(service: QAService) -> MetricsResponse:
    """The scrape: every metric in Prometheus' text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    build = CollectorRegistry()
    build.register(_BuildCollector(service))
    return MetricsResponse(generate_latest(registry) + generate_latest(build))
