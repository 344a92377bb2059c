"""The service's error hierarchy and the JSON shape every error takes: {"error": {"type", "message"}}."""

from __future__ import annotations

import logging
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


def error_json(status: int, type_: str, message: str) -> JSONResponse:
    from fastapi.responses import JSONResponse

    return JSONResponse(status_code=status, content={"error": {"type": type_, "message": message}})


def _describe(errors: list[dict]) -> str:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
        msg = e.get("msg", "invalid value").removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return error_json(exc.status, exc.type, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_json(400, "invalid_json", "the request body is not valid JSON")
        return error_json(422, "invalid_request", _describe(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_json(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # The trace goes to the server log, never to the client.
        log.exception("unhandled error: %s", exc)
        return error_json(500, "internal_error", "internal error; see the server log")
