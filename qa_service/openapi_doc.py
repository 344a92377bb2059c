"""The OpenAPI schema says what the server enforces (schemathesis `--checks all` holds the server to it).

FastAPI's generated schema needs two corrections:
- Security: routes declare the Bearer scheme through their dependency; with no keys configured nothing is
  enforced, so the declaration is dropped (a schema that demands auth the server ignores is wrong), and
  `/v1/auth` declares the key optional.
- FastAPI adds a 422 `HTTPValidationError` to every operation with parameters. Our 422s use ErrorResponse
  (declared per route), and the OpenAI-compatible routes answer invalid requests with 400, never 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .errors import OPENAI_PATHS

# Routes that read a key when one is sent but need none (`GET /v1/auth` tells a client whether it needs one).
OPTIONAL_AUTH_PATHS = frozenset({"/v1/auth"})


def install_openapi(app: FastAPI, *, keys_required: bool) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = corrected(schema, keys_required=keys_required)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def corrected(schema: dict[str, Any], *, keys_required: bool) -> dict[str, Any]:
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            if not keys_required:
                operation.pop("security", None)
            elif path in OPTIONAL_AUTH_PATHS and "security" in operation:
                operation["security"] = [{}, *operation["security"]]  # `{}`: no key is fine too
            if path in OPENAI_PATHS:
                operation.get("responses", {}).pop("422", None)
    components = schema.get("components", {})
    if not keys_required:
        components.pop("securitySchemes", None)
    if not _references(schema, "#/components/schemas/HTTPValidationError"):
        for name in ("HTTPValidationError", "ValidationError"):
            components.get("schemas", {}).pop(name, None)
    return schema


def _references(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_references(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(_references(v, ref) for v in node)
    return False
