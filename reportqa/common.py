"""What every `reportqa` command shares: consoles, exit codes, error reporting, settings and the index option.

Heavy imports happen inside functions so `reportqa --help` stays instant.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console

EXIT_OK, EXIT_ERROR, EXIT_SKIPPED, EXIT_STRICT = 0, 1, 3, 4

# Off a terminal (a pipe, a file, a CI log) rich would lay tables out for 80 columns (or the width of whatever
# terminal stdin/stderr is attached to) and cut ids with an ellipsis. There, lay them out as wide as their content
# needs and never wrap text, so every id and path can be copied whole.
WIDE = 1000


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's default exits 1; a closed pipe is the reader's choice, not an error
        self.quiet = True
        quiet_broken_pipe()


def make_console(stderr: bool = False) -> Console:
    """A rich Console for stdout (or stderr): the terminal's width on a terminal, nothing cut anywhere else."""
    console = _Console(stderr=stderr)
    if console.is_terminal:
        return console
    return _Console(stderr=stderr, width=WIDE, soft_wrap=True)


err = make_console(stderr=True)

IndexOpt = typer.Option(None, "--index", help="Index directory (default ./index or REPORTQA_INDEX).")


def load_settings():
    from qa_service.config import Settings

    return Settings()


def resolve_index(index: Optional[Path]) -> Path:
    return index if index is not None else load_settings().index


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Libraries that log chatty progress on their own loggers (bm25s forces DEBUG when imported,
    # so import it first and then set the level).
    import bm25s  # noqa: F401

    for name in ("bm25s", "jieba", "sentence_transformers", "httpx", "faiss"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    # soft_wrap: a long path must not be wrapped in the middle of "line N" on a narrow stderr
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def quiet_broken_pipe() -> NoReturn:
    """The reader of stdout went away (`reportqa chunks | head`): stop quietly with exit 0, as Unix filters do.

    Whatever is still buffered for stdout goes to /dev/null, so the interpreter's final flush cannot raise again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # stdout is not a real file (a test runner's buffer)
        pass
    finally:
        os.close(devnull)
    raise typer.Exit(EXIT_OK)


def load_store(index: Optional[Path]):
    from ingest.index_reader import IndexNotFound, read_store
    from ingest.integrity import IndexDamaged

    try:
        settings = load_settings()
        if settings.store != "embedded":
            from qa_service.store import open_store

            return open_store(settings.model_copy(update={"index": resolve_index(index)})).load(load_dense=False)
        return read_store(resolve_index(index))
    except (IndexNotFound, IndexDamaged) as exc:
        fail(str(exc))


def open_service(index: Optional[Path]):
    """A QAService over `index` (default: settings), its index loaded; a CLI error when there is none."""
    from qa_service.errors import IndexUnavailable
    from qa_service.service import QAService

    s = load_settings()
    if index is not None:
        s.index = index
    svc = QAService(s)
    try:
        svc.loaded()
    except IndexUnavailable as exc:
        fail(exc.message)
    return svc
