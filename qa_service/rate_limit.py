"""Per-key rate limits on /v1 (`REPORTQA_RATE_LIMIT`, e.g. "20/second;600/minute"): past them 429 with Retry-After.

A request is counted against its API key when it presents a valid one, else against its client address (no
keys configured, or a missing or wrong key: an attacker cycling made-up keys is still one address). The
counters are the `limits` library's sliding-window counters in memory: O(1) per key, expired by the library.
They are per worker process: with N workers a client may get up to N times the limit (README says so).
Behind a reverse proxy, run uvicorn with proxy headers so the client address is the real one.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import KeyStore, key_digest
from .errors import RateLimited, respond
from .limits import retry_after_seconds

LIMITED_PREFIX = "/v1/"


class RateLimit:
    """ASGI middleware; with no limits configured it is not installed at all."""

    def __init__(self, app: ASGIApp, spec: str, keys: KeyStore):
        self.app = app
        self.items: list[RateLimitItem] = parse_many(spec)
        self.keys = keys
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIX):
            await self.app(scope, receive, send)
            return
        refusal = self.check(self.identity(scope))
        if refusal is not None:
            await respond(Request(scope), refusal.status, refusal.type, refusal.message, code=refusal.code,
                          headers=refusal.headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def identity(self, scope: Scope) -> str:
        """`key:<sha256>` for a valid API key, else `ip:<client address>`."""
        key = _bearer(scope)
        if key and self.keys.role_of(key) is not None:
            return "key:" + key_digest(key)
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")

    def check(self, identity: str) -> RateLimited | None:
        """Count one request of `identity`; the refusal when a limit is used up (nothing is counted then)."""
        for item in self.items:
            if not self.limiter.test(item, identity):
                reset = self.limiter.get_window_stats(item, identity).reset_time
                wait = retry_after_seconds(reset - time.time())
                return RateLimited(f"rate limit exceeded ({item}); retry in {wait} s", wait)
        for item in self.items:
            self.limiter.hit(item, identity)
        return None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else None
    return None
