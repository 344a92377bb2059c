"""A circuit breaker for the LLM endpoint, shared by every request of the process.

closed     calls go through; `failures` consecutive failures open the circuit.
open       calls are refused at once (the request falls back with `llm_circuit_open`) for `cooldown` seconds.
half-open  after the cool-down one call, the probe, goes through (the others are still refused):
           its success closes the circuit, its failure opens it for another cool-down.

So a dead LLM costs one timeout, not one per request. Hand-written (about 60 lines) rather than pybreaker:
pybreaker wraps sync callables (its async support needs tornado), while our calls run on an asyncio loop
and the refusal must be a per-request outcome (a fallback reason), not an exception type of a library.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CircuitConfig:
    failures: int  # consecutive failures that open the circuit
    cooldown: float  # seconds the circuit stays open before a probe is let through


class CircuitBreaker:
    def __init__(self, config: CircuitConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.clock = clock  # tests move time on instead of waiting out the cool-down
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None  # None: closed
        self._probing = False  # a half-open probe is in flight

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.config.cooldown:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """May a call go out now? In half-open state only the first caller (the probe) may."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._probing:
                self._probing = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                log.info("LLM circuit closed: the endpoint answers again")
            self._failures, self._opened_at, self._probing = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.config.failures:
                if self._opened_at is None or self._probing:
                    log.warning("LLM circuit open for %.0f s after %d failure(s)", self.config.cooldown, self._failures)
                self._opened_at = self.clock()
            self._probing = False

    def release(self) -> None:
        """A call that ended neither way (cancelled: the client went away) frees the probe slot."""
        with self._lock:
            self._probing = False

    def reset(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._probing = 0, None, False
