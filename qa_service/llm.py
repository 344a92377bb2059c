"""The `llm` answer mode: a llama-index `OpenAILike` LLM at any OpenAI-compatible endpoint, called asynchronously.

Passages go into the prompt fenced as data (random fence per prompt, neutralised text, a system instruction that
passage text is never an instruction: `messages.ANSWER_SYSTEM`), numbered; the model is told to cite every claim
with [n] and to say when the passages do not answer (reading the model's reply, its line prefixes and "not found"
phrases, is `ingest.zh.answer`'s). Before retrieval, everyday wording is rewritten into the reports' vocabulary
(multi-query). Any failure raises LLMUnavailable with a short reason, and the service falls back to the extractive
answer with `fallback` set to that reason.

Every call runs on the client's own asyncio loop (qa_service.llm_loop) with its own timeout, behind a circuit
breaker shared by all requests (qa_service.circuit): once the endpoint has failed, requests fall back at once with
`llm_circuit_open` instead of each waiting out a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

from ingest.models import Chunk
from ingest.zh.answer import MODEL_LINE_PREFIX_RE, MODEL_REPLY_QUOTES
from ingest.zh.prompt_text import neutralize

from .circuit import CircuitBreaker, CircuitConfig
from .config import LLMConfig
from .llm_loop import LoopThread
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
CIRCUIT_OPEN = "llm_circuit_open"


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
            self.give_up(exc.reason)
            return None

    async def stream(self, step: Callable[[LLMClient], AsyncIterator[str]]) -> AsyncIterator[str]:
        """The tokens of `step(client)`; on a failure the tokens stop and the session gives up (see `fallback`)."""
        if self.client is None:
            return
        try:
            async for token in step(self.client):
                yield token
        except LLMUnavailable as exc:
            self.give_up(exc.reason)

    def give_up(self, reason: str) -> None:
        log.info("LLM fell back: %s", reason)
        self.client, self.fallback = None, reason


def answer_messages(question: str, passages: Sequence[Chunk]) -> tuple[str, str]:
    """(system, user) of the answer call: the passages fenced as data under a fence no document can know."""
    fence = secrets.token_hex(4)
    blocks = [
        passage_block(i, neutralize(c.doc_title), [neutralize(h) for h in c.heading_path[1:]], neutralize(c.text), fence)
        for i, c in enumerate(passages, start=1)
    ]
    return ANSWER_SYSTEM, answer_prompt(blocks, neutralize(question))


class LLMClient:
    def __init__(self, config: LLMConfig):
        import openai.resources  # noqa: F401 - imported lazily by the first call otherwise: ~2 s inside its timeout
        from llama_index.core import Settings as LlamaSettings
        from llama_index.llms.openai_like import OpenAILike

        self.config = config
        self.model = config.model
        self.observer: Callable[[float, bool], None] | None = None  # (seconds, ok) of every call: the app's metrics
        self.ttft_observer: Callable[[float], None] | None = None  # seconds to a streamed reply's first token
        self.breaker = CircuitBreaker(CircuitConfig(config.circuit_failures, config.circuit_cooldown))
        self._loop = LoopThread()
        self.llm = OpenAILike(
            model=config.model,
            api_base=config.base_url,
            api_key=config.api_key,
            is_chat_model=True,
            timeout=config.timeout,
            max_retries=0,  # retries are what made a dead endpoint cost ~30 s per question
            temperature=0.0,
            context_window=32768,
        )
        LlamaSettings.llm = self.llm

    # -- the calls (sync faces for the pipeline's worker threads; the work runs on the LLM loop) --------------

    def rewrite(self, question: str) -> list[str]:
        """Report-vocabulary rewrites of the question (the original stays first)."""
        reply = self._loop.run(self._achat(REWRITE_SYSTEM, question))
        rewrites: list[str] = []
        for line in reply.splitlines():
            r = _clean_line(line)
            if r and r != question and r not in rewrites and len(r) <= _MAX_REWRITE_CHARS:
                rewrites.append(r)
        return [question] + rewrites[:2]

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        lines = [history_line(t.role, t.content) for t in history[-6:] if t.role in ("user", "assistant")]
        reply = self._loop.run(self._achat(CONDENSE_SYSTEM, condense_prompt(lines, question)))
        standalone = next((c for c in map(_clean_line, reply.splitlines()) if c), "")
        # A reply that is not a question-sized line (an essay, an answer) is worth less than the original.
        return standalone if 0 < len(standalone) <= _MAX_REWRITE_CHARS else question

    def answer(self, question: str, passages: Sequence[Chunk]) -> str:
        return self._loop.run(self._achat(*answer_messages(question, passages)))

    def stream_answer(self, question: str, passages: Sequence[Chunk]) -> AsyncIterator[str]:
        """The answer's tokens as the model writes them, delivered to the caller's event loop.

        LLMUnavailable is raised before the first token (the circuit is open, the endpoint failed or timed
        out, the reply is empty) or after some (the stream broke or stalled for longer than the timeout)."""
        system, user = answer_messages(question, passages)
        return self._loop.stream(lambda: self._astream(system, user))

    # -- on the LLM loop ------------------------------------------------------------------------------------

    async def _achat(self, system: str, user: str) -> str:
        self._admit()
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(self.llm.achat(_messages(system, user)), self.config.timeout)
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except Exception as exc:  # network, HTTP status, malformed payload, our timeout: all mean "no answer"
            raise self._failed(started, exc) from exc
        self._succeeded(started)
        text = (response.message.content or "").strip()
        if not text:
            raise LLMUnavailable("llm_empty_reply")
        return text

    async def _astream(self, system: str, user: str) -> AsyncIterator[str]:
        self._admit()
        started = time.perf_counter()
        timeout = self.config.timeout
        got_text = False
        try:
            tokens = (await asyncio.wait_for(self.llm.astream_chat(_messages(system, user)), timeout)).__aiter__()
            while True:
                try:
                    chunk = await asyncio.wait_for(tokens.__anext__(), timeout)  # a stalled stream is a timeout
                except StopAsyncIteration:
                    break
                if chunk.delta:
                    if not got_text and self.ttft_observer is not None:
                        self.ttft_observer(time.perf_counter() - started)
                    got_text = True
                    yield chunk.delta
        except (asyncio.CancelledError, GeneratorExit):
            self.breaker.release()  # the HTTP client went away: says nothing about the LLM
            raise
        except Exception as exc:
            raise self._failed(started, exc) from exc
        self._succeeded(started)
        if not got_text:
            raise LLMUnavailable("llm_empty_reply")

    def _admit(self) -> None:
        if not self.breaker.allow():
            raise LLMUnavailable(CIRCUIT_OPEN)

    def _succeeded(self, started: float) -> None:
        self.breaker.success()
        self._observe(started, ok=True)

    def _failed(self, started: float, exc: Exception) -> LLMUnavailable:
        self.breaker.failure()
        self._observe(started, ok=False)
        name = type(exc).__name__
        reason = "llm_timeout" if "Timeout" in name or "timed out" in str(exc).lower() else "llm_error"
        log.warning("LLM call failed (%s): %s", reason, exc)
        return LLMUnavailable(reason)

    def _observe(self, started: float, ok: bool) -> None:
        if self.observer is not None:
            self.observer(time.perf_counter() - started, ok)


def _messages(system: str, user: str) -> list:
    from llama_index.core.llms import ChatMessage, MessageRole

    return [ChatMessage(role=MessageRole.SYSTEM, content=system), ChatMessage(role=MessageRole.USER, content=user)]


def _clean_line(line: str) -> str:
    """One line of a rewrite/condense reply without its numbering, label or quotes.

    Only a leading list number is removed: `2021年…` keeps its year (a plain digit strip would not).
    """
    return MODEL_LINE_PREFIX_RE.sub("", line.strip().strip(MODEL_REPLY_QUOTES)).strip().strip(MODEL_REPLY_QUOTES)
