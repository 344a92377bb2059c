"""OpenAI-compatible chat completions on top of `QAService` (works with the official `openai` client), streamed for real in LLM mode."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from pydantic import ValidationError

from .errors import BadRequest
from .pipeline import PreparedRequest
from .schemas import AskRequest, AskResponse, ChatRequest, Turn
from .service import QAService

log = logging.getLogger(__name__)
_DONE = "data: [DONE]\n\n"

_STREAM_PIECE = 24  # characters per streamed delta
_MAX_HISTORY = 20  # turns kept as history (AskRequest allows 50)
_MAX_TURN_CHARS = 20000  # Turn.content's limit; the tail of a turn carries its last question or answer


def _to_ask(req: ChatRequest) -> AskRequest:
    turns = [m for m in req.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise BadRequest("the last message must be a user message holding the question")
    question = turns[-1].text()
    # Only recent turns matter for resolving a follow-up; a long chat must not fail AskRequest's limits.
    history = [Turn(role=m.role, content=m.text()[-_MAX_TURN_CHARS:]) for m in turns[:-1]][-_MAX_HISTORY:]
    try:
        return AskRequest(question=question, top_k=req.top_k, history=history or None, mode=req.mode or "extractive", filters=req.filters)
    except ValidationError as exc:  # blank or over-long question
        raise BadRequest(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """The validation errors in one line (str(exc) ends with a pydantic docs URL, not the reason)."""
    parts = []
    for e in exc.errors()[:3]:
        where = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "invalid request"


def chat_completion(service: QAService, req: ChatRequest, model_id: str) -> dict[str, Any]:
    ask = service.ask(_to_ask(req))
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_id,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ask.answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **_outcome(ask),
    }


def _outcome(ask: AskResponse) -> dict[str, Any]:
    """What the citation check made of the answer: in a completion, and in a stream's final chunk."""
    return {
        "citations": [c.model_dump() for c in ask.citations],
        "abstained": ask.abstained,
        "abstain_probability": ask.abstain_probability,
        "abstain_reason": ask.abstain_reason,
        "unsupported_sentences": ask.unsupported_sentences,
        "mode": ask.mode,
        "fallback": ask.fallback,
    }


class _Chunks:
    """The server-sent events of one streamed completion (one id and creation time)."""

    def __init__(self, model_id: str):
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model_id = model_id

    def event(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model_id,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def final(self, ask: AskResponse) -> str:
        # `answer`: the verified text. In LLM mode the deltas were the model's draft as it wrote it; the check may
        # since have renumbered its markers, re-cited or removed sentences, so a client shows `answer` in its place.
        return self.event({}, "stop", answer=ask.answer, **_outcome(ask))


def chat_stream(service: QAService, req: ChatRequest, model_id: str) -> Iterator[str] | AsyncIterator[str]:
    """The completion as server-sent events. Everything before the answer (validation, condense, rewrite,
    retrieval) runs before the first byte, so a bad request still gets a 4xx JSON error. In LLM mode the model's
    tokens are sent as it writes them and the citation check's outcome comes in the final chunk; otherwise (or when
    the LLM fails before its first token) the computed answer is sent in pieces."""
    ask_req = _to_ask(req)
    prepared = service.prepare(ask_req)
    chunks = _Chunks(model_id)
    if prepared.llm.active:
        return _llm_stream(service, ask_req, prepared, chunks)
    ask = service.complete(ask_req, prepared)
    return _computed_stream(ask, chunks)


def _computed_stream(ask: AskResponse, chunks: _Chunks) -> Iterator[str]:
    yield chunks.event({"role": "assistant", "content": ""})
    for piece in _pieces(ask.answer):
        yield chunks.event({"content": piece})
    yield chunks.final(ask)
    yield _DONE


async def _llm_stream(service: QAService, ask_req: AskRequest, prepared: PreparedRequest, chunks: _Chunks) -> AsyncIterator[str]:
    yield chunks.event({"role": "assistant", "content": ""})
    ctx = prepared.context
    streamed: list[str] = []
    async for token in prepared.llm.stream(lambda client: client.stream_answer(ctx.analysis.text, ctx.passages)):
        streamed.append(token)
        yield chunks.event({"content": token})
    try:
        # Verification is CPU work: off the event loop.
        ask = await anyio.to_thread.run_sync(service.complete, ask_req, prepared, "".join(streamed) if streamed else None)
    except Exception:  # after the first byte an error can only be an event (the web page shows `error.message`)
        log.exception("streamed answer failed after its first token")
        yield f"data: {json.dumps({'error': {'message': 'the answer could not be completed', 'type': 'server_error'}})}\n\n"
        return
    if not streamed:  # the LLM failed before its first token: the fallback answer, in pieces
        for piece in _pieces(ask.answer):
            yield chunks.event({"content": piece})
    yield chunks.final(ask)
    yield _DONE


def _pieces(text: str, size: int = _STREAM_PIECE) -> list[str]:
    """The answer in deltas of about `size` characters, never cutting a `[n]` marker in two."""
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        open_at = text.rfind("[", start, end)
        if open_at != -1 and "]" not in text[open_at:end]:
            close = text.find("]", end)
            if close != -1 and close - open_at <= 8:
                end = close + 1
        pieces.append(text[start:end])
        start = end
    return pieces
