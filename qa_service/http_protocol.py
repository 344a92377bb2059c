"""uvicorn's HTTP protocol with a deadline for request headers, and the uvicorn options carrying the limits
(`uvicorn_limits(settings)`: every way of serving passes them to uvicorn.run / uvicorn.Config, workers included).

uvicorn has no header-read timeout: `timeout_keep_alive` covers only the idle time between requests and is
cancelled by the first byte of the next one, so a client sending a header byte now and then holds its connection
forever (slow-loris), and ASGI middleware cannot help, as it runs only once the headers are parsed. Hence a small
subclass of uvicorn's h11 protocol (the approach of other uvicorn services; uvicorn's own issue on further
timeouts was closed without one). The body's own deadline is ASGI middleware (qa_service.limits), where the
app can still answer 408.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from uvicorn.protocols.http.flow_control import CLOSE_HEADER
from uvicorn.protocols.http.h11_impl import H11Protocol

from .config import Settings

log = logging.getLogger(__name__)


class HeaderDeadlineProtocol(H11Protocol):
    """h11 with a deadline for a request's headers: `header_timeout` seconds from the connection's start, or from
    the first byte after the previous response. A connection still without the next request's headers then is
    closed. That also bounds a client that keeps sending the rest of a body the app refused unread."""

    # The deadline of this process. uvicorn makes protocols from a class (or an import string: its options stay
    # plain values, and reach spawned workers); `uvicorn_limits(settings)` sets it, and a worker process, which
    # does not call that, reads it from the settings its environment gives, as the parent did.
    header_timeout: float | None = None
    # Requests one connection may carry (nginx's keepalive_requests). Workers share one listening socket, and the
    # first worker to wake accepts every pending connection at once; a keep-alive client then stays on it for
    # good: 2 workers served 147 req/s at c=32 under wrk, no more than 1. Closing a connection now and then lets
    # its next one land on the idler worker.
    keep_alive_requests: int | None = None

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any):
        super().__init__(config, *args, **kwargs)
        if HeaderDeadlineProtocol.header_timeout is None or HeaderDeadlineProtocol.keep_alive_requests is None:
            defaults = Settings()
            HeaderDeadlineProtocol.header_timeout = defaults.header_timeout
            HeaderDeadlineProtocol.keep_alive_requests = defaults.keep_alive_requests
        self._header_timeout = HeaderDeadlineProtocol.header_timeout
        self._requests_left = HeaderDeadlineProtocol.keep_alive_requests or 0
        self._counted_cycle: Any = None
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_cycle: Any = None  # the request cycle when the deadline was set: a new one means headers came

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the first byte of the next request (or of a refused body's remainder)
        super().data_received(data)
        if self._deadline is not None and self.cycle is not self._deadline_cycle:
            self._disarm()  # the headers are in: the request is the app's now (its body has its own deadline)
        if self.cycle is not None and self.cycle is not self._counted_cycle:
            self._counted_cycle = self.cycle
            self._requests_left -= 1
            if self._requests_left <= 0:
                self._last_request(self.cycle)

    @staticmethod
    def _last_request(cycle: Any) -> None:
        """The response says `Connection: close` (uvicorn adds it when the request's headers hold it, and h11 then
        closes the connection after the response), so the client opens a new connection for its next request."""
        headers = cycle.scope["headers"]
        if CLOSE_HEADER not in headers:
            cycle.scope["headers"] = [*headers, CLOSE_HEADER]
        cycle.keep_alive = False

    def _arm(self) -> None:
        if self._header_timeout is None:
            return
        self._disarm()
        self._deadline_cycle = self.cycle
        self._deadline = self.loop.call_later(self._header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.cycle is self._deadline_cycle and not self.transport.is_closing():
            log.info("closing a connection whose request headers did not arrive within %g s", self._header_timeout)
            self.transport.close()


def uvicorn_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn.run / uvicorn.Config keyword arguments (plain values) for the server-level limits: the protocol
    above with its header deadline, and the keep-alive timeout. Header size is bounded by h11 itself (16 KiB: a
    longer request line and headers get 400)."""
    HeaderDeadlineProtocol.header_timeout = settings.header_timeout
    HeaderDeadlineProtocol.keep_alive_requests = settings.keep_alive_requests
    return {"http": PROTOCOL, "timeout_keep_alive": settings.keep_alive_timeout}


PROTOCOL = f"{__name__}:{HeaderDeadlineProtocol.__name__}"
