"""The `llm` answer mode: a llama-index `OpenAILike` LLM at any OpenAI-compatible endpoint.

Passages go into the prompt numbered; the model is told, in Chinese, to cite every claim with [n]
and to say when the passages do not answer (the prompts are in `messages`; reading the model's reply,
its line prefixes and "not found" phrases, is `ingest.zh.answer`'s). Before retrieval, everyday wording is rewritten into the
reports' vocabulary (multi-query). Any failure raises LLMUnavailable with a short reason, and the
service falls back to the extractive answer with `fallback` set to that reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from ingest.models import Chunk
from ingest.zh.answer import MODEL_LINE_PREFIX_RE, MODEL_REPLY_QUOTES

from .messages import (
    ANSWER_SYSTEM,
    CONDENSE_SYSTEM,
    REWRITE_SYSTEM,
    answer_prompt,
    condense_prompt,
    history_line,
    passage_block,
)
from .schemas import Turn

log = logging.getLogger(__name__)

_MAX_REWRITE_CHARS = 200


class LLMUnavailable(Exception):
    """The LLM could not give an answer; `reason` becomes the response's `fallback`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


T = TypeVar("T")


class LLMSession:
    """The LLM for one request: used until its first failure, whose reason becomes the answer's `fallback`.

    A model that is down or slow fails once; skipping its later calls beats waiting out each timeout.
    """

    def __init__(self, client: LLMClient | None, wanted: bool):
        self.client = client if wanted else None
        self.fallback: str | None = "llm_not_configured" if wanted and client is None else None

    @property
    def active(self) -> bool:
        return self.client is not None

    def call(self, step: Callable[[LLMClient], T]) -> T | None:
        """`step(client)`, or None when the LLM is not in use or fails now."""
        if self.client is None:
            return None
        try:
            return step(self.client)
        except LLMUnavailable as exc:
            log.info("LLM fell back: %s", exc.reason)
            self.client, self.fallback = None, exc.reason
            return None


class LLMClient:
    def __init__(self, base_url: str, model: str, api_key: str = "not-needed", timeout: float = 30.0):
        from llama_index.core import Settings as LlamaSettings
        from llama_index.llms.openai_like import OpenAILike

        self.model = model
        self.observer: Callable[[float, bool], None] | None = None  # (seconds, ok) of every call: the app's metrics
        self.llm = OpenAILike(
            model=model,
            api_base=base_url,
            api_key=api_key,
            is_chat_model=True,
            timeout=timeout,
            max_retries=0,
            temperature=0.0,
            context_window=32768,
        )
        LlamaSettings.llm = self.llm

    def _chat(self, system: str, user: str) -> str:
        from llama_index.core.llms import ChatMessage, MessageRole

        started = time.perf_counter()
        try:
            response = self.llm.chat([ChatMessage(role=MessageRole.SYSTEM, content=system), ChatMessage(role=MessageRole.USER, content=user)])
            self._observe(started, ok=True)
        except Exception as exc:  # network, HTTP status, malformed payload: all mean "no answer"
            self._observe(started, ok=False)
            name = type(exc).__name__
            reason = "llm_timeout" if "Timeout" in name or "timed out" in str(exc).lower() else "llm_error"
            log.warning("LLM call failed (%s): %s", reason, exc)
            raise LLMUnavailable(reason) from exc
        text = (response.message.content or "").strip()
        if not text:
            raise LLMUnavailable("llm_empty_reply")
        return text

    def _observe(self, started: float, ok: bool) -> None:
        if self.observer is not None:
            self.observer(time.perf_counter() - started, ok)

    def rewrite(self, question: str) -> list[str]:
        """Report-vocabulary rewrites of the question (the original stays first)."""
        reply = self._chat(REWRITE_SYSTEM, question)
        rewrites: list[str] = []
        for line in reply.splitlines():
            r = _clean_line(line)
            if r and r != question and r not in rewrites and len(r) <= _MAX_REWRITE_CHARS:
                rewrites.append(r)
        return [question] + rewrites[:2]

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        lines = [history_line(t.role, t.content) for t in history[-6:] if t.role in ("user", "assistant")]
        reply = self._chat(CONDENSE_SYSTEM, condense_prompt(lines, question))
        standalone = next((c for c in map(_clean_line, reply.splitlines()) if c), "")
        # A reply that is not a question-sized line (an essay, an answer) is worth less than the original.
        return standalone if 0 < len(standalone) <= _MAX_REWRITE_CHARS else question

    def answer(self, question: str, passages: Sequence[Chunk]) -> str:
        blocks = [passage_block(i, c.doc_title, c.heading_path[1:], c.text) for i, c in enumerate(passages, start=1)]
        return self._chat(ANSWER_SYSTEM, answer_prompt(blocks, question))


def _clean_line(line: str) -> str:
    """One line of a rewrite/condense reply without its numbering, label or quotes.

    Only a leading list number is removed: `2021年…` keeps its year (a plain digit strip would not).
    """
    return MODEL_LINE_PREFIX_RE.sub("", line.strip().strip(MODEL_REPLY_QUOTES)).strip().strip(MODEL_REPLY_QUOTES)
