"""OpenAI-compatible chat completions on top of `QAService.ask` (works with the official `openai` client)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from .errors import BadRequest
from .schemas import AskRequest, ChatRequest, Turn
from .service import QAService

_STREAM_PIECE = 24  # characters per streamed delta


def _to_ask(req: ChatRequest) -> AskRequest:
    turns = [m for m in req.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise BadRequest("the last message must be a user message holding the question")
    question = turns[-1].text()
    history = [Turn(role=m.role, content=m.text()) for m in turns[:-1]]
    try:
        return AskRequest(question=question, top_k=req.top_k, history=history or None, mode=req.mode or "extractive", filters=req.filters)
    except ValueError as exc:  # pydantic's ValidationError: blank or over-long question
        raise BadRequest(str(exc).splitlines()[-1].strip().removeprefix("Value error, ")) from None


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
        for i in range(0, len(ask.answer), _STREAM_PIECE):
            yield event({"content": ask.answer[i : i + _STREAM_PIECE]})
        yield event({}, "stop", citations=[c.model_dump() for c in ask.citations], abstained=ask.abstained)
        yield "data: [DONE]\n\n"

    return gen()
