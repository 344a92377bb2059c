"""A tiny OpenAI-compatible chat server on loopback whose replies are scripted per test.

The service makes three kinds of LLM call to the same endpoint (condense, rewrite, answer); the
fake tells them apart by their system prompt, the constants in `qa_service/llm.py`, so one script
can say "rewrite quickly, then fail the answer". Every request is recorded for assertions.

It runs in a thread of the pytest process (the app under test runs in-process or as `reportqa serve`), so tests
script it by plain attribute assignment: no control endpoint is needed.
"""

from __future__ import annotations

import json
import re
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from typing import Any

from qa_service.llm import ANSWER_SYSTEM, CONDENSE_SYSTEM, REWRITE_SYSTEM

log = logging.getLogger(__name__)

KINDS = {ANSWER_SYSTEM: "answer", REWRITE_SYSTEM: "rewrite", CONDENSE_SYSTEM: "condense"}


@dataclass
class Reply:
    """What the fake answers to one kind of call."""

    content: str | Callable[[str], str] = ""  # a callable gets the request's user message (the prompt)
    status: int = 200
    delay: float = 0.0  # seconds to sleep before replying (to trip the client's timeout)


@dataclass
class Recorded:
    kind: str
    system: str
    user: str
    body: dict[str, Any]


@dataclass
class FakeLLM:
    """Scripted replies per call kind, and every request received (in order)."""

    url: str = ""
    replies: dict[str, Reply] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # exceptions raised by callable scripts
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, **replies: Reply | str) -> None:
        """Set the replies for this test (`answer=`, `rewrite=`, `condense=`) and forget old requests."""
        with self.lock:
            self.replies = {k: v if isinstance(v, Reply) else Reply(v) for k, v in replies.items()}
            self.requests = []
            self.errors = []

    def kinds(self) -> list[str]:
        with self.lock:
            return [r.kind for r in self.requests]

    def of_kind(self, kind: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.kind == kind]

    def _record(self, body: dict[str, Any]) -> tuple[Reply, str]:
        messages = body.get("messages") or []
        system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
        user = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        kind = KINDS.get(system, "unknown")
        with self.lock:
            self.requests.append(Recorded(kind, system, user, body))
            # The reply is chosen when the request arrives, so a slow reply still in flight is
            # not affected by the next test's script.
            return self.replies.get(kind, Reply(status=500, content="unscripted call kind: " + kind)), user


def _completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:  # route http.server's stderr chatter to logging
            log.debug("fake llm: " + fmt, *args)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                log.debug("client went away (it timed out)")

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model", "created": 0, "owned_by": "test"}]})
            else:
                self._send(404, {"error": {"message": "not found", "type": "not_found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found", "type": "not_found"}})
                return
            reply, prompt = fake._record(body)
            try:
                content = reply.content(prompt) if callable(reply.content) else reply.content
            except Exception as exc:  # a broken script must show up in the test, not kill the thread
                log.exception("fake llm script failed")
                fake.errors.append(repr(exc))
                self._send(500, {"error": {"message": f"fake script error: {exc!r}", "type": "server_error"}})
                return
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status != 200:
                self._send(reply.status, {"error": {"message": content or "scripted failure", "type": "server_error"}})
                return
            self._send(200, _completion(content, body.get("model", "fake")))

    return Handler


class FakeLLMServer:
    """Start with `with FakeLLMServer() as fake:`; `fake.url` is the base URL to give the service (…/v1)."""

    def __init__(self) -> None:
        self.fake = FakeLLM()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self._httpd.daemon_threads = True
        self.fake.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-llm", daemon=True)

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def numbered_passages(prompt: str) -> dict[int, str]:
    """The passages of an answer prompt by their number: `[n] 《title》 headings` then the text."""
    blocks = re.split(r"(?m)^\[(\d+)\] 《", prompt.split("\n\n问题：")[0])
    return {int(n): body for n, body in zip(blocks[1::2], blocks[2::2])}


def passage_number(prompt: str, containing: str, present: bool = True) -> int:
    """The first passage number whose block does (or does not) contain `containing`."""
    for n, body in sorted(numbered_passages(prompt).items()):
        if (containing in body) == present:
            return n
    raise AssertionError(f"no passage {'with' if present else 'without'} {containing!r} in the prompt")
