"""`reportqa bench`: part of the composition root (wires ingest, qa_service and eval.bench)."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from reportqa.common import EXIT_ERROR, IndexOpt, err, fail

# How eval.bench runs `reportqa ingest` and `reportqa serve` as a user would: this package, in a child process.
CLI_COMMAND = (sys.executable, "-m", "reportqa")


def bench_cmd(
    index: Optional[Path] = IndexOpt,
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default eval/bench/<timestamp>)."),
    synthetic: list[int] = typer.Option(
        None, "--synthetic", help="Growth sizes in chunks, e.g. --synthetic 10000 100000 1000000.", min=1
    ),
    more_sizes: list[int] = typer.Argument(
        None, metavar="[N]...", help="More --synthetic sizes (so `--synthetic 10000 100000` reads naturally).", min=1
    ),
    quick: bool = typer.Option(False, "--quick", help="A small version of everything (smoke test, ~2 minutes)."),
    requests: Optional[int] = typer.Option(None, "--requests", min=1, help="Requests per service measurement."),
) -> None:
    """Benchmark ingest, retrieval, the HTTP service and index growth; writes bench.json and bench.md."""
    from eval.bench import BenchConfig, BenchError, render_markdown, run_bench, write_outputs

    if more_sizes and not synthetic:
        fail("sizes must follow --synthetic, e.g. reportqa bench --synthetic 10000 100000")
    if index is not None and not (index / "manifest.json").is_file():
        fail(f"no search index in {index}. Build it first: reportqa ingest --index {index}")
    out_dir = out or Path("eval/bench") / time.strftime("%Y%m%d-%H%M%S")
    command = shlex.join(["reportqa", *sys.argv[1:]])
    config = BenchConfig.make(out_dir, command, cli=CLI_COMMAND, index=index,
                              synthetic=[*(synthetic or []), *(more_sizes or [])], quick=quick, requests=requests)
    try:
        result = run_bench(config, progress=lambda msg: err.print(f"[dim]bench:[/dim] {msg}", highlight=False))
    except BenchError as exc:
        fail(str(exc))
    json_path, md_path = write_outputs(result, out_dir)
    sys.stdout.write(render_markdown(result))
    err.print(f"wrote {json_path} and {md_path}", highlight=False, soft_wrap=True)
    if result["errors"]:
        fail(f"{result['errors']} service request(s) failed (non-200 or exception); see bench.json", EXIT_ERROR)
