"""The FastAPI application: search, passages, documents, ask, and the OpenAI-compatible chat endpoint."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from .chat import chat_completion, chat_stream
from .config import Settings
from .documents_api import install_document_jobs
from .errors import BadRequest, install_error_handlers
from .schemas import (
    AskRequest,
    AskResponse,
    ChatRequest,
    DocumentDetail,
    DocumentSummary,
    ErrorResponse,
    Health,
    ModelCard,
    ModelList,
    Passage,
    Ready,
    SearchResponse,
    check_question,
)
from .service import QAService
from .web_page import install_web_page

MODEL_ID = "reportqa"
_ERRORS = {400: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}


def create_app(settings: Settings | None = None, service: QAService | None = None) -> FastAPI:
    service = service or QAService(settings)
    app = FastAPI(
        title="reportqa",
        version="0.1.0",
        description="Questions in Chinese over government reports; short answers citing the exact source passages.",
        docs_url=None,  # /docs and /redoc come from install_web_page, with their assets served offline
        redoc_url=None,
    )
    app.state.service = service
    app.state.started = int(time.time())
    install_error_handlers(app)

    @app.get("/healthz", response_model=Health, tags=["status"])
    def healthz() -> Health:
        return Health()

    @app.get("/readyz", response_model=Ready, responses=_ERRORS, tags=["status"])
    def readyz() -> Ready:
        return service.ready()

    @app.get("/v1/search", response_model=SearchResponse, responses=_ERRORS, tags=["retrieval"])
    def search(
        q: Annotated[str, Query(description="The question or keywords.")],
        top_k: Annotated[int, Query(ge=1, le=50)] = 10,
        doc_ids: Annotated[list[str] | None, Query(description="Restrict to these documents (repeat or comma-separate).")] = None,
        heading_prefix: Annotated[str | None, Query(max_length=200)] = None,
    ) -> SearchResponse:
        return service.search(_check_query(q), top_k, _split_ids(doc_ids), heading_prefix)

    @app.get("/v1/passages/{passage_id}", response_model=Passage, responses=_ERRORS, tags=["retrieval"])
    def passage(passage_id: str) -> Passage:
        return service.passage(passage_id)

    @app.get("/v1/documents", response_model=list[DocumentSummary], responses=_ERRORS, tags=["documents"])
    def documents() -> list[DocumentSummary]:
        return service.documents()

    @app.get("/v1/documents/{doc_id}", response_model=DocumentDetail, response_model_exclude_none=False, responses=_ERRORS, tags=["documents"])
    def document(doc_id: str, text: bool = False) -> DocumentDetail:
        return service.document(doc_id, with_text=text)

    @app.get("/v1/models", response_model=ModelList, tags=["chat"])
    def models() -> ModelList:
        return ModelList(data=[ModelCard(id=MODEL_ID, created=app.state.started)])

    @app.post("/v1/ask", response_model=AskResponse, responses=_ERRORS, tags=["answering"])
    def ask(req: AskRequest) -> AskResponse:
        return service.ask(req)

    @app.post("/v1/chat/completions", responses=_ERRORS, tags=["chat"])
    def chat(req: ChatRequest, request: Request):
        if req.stream:
            return StreamingResponse(chat_stream(service, req, MODEL_ID), media_type="text/event-stream")
        return JSONResponse(chat_completion(service, req, MODEL_ID))

    install_document_jobs(app, service)
    install_web_page(app)
    return app


def _check_query(q: str) -> str:
    try:
        return check_question(q, name="q")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _split_ids(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    ids = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return ids or None
