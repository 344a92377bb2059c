"""Calling the app in-process over httpx's ASGI transport (no server, no port), from synchronous tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


def run_with_client(app: Any, body: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run `body(client)` against `app` on a fresh event loop."""

    async def main() -> T:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
            return await body(client)

    return asyncio.run(main())


def request(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to `app`."""
    return run_with_client(app, lambda c: c.request(method, path, **kwargs))
