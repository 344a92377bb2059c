"""The `llm` answer mode: a llama-index `OpenAILike` LLM at any OpenAI-compatible endpoint.

Passages go into the prompt numbered; the model is told, in Chinese, to cite every claim with [n]
and to say when the passages do not answer. Before retrieval, everyday wording is rewritten into the
reports' vocabulary (multi-query). Any failure raises LLMUnavailable with a short reason, and the
service falls back to the extractive answer with `fallback` set to that reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from ingest.models import Chunk

from .schemas import Turn

log = logging.getLogger(__name__)

ANSWER_SYSTEM = (
    "你是政府工作报告问答助手。只依据下面编号的资料回答问题，用简短的中文回答。"
    "每一句陈述后面都必须用 [编号] 标注它依据的资料，例如：财政总收入12.42亿元[1]。"
    "数字必须与资料原文一致，并保留单位和时间范围。"
    "如果资料不能回答问题，只回答：资料中未找到相关信息。不要编造。"
)
REWRITE_SYSTEM = (
    "把用户的口语化问题改写成政府工作报告中的正式用语，便于检索。"
    "给出两种改写，每行一种，不要编号，不要解释。"
)
CONDENSE_SYSTEM = (
    "根据对话历史，把用户最后的追问改写成一个完整、独立的问题（补全省略的主语、时间和范围）。"
    "只输出改写后的问题。"
)
# List numbering and labels models put before a line: `1. `, `2、`, `- `, `（1）`, `改写：`, `问题：`.
_LINE_PREFIX_RE = re.compile(r"^\s*(?:[-*•·]\s*|[（(]?\d{1,2}(?:[)）、:：]|\.(?!\d))\s*|(?:改写(?:后的问题)?|独立问题|问题)\s*\d?\s*[:：]\s*)+")
_MAX_REWRITE_CHARS = 200
NOT_FOUND_RE = re.compile(r"资料中未找到|无法回答|没有(?:相关)?信息|未提及|没有提到")


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

        try:
            response = self.llm.chat([ChatMessage(role=MessageRole.SYSTEM, content=system), ChatMessage(role=MessageRole.USER, content=user)])
        except Exception as exc:  # network, HTTP status, malformed payload: all mean "no answer"
            name = type(exc).__name__
            reason = "llm_timeout" if "Timeout" in name or "timed out" in str(exc).lower() else "llm_error"
            log.warning("LLM call failed (%s): %s", reason, exc)
            raise LLMUnavailable(reason) from exc
        text = (response.message.content or "").strip()
        if not text:
            raise LLMUnavailable("llm_empty_reply")
        return text

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
        lines = [f"{'用户' if t.role == 'user' else '助手'}：{t.content}" for t in history[-6:] if t.role in ("user", "assistant")]
        reply = self._chat(CONDENSE_SYSTEM, "\n".join(lines) + f"\n追问：{question}")
        standalone = next((c for c in map(_clean_line, reply.splitlines()) if c), "")
        # A reply that is not a question-sized line (an essay, an answer) is worth less than the original.
        return standalone if 0 < len(standalone) <= _MAX_REWRITE_CHARS else question

    def answer(self, question: str, passages: Sequence[Chunk]) -> str:
        blocks = [f"[{i}] 《{c.doc_title}》 {' > '.join(c.heading_path[1:])}\n{c.text}" for i, c in enumerate(passages, start=1)]
        return self._chat(ANSWER_SYSTEM, "资料：\n" + "\n\n".join(blocks) + f"\n\n问题：{question}")


def _clean_line(line: str) -> str:
    """One line of a rewrite/condense reply without its numbering, label or quotes.

    Only a leading list number is removed: `2021年…` keeps its year (a plain digit strip would not).
    """
    quotes = "“”\"'「」"
    return _LINE_PREFIX_RE.sub("", line.strip().strip(quotes)).strip().strip(quotes)
