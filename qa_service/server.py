"""Running the HTTP service under uvicorn: one process, or N worker processes sharing one listening socket.

Why uvicorn's own supervisor (`uvicorn.run("qa_service.server:worker_app", factory=True, workers=N)`) and not
gunicorn with UvicornWorker: uvicorn is already a dependency, its supervisor restarts a dead worker, and an app
factory gives each worker its own app without forking a parent that has loaded the index (gunicorn's preload
would share the loaded index copy-on-write, but Python's reference counts soon copy the pages anyway; the big
arrays are memory-mapped files, which every process shares through the page cache in any case).

Warm-up before the first connection: in each worker uvicorn calls the factory (`Server._serve` ->
`config.load()`), then runs lifespan startup, and only then `loop.create_server(sock=...)` on the inherited
socket, which is when the worker starts accepting. `worker_app` warms up (loads the index, answers one question:
jieba's dictionary and the embedding model are loaded) inside the factory, so a worker never accepts a
connection cold; connections that arrive meanwhile wait in the kernel's backlog or go to a worker that is ready.
(uvicorn's plain `--workers` runs no warm-up: each worker's first request paid ~27 s.)

The CLI's settings reach the workers as JSON in an environment variable (the workers are spawned, not forked),
so a `--index` given on the command line holds in every worker.

With several workers, Prometheus' multiprocess mode (qa_service.metrics) needs a folder shared by the workers
(`PROMETHEUS_MULTIPROC_DIR`): the one the operator set, or a temporary one; it is emptied at start.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from .access_log import configure_access_log
from .config import Settings

log = logging.getLogger(__name__)

SETTINGS_ENV = "_REPORTQA_SERVE_SETTINGS"  # private hand-off from `reportqa serve` to its workers, not a setting
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own variable
# uvicorn's supervisor kills a worker that does not answer its health ping in this many seconds. Its default (5 s)
# is shorter than a warm-up on a busy 2-core machine, and a killed worker loses the requests it held.
WORKER_HEALTHCHECK_SECONDS = 60


def worker_count(settings: Settings, requested: int | None = None) -> int:
    """--workers, else REPORTQA_WORKERS, else the number of cores."""
    return requested or settings.workers or os.cpu_count() or 1


def uvicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """The uvicorn.Config keyword arguments of every way of serving (one place for timeouts and limits)."""
    from .http_protocol import uvicorn_limits

    return {"host": host, "port": port, "log_level": "warning",
            "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS, **uvicorn_limits(settings)}


def build_app(settings: Settings) -> tuple[FastAPI, Exception | None]:
    """The app with its access log configured and its service warmed up; the warm-up error, if any (the app
    still serves it: /healthz works and the data endpoints answer 503 with the fix)."""
    from .app import create_app

    app = create_app(settings)
    configure_access_log(settings.access_log)
    try:
        app.state.service.warm_up()
    except Exception as exc:  # noqa: BLE001 - reported by the caller; serving goes on
        return app, exc
    return app, None


# Read by numpy's OpenBLAS (and other BLAS/OpenMP builds) when it is loaded, so set before any import of numpy.
_BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded_blas() -> None:
    """One BLAS thread per serving process, unless the environment says otherwise. A request's products are
    tiny, and OpenBLAS's pool spins: with its default (a thread per core) 2 workers served 162 req/s at c=32 on
    2 cores, no more than 1 worker; with OPENBLAS_NUM_THREADS=1, 317-386 (wrk, 10 s, shipped corpus).
    threadpoolctl's runtime limit did not recover it (154), hence the environment, inherited by the workers."""
    if "numpy" in sys.modules:
        log.debug("numpy is already loaded: the BLAS thread count applies to worker processes only")
    for name in _BLAS_THREAD_VARS:
        os.environ.setdefault(name, "1")


def worker_app() -> FastAPI:
    """uvicorn's app factory in each worker process: the app, warmed up before the worker accepts connections."""
    handed = os.environ.get(SETTINGS_ENV)  # unset when uvicorn is run by hand: then the REPORTQA_* environment
    settings = Settings.model_validate_json(handed) if handed else Settings()
    from .http_protocol import uvicorn_limits

    uvicorn_limits(settings)  # the header deadline is per process: set it here from the handed settings too
    app, error = build_app(settings)
    if error is not None:
        log.warning("worker %d: %s", os.getpid(), error)
    return app


def prepare_metrics_dir(workers: int) -> Path | None:
    """Set up Prometheus' multiprocess folder before any worker starts (None: one process, no folder set).

    A folder the operator set is emptied (the files of a previous run would be summed into this one's); with
    several workers and none set, a temporary folder is made and removed at exit.
    """
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)
        return folder
    if workers <= 1:
        return None
    folder = Path(tempfile.mkdtemp(prefix="reportqa-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    atexit.register(shutil.rmtree, folder, True)
    return folder


def run_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with `workers` processes (> 1); returns when the supervisor stops (SIGINT/SIGTERM).

    What `uvicorn.run(..., workers=N)` does, with one change: the listening socket is marked as TCP (see
    `_tcp_socket`), so asyncio sets TCP_NODELAY on each connection, as it does for one process.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    config = uvicorn.Config("qa_service.server:worker_app", factory=True, workers=workers,
                            **uvicorn_options(settings, host, port))
    try:
        Multiprocess(config, sockets=[_tcp_socket(config.bind_socket())]).run()
    except KeyboardInterrupt:
        pass


def _tcp_socket(sock: socket.socket) -> socket.socket:
    """The same listening socket with its protocol set to IPPROTO_TCP.

    uvicorn binds the shared socket as `socket.socket(family)`, whose `proto` is 0. asyncio sets TCP_NODELAY on
    an accepted connection only when its socket's proto is IPPROTO_TCP, and accepted sockets inherit the
    listening socket's, so every worker connection kept Nagle's algorithm: a response written in two parts
    waited for the client's delayed ACK, ~40 ms per request (17 req/s at concurrency 1 instead of ~70). Reported
    upstream as https://github.com/Kludex/uvicorn/issues/3149; uvicorn 0.55 binds with IPPROTO_TCP, and then this
    returns the socket unchanged (kept for 0.54 and older, which pyproject admits)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


def run_single(app: FastAPI, settings: Settings, host: str, port: int) -> None:
    """Serve `app` (built and warmed up by the caller) in this process."""
    import uvicorn

    uvicorn.run(app, **uvicorn_options(settings, host, port))
