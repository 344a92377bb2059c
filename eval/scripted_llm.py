"""A tiny OpenAI-compatible chat server on loopback whose replies are scripted: the tests' LLM, and the TTFT bench's.

The service makes three kinds of LLM call to the same endpoint (condense, rewrite, answer); the
fake tells them apart by their system prompt, the constants in `qa_service/llm.py`, so one script
can say "rewrite quickly, then fail the answer". Every request is recorded for assertions.

A request with `"stream": true` gets server-sent events, a few characters per event, really streamed: with
`token_delay` between events, and with a `gate` the rest of the reply waits, after the first event, until the
test sets it (so a test can prove the first token reached its client before the reply was complete).

It runs in a thread of the calling process (the app under test runs in-process or as `reportqa serve`), so tests
script it by plain attribute assignment: no control endpoint is needed. tests/fake_llm_server.py re-exports it;
eval/llm_ttft.py measures time-to-first-token against it.
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
    # Streamed replies only:
    token_chars: int = 3  # characters per streamed event
    token_delay: float = 0.0  # seconds between events
    gate: threading.Event | None = None  # after the first event, wait until it is set
    break_after: int | None = None  # drop the connection after this many events (a stream that breaks)


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
    streams_finished: int = 0  # streamed replies sent to their end
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, **replies: Reply | str) -> None:
        """Set the replies for this test (`answer=`, `rewrite=`, `condense=`) and forget old requests."""
        with self.lock:
            self.replies = {k: v if isinstance(v, Reply) else Reply(v) for k, v in replies.items()}
            self.requests = []
            self.errors = []
            self.streams_finished = 0

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
            if body.get("stream"):
                self._stream(reply, content, body.get("model", "fake"))
            else:
                self._send(200, _completion(content, body.get("model", "fake")))

        def _stream(self, reply: Reply, content: str, model: str) -> None:
            """OpenAI's streamed completion: `data: {chunk}` events (chunked transfer), then `data: [DONE]`."""
            pieces = [content[i : i + reply.token_chars] for i in range(0, len(content), reply.token_chars)]
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i, piece in enumerate(pieces):
                    if reply.break_after is not None and i >= reply.break_after:
                        self.close_connection = True
                        return  # no terminating chunk: the client sees the stream break
                    if i == 1 and reply.gate is not None and not reply.gate.wait(timeout=30):
                        fake.errors.append("the gate was never opened")
                    elif i and reply.token_delay:
                        time.sleep(reply.token_delay)
                    self._chunk(_stream_event(piece, model, first=i == 0))
                self._chunk(_stream_event("", model, finish="stop"))
                self._chunk("data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                with fake.lock:
                    fake.streams_finished += 1
            except (BrokenPipeError, ConnectionResetError):
                log.debug("client went away mid-stream")

        def _chunk(self, text: str) -> None:
            data = text.encode("utf-8")
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _stream_event(piece: str, model: str, first: bool = False, finish: str | None = None) -> str:
    delta: dict[str, Any] = {"content": piece} if piece or not finish else {}
    if first:
        delta["role"] = "assistant"
    chunk = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


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


_FENCED_RE = re.compile(r"(?ms)^<<资料 \[(\d+)\] #(\w+)>>\n(.*?)\n<</资料 \[\1\] #\2>>$")


def numbered_passages(prompt: str) -> dict[int, str]:
    """The passages of an answer prompt by their number: the text between a passage's fence lines
    (`<<资料 [n] #fence>>` … `<</资料 [n] #fence>>`), its `出处：` line included."""
    return {int(m.group(1)): m.group(3) for m in _FENCED_RE.finditer(prompt)}


def fences(prompt: str) -> set[str]:
    """The fence tokens of a prompt's passage lines (one per prompt when nothing is forged)."""
    return {m.group(2) for m in _FENCED_RE.finditer(prompt)}


def passage_number(prompt: str, containing: str, present: bool = True) -> int:
    """The first passage number whose block does (or does not) contain `containing`."""
    for n, body in sorted(numbered_passages(prompt).items()):
        if (containing in body) == present:
            return n
    raise AssertionError(f"no passage {'with' if present else 'without'} {containing!r} in the prompt")
