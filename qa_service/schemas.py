"""Typed payloads of the HTTP API (FastAPI renders them into the OpenAPI docs at /docs)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

MAX_QUERY_CHARS = 2000


class ErrorBody(BaseModel):
    type: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class OpenAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorResponse(BaseModel):
    """Errors of the OpenAI-compatible endpoints, in OpenAI's shape (which includes ours)."""

    error: OpenAIErrorBody


class AuthStatus(BaseModel):
    keys_required: bool
    role: Literal["admin", "query"] | None = Field(description="The presented key's role; null when it has none.")


class Ranks(BaseModel):
    word: int | None = None
    char: int | None = None
    dense: int | None = None


class SearchResult(BaseModel):
    passage_id: str
    doc_id: str
    doc_title: str
    heading_path: list[str]
    kind: str
    text: str
    score: float
    ranks: Ranks


class SearchResponse(BaseModel):
    results: list[SearchResult]


class Passage(BaseModel):
    passage_id: str
    doc_id: str
    doc_title: str
    kind: str
    heading_path: list[str]
    text: str
    start: int
    end: int
    page: int | None
    prev_id: str | None
    next_id: str | None
    parent_id: str | None
    document_url: str


class DocumentSummary(BaseModel):
    id: str
    title: str
    source_file: str
    page: int | None
    date: str | None
    reporter: str | None
    n_sections: int
    n_chunks: int


class DocumentDetail(DocumentSummary):
    outline: list[dict[str, Any]]
    text: str | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "reportqa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    # degraded: the newest build failed verification; the last good build is served and `damage` says why.
    status: Literal["ready", "degraded"] = "ready"
    damage: str | None = None
    index: str
    build_id: str | None
    counts: dict[str, Any]
    embedding_model: str | None
    arms: list[str]
    answer_modes: list[str]
    llm_model: str | None = None
    # The LLM circuit breaker (qa_service.circuit): "open" while LLM-mode requests fall back at once.
    llm_circuit: Literal["closed", "open", "half-open"] | None = None


# -- answering -------------------------------------------------------------------------------


def _non_blank_pattern() -> str:
    """`[^…]` of every character Python counts as white space (`str.strip`): spelled out, because `\\s`
    means different sets in Python, JSON Schema validators and the OpenAPI tools that read the schema."""
    spaces = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
    return "[^" + "".join(f"\\u{ord(ch):04x}" for ch in spaces) + "]"


# A question holds at least one character matching this (searched anywhere in it).
NON_BLANK_PATTERN = _non_blank_pattern()
# What check_question enforces, as the OpenAPI schema states it (a non-space character, the length limit).
QUESTION_SCHEMA = {"minLength": 1, "maxLength": MAX_QUERY_CHARS, "pattern": NON_BLANK_PATTERN}
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def check_text(value: str, name: str = "text") -> str:
    """No lone surrogates: JSON can carry `\\ud800`, but such a string cannot be encoded (the dense arm's
    tokenizer failed on it with a 500)."""
    if _SURROGATE_RE.search(value):
        raise ValueError(f"{name} holds a lone surrogate (an invalid \\u escape)")
    return value


def check_question(value: str, name: str = "question") -> str:
    """The one rule for questions and queries: not blank, at most MAX_QUERY_CHARS characters, valid text."""
    if not value.strip():
        raise ValueError(f"{name} must not be empty or blank")
    if len(value) > MAX_QUERY_CHARS:
        raise ValueError(f"{name} is {len(value)} characters; the limit is {MAX_QUERY_CHARS}")
    return check_text(value, name)


Text = Annotated[str, AfterValidator(check_text)]


# Request bodies are validated strictly: a JSON type is what the schema says (`true` is not the integer 1,
# "5" is not 5), so whatever the OpenAPI schema calls invalid is a 4xx. Numbers stay numbers: JSON Schema
# counts 17.0 as an integer, and so do we (strict floats already take integers).
_STRICT = ConfigDict(strict=True)


def _json_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a JSON number")
    return value


Int = Annotated[int, Field(strict=False), BeforeValidator(_json_number)]


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    doc_ids: list[Text] | None = None
    heading_prefix: Text | None = Field(None, max_length=200)


class Turn(BaseModel):
    model_config = _STRICT
    role: Literal["user", "assistant", "system"]
    content: Text = Field(max_length=20000)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    question: str = Field(json_schema_extra=QUESTION_SCHEMA)
    top_k: Int = Field(5, ge=1, le=20)
    filters: Filters | None = None
    history: list[Turn] | None = Field(None, max_length=50)
    mode: Literal["extractive", "llm"] = "extractive"

    _validate_question = field_validator("question")(classmethod(lambda cls, v: check_question(v)))


class Citation(BaseModel):
    n: int
    passage_id: str
    doc_id: str
    doc_title: str
    heading_path: list[str]
    text: str
    quote: str
    start: int
    end: int
    page: int | None
    score: float


class RetrievedRef(BaseModel):
    passage_id: str
    score: float


class Timings(BaseModel):
    retrieve: float
    answer: float
    total: float


class AskResponse(BaseModel):
    answer: str
    abstained: bool
    # P(the answer is wrong or the question unanswerable) from the answerability model; null from answerers
    # without it (the LLM's answer, the reporter lookup).
    abstain_probability: float | None = Field(None, ge=0.0, le=1.0)
    abstain_reason: str | None = None  # when abstained: the evidence that weighed most, in words
    mode: Literal["extractive", "llm"]
    fallback: str | None
    citations: list[Citation]
    retrieved: list[RetrievedRef]
    unsupported_sentences: list[str]
    timings_ms: Timings
    standalone_question: str | None = None


# -- OpenAI-compatible chat --------------------------------------------------------------------


class ContentPart(BaseModel):
    """One part of a message's content; only `text` parts are read (images and the rest are ignored)."""

    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    text: Text | None = None


class ChatMessage(BaseModel):
    model_config = _STRICT
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Text | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


_IGNORED = "Accepted for compatibility and ignored: answers are extractive or verified, not sampled."


class ChatRequest(BaseModel):
    # OpenAI clients send many optional knobs; unknown ones are ignored. The sampling knobs below are
    # declared so that their ranges are checked (400 outside them) and documented as ignored.
    model_config = ConfigDict(extra="allow", strict=True)
    model: str = Field("reportqa", description="The one model, `reportqa`; any other id is a 404 model_not_found.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    n: Int = Field(1, ge=1, le=1, description="Only one choice is made (n > 1 is a 400).")
    temperature: float | None = Field(None, ge=0, le=2, description=_IGNORED)
    top_p: float | None = Field(None, ge=0, le=1, description=_IGNORED)
    presence_penalty: float | None = Field(None, ge=-2, le=2, description=_IGNORED)
    frequency_penalty: float | None = Field(None, ge=-2, le=2, description=_IGNORED)
    max_tokens: Int | None = Field(None, description=_IGNORED + " The answer is short and never cut.")
    seed: Int | None = Field(None, description=_IGNORED)
    top_k: Int = Field(5, ge=1, le=20)
    mode: Literal["extractive", "llm"] | None = None
    filters: Filters | None = None
