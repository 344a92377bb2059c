"""The FastAPI application: search, passages, documents, ask, and the OpenAI-compatible chat endpoint."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import StringConstraints

from . import metrics
from .access_log import RequestObserver
from .auth import KeyStore, bearer, current_role, require_role
from .chat import chat_completion, chat_stream
from .config import Settings
from .documents_api import install_document_jobs
from .errors import InvalidQuestion, ModelNotFound, install_error_handlers
from .limits import AnswerGate, RequestLimits
from .openapi_doc import install_openapi
from .schemas import (
    QUESTION_SCHEMA,
    AskRequest,
    AskResponse,
    AuthStatus,
    ChatRequest,
    DocumentDetail,
    DocumentSummary,
    ErrorResponse,
    Health,
    ModelCard,
    ModelList,
    OpenAIErrorResponse,
    Passage,
    Ready,
    SearchResponse,
    check_question,
)
from .service import QAService
from .web_page import install_web_page

MODEL_ID = "reportqa"
DocIds = Annotated[str, StringConstraints(min_length=1)]  # one value of `doc_ids`: an id, or ids separated by commas
_AUTH = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}}
_ERRORS = {400: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}
# The limits (qa_service.limits, rate_limit): 408/413 for a body too slow or too large, 429 past the rate limit.
_LIMITS = {status: {"model": ErrorResponse} for status in (408, 413, 429)}
_V1_ERRORS = {**_ERRORS, **_AUTH, **_LIMITS}
_CHAT_ERRORS = {status: {"model": OpenAIErrorResponse} for status in (400, 401, 403, 404, 408, 413, 429, 503)}
# One server-sent event: `data:` holds a JSON chunk, the last one `[DONE]`.
_SSE_EVENT = {"type": "object", "required": ["data"], "properties": {"data": {"type": "string"}, "event": {"type": "string"}}}
# A completion is JSON, or with "stream": true server-sent events.
_CHAT_OK = {200: {"content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": _SSE_EVENT}}}}


def create_app(settings: Settings | None = None, service: QAService | None = None) -> FastAPI:
    service = service or QAService(settings)
    settings = service.settings
    app = FastAPI(
        title="reportqa",
        version="0.1.0",
        description="Questions in Chinese over government reports; short answers citing the exact source passages.",
        docs_url=None,  # /docs and /redoc come from install_web_page, with their assets served offline
        redoc_url=None,
    )
    app.state.service = service
    app.state.started = int(time.time())
    app.state.keys = KeyStore.from_settings(settings)
    app.state.answer_gate = AnswerGate.from_settings(settings)
    sys.setswitchinterval(settings.switch_interval)  # the process serves this app: see Settings.switch_interval
    service.answer_observers.append(metrics.observe_answer)
    if service.llm is not None:
        service.llm.observer = metrics.observe_llm
        service.llm.ttft_observer = metrics.observe_llm_ttft
    install_error_handlers(app)
    _install_middleware(app, settings)
    _status_routes(app, service)
    app.include_router(_v1_router(app, service, app.state.answer_gate))
    install_document_jobs(app, service)
    install_web_page(app)
    install_openapi(app, keys_required=app.state.keys.required)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    # Innermost first (each add_middleware wraps the stack): body limits, then rate limits, then CORS (so its
    # headers reach a 429 or 413 too), then the observer.
    app.add_middleware(RequestLimits, settings=settings)
    if settings.rate_limit:
        from .rate_limit import RateLimit

        app.add_middleware(RateLimit, spec=settings.rate_limit, keys=app.state.keys)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:  # off by default: without origins no CORS header is ever sent
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    # Outermost: every response, errors and CORS preflights included, gets a request id, a log line, metrics.
    app.add_middleware(RequestObserver)


def _status_routes(app: FastAPI, service: QAService) -> None:
    """Routes that need no key: liveness, readiness, metrics and who-am-I."""

    # Both run on the event loop and take no thread: answering work (on its own threads, qa_service.limits) and
    # the other routes' threads never make them wait.
    @app.get("/healthz", response_model=Health, tags=["status"])
    async def healthz() -> Health:
        return Health()

    # Loading a build takes seconds: never on the event loop. While the build in service is current (a stat of
    # manifest.json tells), readiness is answered at once; otherwise the load runs on a thread of its own.
    loading = anyio.CapacityLimiter(1)

    @app.get("/readyz", response_model=Ready, responses=_ERRORS, tags=["status"])
    async def readyz() -> Ready:
        ready = service.ready(load=False)
        if ready is None:
            ready = await anyio.to_thread.run_sync(service.ready, limiter=loading)
        return ready

    @app.get("/metrics", tags=["status"], response_class=metrics.MetricsResponse)
    def metrics_() -> metrics.MetricsResponse:
        return metrics.render(service)

    @app.get("/v1/auth", response_model=AuthStatus, tags=["status"])
    def auth(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> AuthStatus:
        """Whether keys are required and the role of the presented key (null: none), so a client knows what to show."""
        return AuthStatus(keys_required=app.state.keys.required, role=current_role(request, credentials))


def _v1_router(app: FastAPI, service: QAService, gate: AnswerGate) -> APIRouter:
    """The data API: every route needs a key with the query role (admin includes it) when keys are set.
    Answering (search, ask, chat) runs through `gate`: capped, and past its queue 503 with Retry-After."""
    v1 = APIRouter(dependencies=[Depends(require_role("query"))])

    @v1.get("/v1/search", response_model=SearchResponse, responses=_V1_ERRORS, tags=["retrieval"])
    async def search(
        request: Request,
        q: Annotated[str, Query(description="The question or keywords.", json_schema_extra=QUESTION_SCHEMA)],
        top_k: Annotated[int, Query(ge=1, le=50)] = 10,
        doc_ids: Annotated[list[DocIds] | None, Query(description="Restrict to these documents (repeat or comma-separate).")] = None,
        heading_prefix: Annotated[str | None, Query(max_length=200)] = None,
    ) -> SearchResponse:
        _single_valued(request, ("q", "top_k", "heading_prefix"))
        return await gate.run(service.search, _check_query(q), top_k, _split_ids(doc_ids), heading_prefix)

    @v1.get("/v1/passages/{passage_id}", response_model=Passage, responses=_V1_ERRORS, tags=["retrieval"])
    def passage(passage_id: str) -> Passage:
        return service.passage(passage_id)

    @v1.get("/v1/documents", response_model=list[DocumentSummary], responses=_V1_ERRORS, tags=["documents"])
    def documents() -> list[DocumentSummary]:
        return service.documents()

    @v1.get("/v1/documents/{doc_id}", response_model=DocumentDetail, response_model_exclude_none=False, responses=_V1_ERRORS, tags=["documents"])
    def document(doc_id: str, text: bool = False) -> DocumentDetail:
        return service.document(doc_id, with_text=text)

    @v1.get("/v1/models", response_model=ModelList, responses=_CHAT_ERRORS, tags=["chat"])
    def models() -> ModelList:
        return ModelList(data=[ModelCard(id=MODEL_ID, created=app.state.started)])

    @v1.post("/v1/ask", response_model=AskResponse, responses=_V1_ERRORS, tags=["answering"])
    async def ask(req: AskRequest) -> AskResponse:
        return await gate.run(service.ask, req)

    @v1.post("/v1/chat/completions", responses={**_CHAT_OK, **_CHAT_ERRORS}, tags=["chat"])
    async def chat(req: ChatRequest):
        """OpenAI's chat completions. Invalid requests are 400 in OpenAI's error shape; `n` must be 1; the
        sampling knobs (`temperature`, `top_p`, penalties, `max_tokens`, `seed`) are range-checked and ignored."""
        if req.model != MODEL_ID:
            raise ModelNotFound(f"The model {req.model!r} does not exist; the one model is {MODEL_ID!r}.")
        if req.stream:
            return StreamingResponse(await gate.stream(chat_stream, service, req, MODEL_ID), media_type="text/event-stream")
        return JSONResponse(await gate.run(chat_completion, service, req, MODEL_ID))

    return v1


def _single_valued(request: Request, names: tuple[str, ...]) -> None:
    """A parameter that takes one value, given twice, is ambiguous (the framework would keep the last): 422."""
    for name in names:
        if len(request.query_params.getlist(name)) > 1:
            raise InvalidQuestion(f"{name} is given more than once; it takes one value")


def _check_query(q: str) -> str:
    try:
        return check_question(q, name="q")
    except ValueError as exc:
        raise InvalidQuestion(str(exc)) from None


def _split_ids(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    ids = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return ids or None
