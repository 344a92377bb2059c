"""OpenAI-compatible chat completions on top of `QAService.ask` (works with the official `openai` client)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from .errors import BadRequest
from .schemas import AskRequest, ChatRequest, Turn
from .service import QAService

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
        "citations": [c.model_dump() for c in ask.citations],
        "abstained": ask.abstained,
        "abstain_probability": ask.abstain_probability,
        "abstain_reason": ask.abstain_reason,
        "unsupported_sentences": ask.unsupported_sentences,
        "mode": ask.mode,
        "fallback": ask.fallback,
    }


def chat_stream(service: QAService, req: ChatRequest, model_id: str) -> Iterator[str]:
    # Validate and answer before the first byte so a bad request still gets a 4xx JSON error.
    ask = service.ask(_to_ask(req))
    chunk_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model_id,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def gen() -> Iterator[str]:
        yield event({"role": "assistant", "content": ""})
        for piece in _pieces(ask.answer):
            yield event({"content": piece})
        yield event(
            {}, "stop", citations=[c.model_dump() for c in ask.citations], abstained=ask.abstained,
            abstain_probability=ask.abstain_probability, abstain_reason=ask.abstain_reason,
            unsupported_sentences=ask.unsupported_sentences,
        )
        yield "data: [DONE]\n\n"

    return gen()


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
