"""The LLM client's own asyncio loop, in a daemon thread, and the bridges to it.

llama-index's OpenAILike keeps one AsyncOpenAI (one httpx connection pool) per instance, and a pool is bound to
the loop it was first used on. The pipeline calls the LLM from worker threads (sync routes, the CLI, evals) and
the chat stream from the server's loop, so every LLM coroutine runs on this one loop: sync callers wait on a
future, async callers await it, and a stream's tokens cross to the caller's loop through a queue.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_END = object()


class LoopThread:
    def __init__(self, name: str = "llm-loop"):
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name=self._name, daemon=True).start()
                self._loop = loop
            return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run on the LLM loop and wait (from a thread that is not that loop)."""
        return self.submit(coro).result()

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run on the LLM loop and await it from the caller's loop; cancelling the caller cancels the call."""
        return await asyncio.wrap_future(self.submit(coro))

    async def stream(self, make: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
        """The items of `make()` (an async iterator run on the LLM loop) delivered to the caller's loop as they come.

        An exception of the producer is raised here, after the items before it; when the consumer stops early
        (the HTTP client went away), the producer is cancelled.
        """
        caller = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def put(item: Any) -> None:
            try:
                caller.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the caller's loop is closed: nobody is listening any more
                pass

        async def produce() -> None:
            try:
                async for item in make():
                    put(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # handed to the consumer, which re-raises it
                put(_Raised(exc))
            else:
                put(_END)

        future = self.submit(produce())
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, _Raised):
                    raise item.exc
                yield item
        finally:
            future.cancel()


class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc

