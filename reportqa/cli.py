"""The `reportqa` command: the composition root, the one package that wires ingest, qa_service and eval.

Imports run one way: ingest <- qa_service <- eval <- reportqa. Heavy imports happen inside commands so
`reportqa --help` stays instant.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from reportqa import cli_bench, cli_eval, cli_train
from reportqa.common import (
    EXIT_OK,
    EXIT_SKIPPED,
    EXIT_STRICT,
    IndexOpt,
    err,
    fail,
    load_settings,
    load_store,
    make_console,
    open_service,
    print_json,
    quiet_broken_pipe,
    resolve_index,
    setup_logging,
)


class _Commands(TyperGroup):
    """The app's command group: a reader that closes stdout early (`reportqa chunks | head`) ends the command
    quietly with exit 0 instead of click's bare exit 1."""

    def invoke(self, ctx):
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # here, where a closed pipe is caught, not at interpreter exit
        except BrokenPipeError:
            quiet_broken_pipe()


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    help="Question answering with verified citations over Chinese government reports.",
)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr.")) -> None:
    """reportqa: ingest reports, search them, ask questions with cited answers, evaluate."""
    setup_logging(verbose)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: the shipped reports)."),
    index: Optional[Path] = IndexOpt,
    strict: bool = typer.Option(False, "--strict", help="Any unreadable file aborts (exit 4), the index stays untouched."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    embed_model: Optional[str] = typer.Option(None, "--embed-model", help="sentence-transformers name/path, 'auto' or 'none'."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild everything, retrain the offline model."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="ADDRESS", help="REPORTQA_STORE=milvus: tokenise the upload on this Ray cluster ('local': a Ray started here)."),
) -> None:
    """Parse report files (and the files uploaded over HTTP, kept in the sources folder) and build the search
    index."""
    from ingest.pipeline import shipped_reports_dir

    from reportqa.indexing import build_parsed, parse_inputs
    from reportqa.progress import stage_progress

    settings = load_settings()
    if ray and settings.store != "milvus":
        fail("--ray tokenises the upload to Milvus: set REPORTQA_STORE=milvus (and REPORTQA_MILVUS_URI)")
    index_dir = resolve_index(index)
    inputs = list(paths) if paths else [shipped_reports_dir()]
    missing = [str(p) for p in inputs if not Path(p).exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    started = time.perf_counter()
    with _writing(settings, index_dir, inputs), stage_progress(err, bar=not as_json) as progress:
        parsed = parse_inputs(inputs, settings, progress)
        corpus = parsed.corpus
        if strict and corpus.skipped:
            for s in corpus.skipped:
                err.print(f"[red]unreadable:[/red] {s.path}: {s.reason}", highlight=False)
            fail("--strict: unreadable input, the existing index was left untouched", EXIT_STRICT)
        if not corpus.files:
            for s in corpus.skipped:
                err.print(f"[yellow]skipped:[/yellow] {s.path}: {s.reason}", highlight=False)
            fail("no file could be ingested; nothing was written")
        result = build_parsed(parsed, index_dir, settings, embed_model, rebuild, progress, ray_address=ray)
    summary = _ingest_summary(corpus, parsed.stage_seconds, result, index_dir, time.perf_counter() - started)
    if as_json:
        print_json(summary)
    else:
        _print_ingest_summary(summary)
    raise typer.Exit(EXIT_SKIPPED if corpus.skipped else EXIT_OK)


@contextmanager
def _writing(settings, index_dir: Path, inputs: list[Path]):
    """The whole ingest as one writer (REPORTQA_STORE=milvus: under the store's write lease, so no replica's
    document job lands between reading the uploads and publishing). Documents uploaded over HTTP are part of the
    index: a rebuild keeps them (the sources folder; with Milvus, the uploads the store keeps)."""
    from ingest.milvus_lease import LeaseBusy
    from ingest.milvus_store import MilvusUnavailable
    from qa_service.store import open_store

    settings = settings.model_copy(update={"index": index_dir})
    store = open_store(settings)
    try:
        with store.writing():
            inputs.extend(store.ingest_sources(settings.sources_dir().resolve()))
            yield
    except (LeaseBusy, MilvusUnavailable) as exc:
        fail(str(exc))


def _ingest_summary(corpus, parse_seconds: dict, result, index_dir: Path, seconds: float) -> dict[str, Any]:
    from ingest.models import CHUNK_KINDS

    kinds = {k: 0 for k in CHUNK_KINDS}
    for c in corpus.chunks:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    return {
        "documents": len(corpus.documents),
        "sections": len(corpus.sections),
        "chunks": kinds,
        "glossary_terms": len(corpus.glossary),
        "seconds": round(seconds, 2),
        "stage_seconds": {**parse_seconds, **result.stage_seconds},
        "skipped": [{"path": s.path, "reason": s.reason} for s in corpus.skipped],
        "index": str(index_dir),
        "embedding_model": result.embedding_model,
        "reused_files": result.reused_files,
    }


def _print_ingest_summary(s: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="reportqa ingest", show_header=False)
    table.add_row("documents", str(s["documents"]))
    table.add_row("sections", str(s["sections"]))
    table.add_row("chunks", ", ".join(f"{k} {v}" for k, v in s["chunks"].items()))
    table.add_row("glossary terms", str(s["glossary_terms"]))
    table.add_row("embedding model", str(s["embedding_model"]))
    table.add_row("seconds per stage", ", ".join(f"{k} {v:.2f}" for k, v in s["stage_seconds"].items()))
    table.add_row("total seconds", f"{s['seconds']:.2f}")
    table.add_row("index", s["index"])
    if s["reused_files"]:
        table.add_row("reused unchanged files", str(len(s["reused_files"])))
    err.print(table)
    for sk in s["skipped"]:
        err.print(f"[yellow]skipped:[/yellow] {sk['path']}: {sk['reason']}", highlight=False)


@app.command()
def documents(
    doc_id: Optional[str] = typer.Argument(None, help="Show one document with its outline and text."),
    index: Optional[Path] = IndexOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """List the indexed documents, or show one."""
    from qa_service.documents_view import document_detail, document_summaries

    store = load_store(index)
    if doc_id is None:
        rows = document_summaries(store)
        if as_json:
            print_json([r.model_dump() for r in rows])
            return
        from rich.table import Column, Table

        # ids are never wrapped or cut: they are what the user copies into the next command
        id_column = Column("id", no_wrap=True, min_width=max((len(r.id) for r in rows), default=2))
        table = Table(id_column, "title", "page", "reporter", "chunks")
        for r in rows:
            table.add_row(r.id, r.title, str(r.page or ""), r.reporter or "", str(r.n_chunks))
        make_console().print(table)
        return
    detail = document_detail(store, doc_id, with_text=True)
    if detail is None:
        fail(f"unknown document id: {doc_id!r} (see `reportqa documents`)")
    if as_json:
        print_json(detail.model_dump())
    else:
        console = make_console()
        console.print(f"[bold]{detail.title}[/bold] ({detail.id})", highlight=False)
        console.print(detail.text, highlight=False, markup=False)


@app.command()
def chunks(
    index: Optional[Path] = IndexOpt,
    doc: Optional[str] = typer.Option(None, "--doc", help="Only this document's chunks."),
    as_jsonl: bool = typer.Option(False, "--jsonl", help="One JSON object per chunk on stdout."),
) -> None:
    """Print the index's chunks (id, kind, heading path, start of the text; tab-separated)."""
    store = load_store(index)
    selected = [c for c in store.chunks if doc is None or c.doc_id == doc]
    if doc is not None and not selected and doc not in store.documents:
        fail(f"unknown document id: {doc!r}")
    out = sys.stdout
    for c in selected:
        if as_jsonl:
            out.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        else:
            out.write(f"{c.id}\t{c.kind}\t{' > '.join(c.heading_path)}\t{c.text[:60]!r}\n")


@app.command()
def serve(
    index: Optional[Path] = IndexOpt,
    host: Optional[str] = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 8000)."),
    workers: Optional[int] = typer.Option(
        None, "--workers", min=1, help="Worker processes, each warmed up before it accepts connections (default: the number of cores)."
    ),
    allow_anonymous: bool = typer.Option(
        False, "--allow-anonymous", help="Serve a non-loopback --host with no API keys (everyone gets the admin role)."
    ),
) -> None:
    """Serve the HTTP API (search, passages, documents, ask, OpenAI-compatible chat)."""
    from qa_service.server import single_threaded_blas

    single_threaded_blas()  # before anything loads numpy
    from qa_service import server
    from qa_service.auth import KeyConfigError, KeyStore, anonymous_refusal

    settings = load_settings()
    if index is not None:
        settings.index = index
    settings.allow_anonymous = settings.allow_anonymous or allow_anonymous
    host = host or settings.host
    port = port or settings.port
    n_workers = server.worker_count(settings, workers)
    try:
        refusal = anonymous_refusal(settings, host)
        if refusal:
            fail(refusal)
        keys = KeyStore.from_settings(settings)  # checked here, once, before any worker starts
    except KeyConfigError as exc:
        fail(str(exc))
    if not keys.required:
        err.print("[yellow]note:[/yellow] no API keys are set: every request has the admin role", highlight=False)
    server.prepare_metrics_dir(n_workers)
    app_ = None
    if n_workers == 1:
        app_, error = server.build_app(settings)
        if error is not None:  # still serve: /healthz works and other endpoints answer 503 with the fix
            err.print(f"[yellow]warning:[/yellow] {error}", highlight=False)
    _serve_banner(settings, host, port, n_workers)
    if app_ is not None:
        server.run_single(app_, settings, host, port)
    else:
        server.run_workers(settings, host, port, n_workers)


def _serve_banner(settings: Any, host: str, port: int, workers: int) -> None:
    processes = "1 process" if workers == 1 else f"{workers} worker processes (each warms up before it accepts connections)"
    err.print(f"reportqa serving {settings.index} on http://{host}:{port} with {processes}  (page: http://{host}:{port}/  docs: http://{host}:{port}/docs)", highlight=False, soft_wrap=True)
    err.print(
        f"try: curl -s 'http://{host}:{port}/v1/ask' -H 'Content-Type: application/json' "
        "-d '{\"question\": \"川沙新镇1-7月财政总收入是多少？\"}'",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@app.command()
def search(
    query: str = typer.Argument(..., help="The question or keywords."),
    index: Optional[Path] = IndexOpt,
    top_k: int = typer.Option(10, "--top-k", min=1, max=50, help="How many passages to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """Rank passages for a query (the ranking /v1/ask uses)."""
    if not query.strip():
        fail("the query is empty")
    response = open_service(index).search(query, top_k)
    if as_json:
        print_json(response.model_dump())
        return
    from rich.table import Table

    table = Table("#", "score", "document", "heading path", "snippet", show_lines=False)
    # the passage id (for GET /v1/passages/{id}) is never wrapped or cut
    table.add_column("passage id", no_wrap=True, min_width=max((len(r.passage_id) for r in response.results), default=2))
    for i, r in enumerate(response.results, start=1):
        snippet = r.text.replace("\n", " ")[:60]
        table.add_row(str(i), f"{r.score:.3f}", r.doc_title[:24], " > ".join(r.heading_path[1:])[:30], snippet, r.passage_id)
    make_console().print(table)


@app.command()
def ask(
    question: str = typer.Argument(..., help="问题, in Chinese."),
    index: Optional[Path] = IndexOpt,
    mode: str = typer.Option("extractive", "--mode", help="extractive | llm"),
    top_k: int = typer.Option(5, "--top-k", min=1, max=20, help="How many passages the answer may draw on."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """Answer a question with numbered citations."""
    from pydantic import ValidationError

    from qa_service.schemas import AskRequest

    try:
        req = AskRequest(question=question, mode=mode, top_k=top_k)
    except ValidationError as exc:
        fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))
    res = open_service(index).ask(req)
    if as_json:
        print_json(res.model_dump())
        return
    console = make_console()
    console.print(res.answer, highlight=False, markup=False)
    if res.fallback:
        console.print(f"(fallback: {res.fallback})", style="dim")
    for c in res.citations:
        console.print(f"[{c.n}] 《{c.doc_title}》 {' > '.join(c.heading_path[1:])}", style="bold", highlight=False, markup=False)
        console.print(f"    {c.quote}", highlight=False, markup=False)
    for s in res.unsupported_sentences:
        console.print(f"unsupported: {s}", style="yellow", markup=False)


# The evaluation and benchmark commands live in their own modules of the composition root.
app.command("eval")(cli_eval.eval_cmd)
app.command("compare")(cli_eval.compare_cmd)
app.command("bench")(cli_bench.bench_cmd)
app.command("train-answerer")(cli_train.train_answerer_cmd)


if __name__ == "__main__":
    app(prog_name="reportqa")
