"""An app from `create_app` served by uvicorn on loopback in a thread of the test process.

For what the in-process TestClient cannot show: it buffers a whole response, so only a socket proves that a
streamed answer's first token reaches the client before the answer is complete. Starting takes milliseconds (no
subprocess, the index is the app's own), so such tests stay in the fast suite.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from conftest import free_port


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """The base URL (`http://127.0.0.1:port`) while the server runs."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the in-thread server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
