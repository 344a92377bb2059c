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
    keep: Optional[Path] = typer.Option(
        None, "--keep", help="Keep the synthetic indexes in DIR/synthetic_N and reuse them when present (same N, seed, model)."
    ),
    growth_only: bool = typer.Option(False, "--growth-only", help="Only the --synthetic growth rows (needs --index)."),
    requests: Optional[int] = typer.Option(None, "--requests", min=1, help="Requests per service measurement."),
    workers: Optional[str] = typer.Option(
        None, "--workers", help="Only the /v1/ask load per worker count, e.g. --workers 1,2 (writes bench_workers.json)."
    ),
    concurrency: str = typer.Option("1,8,32,64", "--concurrency", help="With --workers/--uploads: concurrent connections."),
    seconds: float = typer.Option(20.0, "--seconds", min=1, help="With --workers: seconds of load per row."),
    client: str = typer.Option("auto", "--client", help="With --workers/--uploads: load client, wrk | httpx | auto (wrk if installed)."),
    uploads: Optional[int] = typer.Option(
        None, "--uploads", min=1, help="N uploads and N deletes through /v1/documents under /v1/ask load (with --workers: at its largest count)."
    ),
) -> None:
    """Benchmark ingest, retrieval, the HTTP service and index growth; writes bench.json and bench.md.

    With --workers or --uploads, only the load on a real `reportqa serve` (see eval/bench_workers.py)."""
    from eval.bench import BenchConfig, BenchError, render_markdown, run_bench, write_outputs

    if workers or uploads:
        return _bench_load(index, out, workers or "", concurrency, seconds, client, uploads)
    if more_sizes and not synthetic:
        fail("sizes must follow --synthetic, e.g. reportqa bench --synthetic 10000 100000")
    if growth_only and (index is None or not synthetic):
        fail("--growth-only needs --index DIR and --synthetic sizes")
    if index is not None and not (index / "manifest.json").is_file():
        fail(f"no search index in {index}. Build it first: reportqa ingest --index {index}")
    out_dir = out or Path("eval/bench") / time.strftime("%Y%m%d-%H%M%S")
    command = shlex.join(["reportqa", *sys.argv[1:]])
    config = BenchConfig.make(out_dir, command, cli=CLI_COMMAND, index=index,
                              synthetic=[*(synthetic or []), *(more_sizes or [])], quick=quick, requests=requests,
                              keep=keep, growth_only=growth_only)
    try:
        result = run_bench(config, progress=lambda msg: err.print(f"[dim]bench:[/dim] {msg}", highlight=False))
    except BenchError as exc:
        fail(str(exc))
    json_path, md_path = write_outputs(result, out_dir)
    sys.stdout.write(render_markdown(result))
    err.print(f"wrote {json_path} and {md_path}", highlight=False, soft_wrap=True)
    if result["errors"]:
        fail(f"{result['errors']} service request(s) failed (non-200 or exception); see bench.json", EXIT_ERROR)


def _int_list(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        fail(f"{what} takes comma-separated whole numbers, e.g. 1,2")
    if any(v < 1 for v in values):
        fail(f"{what} takes numbers from 1 up")
    return values


def _bench_load(index: Optional[Path], out: Optional[Path], workers: str, concurrency: str, seconds: float,
                client: str, uploads: Optional[int]) -> None:
    """`reportqa bench --workers 1,2 [--uploads 100]`: the load on real servers; bench_workers.json and .md."""
    import json
    import shutil
    import tempfile

    from eval.bench_config import BenchError
    from eval.bench_http import pick_client
    from eval.bench_proc import run_child
    from eval.bench_steps import load_questions
    from eval.bench_workers import bench_uploads, bench_workers, failures, render_workers_markdown

    counts, levels = _int_list(workers, "--workers") or [1], _int_list(concurrency, "--concurrency")
    if not levels:
        fail("--concurrency needs at least one value")
    out_dir = out or Path("eval/bench") / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="reportqa-bench-workers-"))
    say = lambda msg: err.print(f"[dim]bench:[/dim] {msg}", highlight=False)  # noqa: E731
    try:
        chosen = pick_client(client)
        if index is None:
            say("ingest: the shipped reports into a temporary index")
            index = work / "shipped_index"
            run_child([*CLI_COMMAND, "ingest", "--index", str(index)], 1800, "ingest")
        elif not (index / "manifest.json").is_file():
            fail(f"no search index in {index}. Build it first: reportqa ingest --index {index}")
        questions = load_questions()
        from eval.bench_proc import machine_info

        result = {"command": shlex.join(["reportqa", *sys.argv[1:]]), "client": chosen, "machine": machine_info()}
        if workers:
            result["workers"] = bench_workers(CLI_COMMAND, index, questions, counts, levels, seconds, chosen, work, say)
        if uploads:
            result["uploads"] = bench_uploads(CLI_COMMAND, index, questions, uploads, max(counts), max(levels),
                                              chosen, work, say)
    except BenchError as exc:
        fail(str(exc))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (out_dir / "bench_workers.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    markdown = render_workers_markdown(result)
    (out_dir / "bench_workers.md").write_text(markdown, encoding="utf-8")
    sys.stdout.write(markdown)
    err.print(f"wrote {out_dir / 'bench_workers.json'} and {out_dir / 'bench_workers.md'}", highlight=False, soft_wrap=True)
    problems = failures(result)
    if problems:
        fail("; ".join(problems), EXIT_ERROR)
