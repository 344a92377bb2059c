"""The service's error hierarchy and the JSON shape every error takes: {"error": {"type", "message"}}."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    # fastapi is imported only where HTTP responses are made: the CLI raises these errors without serving HTTP,
    # and importing fastapi costs ~0.3 s of every `reportqa ask`.
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)


class ServiceError(Exception):
    status = 400
    type = "invalid_request"
    code: str | None = None
    headers: dict[str, str] | None = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status = 404
    type = "not_found"


class IndexUnavailable(ServiceError):
    status = 503
    type = "index_unavailable"


class BadRequest(ServiceError):
    status = 400
    type = "invalid_request"


class InvalidQuestion(ServiceError):
    """A question that breaks the question rule after the request was parsed (e.g. a follow-up made
    standalone grew past the length limit): 422 like a blank question in the request."""

    status = 422
    type = "invalid_request"


class Unauthorized(ServiceError):
    status = 401
    type = "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(ServiceError):
    status = 403
    type = "forbidden"


class Busy(ServiceError):
    """Answering is at its concurrency cap and its queue is full (qa_service.limits): try again shortly."""

    status = 503
    type = "overloaded"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class RateLimited(ServiceError):
    """This API key (or client address) sent more requests than `rate_limit` allows (qa_service.rate_limit)."""

    status = 429
    type = "rate_limit_exceeded"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class ModelNotFound(ServiceError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


# Paths whose errors take OpenAI's shape ({"error": {"message", "type", "param", "code"}}, a superset of
# ours) and where every invalid request is a 400, as the official openai client expects.
OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/models"})


def public_path(path: str | Path) -> str:
    """A server path as a client may see it: relative to the working directory, else only its name
    (responses carry no absolute paths)."""
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return p.name


def error_json(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    from fastapi.responses import JSONResponse

    return JSONResponse(status_code=status, content={"error": {"type": type_, "message": message}}, headers=headers)


def _openai_json(status: int, type_: str, message: str, code: str | None, headers: dict[str, str] | None) -> JSONResponse:
    from fastapi.responses import JSONResponse

    if status in (400, 422):
        status, type_ = 400, "invalid_request_error"
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(status_code=status, content=body, headers=headers)


def respond(request: Request, status: int, type_: str, message: str, *, code: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """The error response for this request's path: OpenAI's shape on the chat API, ours elsewhere."""
    if request.url.path in OPENAI_PATHS:
        return _openai_json(status, type_, message, code, headers)
    return error_json(status, type_, message, headers)


def _describe(errors: list[dict]) -> str:
    parts = []
    for e in errors[:5]:
        # pydantic names the branches of a union in loc (`function-after[check_text(), str]`): not for clients
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path") and "[" not in str(x))
        msg = e.get("msg", "invalid value").removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def allowed_methods(request: Request) -> str:
    """Every method the request's path supports, for a 405's `Allow`. Starlette puts there only the methods of
    the first route matching the path, but GET and POST /v1/documents (and GET and DELETE
    /v1/documents/{doc_id}) are separate routes: the header must list the methods of all of them.
    `iter_route_contexts` also walks the routers included in the app (as the OpenAPI schema is made)."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import compile_path

    path = request.url.path
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.methods and route.path and compile_path(route.path)[0].match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


# The error type of a status raised as an HTTPException (by the framework, or by qa_service.limits while a
# body is read: FastAPI passes HTTPExceptions from body reading through, and turns anything else into 400).
_HTTP_KINDS = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
               413: "payload_too_large"}


def install_error_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return respond(request, exc.status, exc.type, exc.message, code=exc.code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return respond(request, 400, "invalid_json", "the request body is not valid JSON")
        return respond(request, 422, "invalid_request", _describe(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _HTTP_KINDS.get(exc.status_code, "http_error")
        # The headers carry what the status needs: 405's `Allow`, 401's `WWW-Authenticate`.
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return respond(request, exc.status_code, kind, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The trace goes to the server log, never to the client.
        log.exception("unhandled error: %s", exc)
        return respond(request, 500, "internal_error", "internal error; see the server log")
