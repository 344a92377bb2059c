"""Typed payloads of the HTTP API (FastAPI renders them into the OpenAPI docs at /docs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_QUERY_CHARS = 2000


class ErrorBody(BaseModel):
    type: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


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


# -- answering -------------------------------------------------------------------------------


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_ids: list[str] | None = None
    heading_prefix: str | None = Field(None, max_length=200)


class Turn(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str = Field(max_length=20000)


def check_question(value: str, name: str = "question") -> str:
    """The one rule for questions and queries: not blank, at most MAX_QUERY_CHARS characters."""
    if not value.strip():
        raise ValueError(f"{name} must not be empty or blank")
    if len(value) > MAX_QUERY_CHARS:
        raise ValueError(f"{name} is {len(value)} characters; the limit is {MAX_QUERY_CHARS}")
    return value


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str
    top_k: int = Field(5, ge=1, le=20)
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


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.get("text", "") for part in self.content if isinstance(part, dict))
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # OpenAI clients send many optional knobs we ignore
    model: str = "reportqa"
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    top_k: int = Field(5, ge=1, le=20)
    mode: Literal["extractive", "llm"] | None = None
    filters: Filters | None = None
