"""Per-request observation: a request id (taken from `X-Request-ID` when it is sane, echoed back), one JSON
access-log line, and the HTTP metrics.

A plain ASGI middleware rather than Starlette's BaseHTTPMiddleware: it does not buffer streamed responses
and costs less per request. The log line holds the path but not the query string (it can hold a question).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from logging.handlers import QueueHandler, QueueListener
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics

ACCESS_LOGGER = "reportqa.access"
REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is kept when it is short and plain; anything else (very long, control characters) is replaced.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")

log = logging.getLogger(ACCESS_LOGGER)


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _REQUEST_ID_RE.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    """The route template (`/v1/passages/{passage_id}`), so labels stay few; `unmatched` for unknown paths."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class RequestObserver:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # what the client gets when the app raises past every handler
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = route_of(scope)
            metrics.observe_request(route, scope["method"], status, seconds)
            if log.isEnabledFor(logging.INFO):
                log.info("request", extra={"access": _access_record(scope, request_id, route, status, seconds)})


def _access_record(scope: Scope, request_id: str, route: str, status: int, seconds: float) -> dict[str, Any]:
    client = scope.get("client")
    return {
        "request_id": request_id,
        "method": scope["method"],
        "path": scope.get("path", ""),
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "client": client[0] if client else None,
        "role": scope.get("state", {}).get("role"),
        "pid": os.getpid(),  # which worker process answered (reportqa serve --workers N)
    }


class JsonFormatter(logging.Formatter):
    """One JSON object a line: the time, then the record's `access` fields (or its message)."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")}
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            body.update(access)
        else:
            body.update(level=record.levelname, logger=record.name, message=record.getMessage())
        return json.dumps(body, ensure_ascii=False)


def configure_access_log(enabled: bool = True) -> None:
    """Send access lines to stderr as JSON (once per process); `enabled=False` silences them.

    Requests only put records on a queue; a thread formats and writes them, so a slow or stalled stderr
    never blocks the event loop (a pipe nobody read froze the whole server once it was full).
    """
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.propagate = False
    if not enabled:
        logger.setLevel(logging.WARNING)
        return
    logger.setLevel(logging.INFO)
    if not any(getattr(h, "_reportqa_access", False) for h in logger.handlers):
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(JsonFormatter())
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        handler = _AccessQueueHandler(records)
        handler._reportqa_access = True  # type: ignore[attr-defined]
        listener = QueueListener(records, stream)
        listener.start()  # a daemon thread for the life of the process; at exit it writes what is queued
        atexit.register(listener.stop)
        logger.addHandler(handler)


class _AccessQueueHandler(QueueHandler):
    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # QueueHandler.prepare formats the message into the record (and drops `extra` from nothing):
        # the JSON formatter runs on the listener's thread instead, from the `access` attribute.
        return record
