"""Progress of long CLI stages: a rich bar on a terminal (stderr), log records (shown with --verbose) elsewhere."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# The callback ingest.pipeline, ingest.index_build and eval.runner call: (stage, done, total).
ProgressFn = Callable[[str, int, int], None]

log = logging.getLogger(__name__)


def log_stage(stage: str, done: int, total: int) -> None:
    """Log a stage's start and end (not every step: eval reports each of hundreds of items)."""
    if done == 0:
        log.info("%s: started", stage)
    elif done >= total:
        log.info("%s: %d/%d done", stage, done, total)


@contextmanager
def stage_progress(console: Console, bar: bool = True) -> Iterator[ProgressFn]:
    """A progress callback: a transient bar when `bar` and `console` is a terminal, else `log_stage`."""
    if not bar or not console.is_terminal:
        yield log_stage
        return
    with Progress(
        TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as progress:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield update
