"""Limits on what one request may cost: its body (size, time to arrive) and a slot of the answering pool.

* `RequestLimits` (ASGI middleware): a body larger than `body_max_bytes` is refused with 413, from its
  Content-Length before anything is read, or, for a chunked body, as soon as the bytes received pass the
  limit (counted as they stream: nothing is buffered first). A body that takes longer than `body_timeout` to
  arrive gets 408. Both responses close the connection, so the rest of the body is never read. Uploads
  (POST /v1/documents) have their own limits, `upload_max_bytes` and `upload_timeout`.
* `AnswerGate`: answering (/v1/ask, /v1/search, /v1/chat/completions) runs on its own threads, at most
  `answer_concurrency` at once, with at most `answer_queue` requests waiting; past that 503 with `Retry-After`.
  Its threads are not the AnyIO pool the other sync routes use, and /healthz and /readyz do not use either,
  so answering work never makes them wait.

Both are per worker process.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from inspect import isawaitable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import Settings
from .errors import Busy, respond

T = TypeVar("T")
UPLOAD_PATH = "/v1/documents"
# Multipart framing (boundaries, part headers) on top of the files' bytes `upload_max_bytes` counts.
_MULTIPART_SLACK = 64 * 1024
_CLOSE = {"Connection": "close"}


class RequestLimits:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.body_max = settings.body_max_bytes
        self.body_timeout = settings.body_timeout
        self.upload_max = settings.upload_max_bytes + _MULTIPART_SLACK
        self.upload_timeout = settings.upload_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"] == UPLOAD_PATH
        limit = self.upload_max if upload else self.body_max
        timeout = self.upload_timeout if upload else self.body_timeout
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = respond(Request(scope), 413, "payload_too_large", _too_large(limit, upload), headers=_CLOSE)
            await response(scope, receive, send)
            return
        await self.app(scope, _limited_receive(receive, limit, timeout, upload), send)


def _limited_receive(receive: Receive, limit: int, timeout: float, upload: bool) -> Receive:
    """`receive` that counts the body's bytes and bounds the time it takes to arrive (the whole body, so a client
    sending a byte now and then cannot hold the request either). After the body, `receive` is passed through
    untimed: a streaming response waits on it for the client's disconnect."""
    received = 0
    deadline: float | None = None
    body_done = False

    async def limited() -> Message:
        nonlocal received, deadline, body_done
        if body_done:
            return await receive()
        if deadline is None:
            deadline = anyio.current_time() + timeout
        with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as scope:
            message = await receive()
        if scope.cancelled_caught:
            raise HTTPException(408, f"the request body did not arrive within {timeout:g} s", headers=_CLOSE)
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, _too_large(limit, upload), headers=_CLOSE)
            body_done = not message.get("more_body", False)
        else:
            body_done = True
        return message

    return limited


def _too_large(limit: int, upload: bool) -> str:
    if upload:
        return f"the upload is larger than {limit - _MULTIPART_SLACK} bytes (REPORTQA_UPLOAD_MAX_BYTES)"
    return f"the request body is larger than {limit} bytes (REPORTQA_BODY_MAX_BYTES)"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects a malformed Content-Length before the app sees it
    return None


class AnswerGate:
    """At most `concurrency` answering calls at once on the gate's own threads, at most `queue` more waiting.

    The in-flight count is only touched on the event loop, so it needs no lock. The AnyIO limiter is made on
    first use, inside the running loop.
    """

    def __init__(self, concurrency: int, queue: int, retry_after: int):
        self.concurrency = concurrency
        self.capacity = concurrency + queue
        self.retry_after = retry_after
        self.in_flight = 0
        self._limiter: anyio.CapacityLimiter | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerGate:
        return cls(settings.answer_concurrency, settings.answer_queue, settings.retry_after)

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.concurrency)
        return self._limiter

    def _admit(self) -> None:
        if self.in_flight >= self.capacity:
            raise Busy(
                f"the service is answering {self.capacity} requests already; retry in {self.retry_after} s",
                self.retry_after,
            )
        self.in_flight += 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on one of the gate's threads, once a slot is free; 503 when too many wait already."""
        self._admit()
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
        finally:
            self._release()

    async def stream(self, fn: Callable[..., Any], *args: Any) -> AsyncIterator[Any]:
        """The stream `fn(*args)` returns (made on a gate thread: it may answer before its first chunk),
        as an async iterator that keeps the request's slot until the stream ends. A synchronous stream's
        chunks are computed on the gate's threads as well; an async one is iterated as it is."""
        self._admit()
        try:
            made = await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
            if isawaitable(made):
                made = await made
        except BaseException:
            self._release()
            raise
        return _HeldStream(self, made)

    def _release(self) -> None:
        self.in_flight -= 1


class _HeldStream:
    """A stream that gives its gate slot back when it ends, fails, is closed, or is dropped unread (a client
    that disconnects before the first chunk: the response never iterates it, and a generator's `finally`
    would never run)."""

    def __init__(self, gate: AnswerGate, chunks: Any):
        self._gate = gate
        self._async = hasattr(chunks, "__aiter__")
        self._chunks = chunks.__aiter__() if self._async else iter(chunks)
        self._held = True

    def __aiter__(self) -> _HeldStream:
        return self

    async def __anext__(self) -> Any:
        try:
            if self._async:
                return await self._chunks.__anext__()
            chunk = await anyio.to_thread.run_sync(next, self._chunks, _END, limiter=self._gate.limiter)
        except BaseException:
            self.release()
            raise
        if chunk is _END:
            self.release()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        self.release()
        close = getattr(self._chunks, "aclose" if self._async else "close", None)
        if close is not None:
            result = close()
            if isawaitable(result):
                await result

    def release(self) -> None:
        if self._held:
            self._held = False
            self._gate._release()

    def __del__(self) -> None:
        self.release()


_END = object()


def retry_after_seconds(seconds: float) -> int:
    """A Retry-After value: whole seconds, at least 1."""
    return max(1, math.ceil(seconds))
