"""The `reportqa` command: the composition root, the one module that wires ingest, qa_service and eval.

Heavy imports happen inside commands so `reportqa --help` stays instant.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Question answering with verified citations over Chinese government reports.")
err = Console(stderr=True)

EXIT_OK, EXIT_ERROR, EXIT_SKIPPED, EXIT_STRICT = 0, 1, 3, 4

IndexOpt = typer.Option(None, "--index", help="Index directory (default ./index or REPORTQA_INDEX).")


def _settings():
    from qa_service.config import Settings

    return Settings()


def _index_dir(index: Optional[Path]) -> Path:
    return index if index is not None else _settings().index


def _setup_logging(verbose: bool = False) -> None:
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


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _fail(message: str, code: int = EXIT_ERROR) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _load_store(index: Optional[Path]):
    from ingest.index_reader import IndexNotFound, read_store

    try:
        return read_store(_index_dir(index))
    except IndexNotFound as exc:
        _fail(str(exc))


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr.")) -> None:
    """reportqa: ingest reports, search them, ask questions with cited answers, evaluate."""
    _setup_logging(verbose)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: the shipped reports)."),
    index: Optional[Path] = IndexOpt,
    strict: bool = typer.Option(False, "--strict", help="Any unreadable file aborts (exit 4), the index stays untouched."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    embed_model: Optional[str] = typer.Option(None, "--embed-model", help="sentence-transformers name/path, 'auto' or 'none'."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild everything, retrain the offline model."),
) -> None:
    """Parse report files and build the search index."""
    from ingest.embeddings import EmbedderUnavailable
    from ingest.index_build import build_index
    from ingest.index_reader import ModelMismatch
    from ingest.pipeline import parse_paths, shipped_reports_dir
    from ingest.publish import IndexBusy

    from qa_service.progress import stage_progress

    settings = _settings()
    index_dir = _index_dir(index)
    inputs = list(paths) if paths else [shipped_reports_dir()]
    missing = [str(p) for p in inputs if not Path(p).exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    started = time.perf_counter()
    with stage_progress(err, enabled=not as_json) as progress:
        parsed = parse_paths(inputs, settings.chunking_config(), progress=progress)
        corpus = parsed.corpus
        if strict and corpus.skipped:
            for s in corpus.skipped:
                err.print(f"[red]unreadable:[/red] {s.path}: {s.reason}", highlight=False)
            _fail("--strict: unreadable input, the existing index was left untouched", EXIT_STRICT)
        if not corpus.files:
            for s in corpus.skipped:
                err.print(f"[yellow]skipped:[/yellow] {s.path}: {s.reason}", highlight=False)
            _fail("no file could be ingested; nothing was written")
        try:
            config = settings.model_copy(update={"index": index_dir}).build_config(embed_model=embed_model, rebuild=rebuild)
            result = build_index(corpus, config, progress=progress)
        except (EmbedderUnavailable, IndexBusy, ModelMismatch) as exc:
            _fail(str(exc))
    summary = _ingest_summary(corpus, parsed.stage_seconds, result, index_dir, time.perf_counter() - started)
    if as_json:
        _print_json(summary)
    else:
        _print_ingest_summary(summary)
    raise typer.Exit(EXIT_SKIPPED if corpus.skipped else EXIT_OK)


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

    store = _load_store(index)
    if doc_id is None:
        rows = document_summaries(store)
        if as_json:
            _print_json([r.model_dump() for r in rows])
            return
        from rich.table import Table

        table = Table("id", "title", "page", "reporter", "chunks")
        for r in rows:
            table.add_row(r.id, r.title, str(r.page or ""), r.reporter or "", str(r.n_chunks))
        Console().print(table)
        return
    detail = document_detail(store, doc_id, with_text=True)
    if detail is None:
        _fail(f"unknown document id: {doc_id!r} (see `reportqa documents`)")
    if as_json:
        _print_json(detail.model_dump())
    else:
        Console().print(f"[bold]{detail.title}[/bold] ({detail.id})")
        Console().print(detail.text, highlight=False, markup=False)


@app.command()
def chunks(
    index: Optional[Path] = IndexOpt,
    doc: Optional[str] = typer.Option(None, "--doc", help="Only this document's chunks."),
    as_jsonl: bool = typer.Option(False, "--jsonl", help="One JSON object per chunk on stdout."),
) -> None:
    """Print the index's chunks."""
    store = _load_store(index)
    selected = [c for c in store.chunks if doc is None or c.doc_id == doc]
    if doc is not None and not selected and doc not in store.documents:
        _fail(f"unknown document id: {doc!r}")
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
) -> None:
    """Serve the HTTP API (search, passages, documents, ask, OpenAI-compatible chat)."""
    import uvicorn

    from qa_service.app import create_app

    settings = _settings()
    if index is not None:
        settings.index = index
    host = host or settings.host
    port = port or settings.port
    app_ = create_app(settings)
    try:
        app_.state.service.warm_up()
    except Exception as exc:  # still serve: /healthz works and other endpoints answer 503 with the fix
        err.print(f"[yellow]warning:[/yellow] {exc}", highlight=False)
    err.print(f"reportqa serving {settings.index} on http://{host}:{port}  (docs: http://{host}:{port}/docs)", highlight=False, soft_wrap=True)
    err.print(
        f"try: curl -s 'http://{host}:{port}/v1/ask' -H 'Content-Type: application/json' "
        "-d '{\"question\": \"川沙新镇1-7月财政总收入是多少？\"}'",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning")


def _service(index: Optional[Path]):
    from qa_service.errors import IndexUnavailable
    from qa_service.service import QAService

    settings = _settings()
    if index is not None:
        settings.index = index
    service = QAService(settings)
    try:
        service.loaded()
    except IndexUnavailable as exc:
        _fail(exc.message)
    return service


@app.command()
def search(
    query: str = typer.Argument(..., help="The question or keywords."),
    index: Optional[Path] = IndexOpt,
    top_k: int = typer.Option(10, "--top-k", min=1, max=50),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rank passages for a query (the ranking /v1/ask uses)."""
    if not query.strip():
        _fail("the query is empty")
    service = _service(index)
    response = service.search(query, top_k)
    if as_json:
        _print_json(response.model_dump())
        return
    from rich.table import Table

    table = Table("#", "score", "document", "heading path", "snippet", show_lines=False)
    for i, r in enumerate(response.results, start=1):
        snippet = r.text.replace("\n", " ")[:60]
        table.add_row(str(i), f"{r.score:.3f}", r.doc_title[:24], " > ".join(r.heading_path[1:])[:30], snippet)
    Console().print(table)


@app.command()
def ask(
    question: str = typer.Argument(..., help="问题, in Chinese."),
    index: Optional[Path] = IndexOpt,
    mode: str = typer.Option("extractive", "--mode", help="extractive | llm"),
    top_k: int = typer.Option(5, "--top-k", min=1, max=20),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Answer a question with numbered citations."""
    from pydantic import ValidationError

    from qa_service.schemas import AskRequest

    try:
        req = AskRequest(question=question, mode=mode, top_k=top_k)
    except ValidationError as exc:
        _fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))
    service = _service(index)
    res = service.ask(req)
    if as_json:
        _print_json(res.model_dump())
        return
    console = Console()
    console.print(res.answer, highlight=False, markup=False)
    if res.fallback:
        console.print(f"(fallback: {res.fallback})", style="dim")
    for c in res.citations:
        console.print(f"[{c.n}] 《{c.doc_title}》 {' > '.join(c.heading_path[1:])}", style="bold", highlight=False, markup=False)
        console.print(f"    {c.quote}", highlight=False, markup=False)
    for s in res.unsupported_sentences:
        console.print(f"unsupported: {s}", style="yellow", markup=False)


# The evaluation commands live in their own module of the composition root.
from qa_service import cli_eval as _cli_eval  # noqa: E402,F401
from qa_service import cli_bench as _cli_bench  # noqa: E402,F401


if __name__ == "__main__":
    # Run through the package module so commands registered by cli_eval land on the same app.
    from qa_service.cli import app as _app

    _app()
