"""`reportqa eval` and `reportqa compare`: part of the composition root (wires qa_service and eval)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from qa_service.cli import IndexOpt, _fail, _service, app, err


def _parse_weights(spec: Optional[str]) -> dict[str, float] | None:
    if not spec:
        return None
    weights = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in ("word", "char", "dense") or not value:
            _fail(f"--weights takes word=W,char=W,dense=W; got {spec!r}")
        weights[name.strip()] = float(value)
    return weights


@app.command("eval")
def eval_cmd(
    dataset: Path = typer.Option(..., "--dataset", help="JSONL dev set (see eval/datasets/reports_dev.jsonl)."),
    index: Optional[Path] = IndexOpt,
    url: Optional[str] = typer.Option(None, "--url", help="Evaluate a running server instead (http://host:port)."),
    mode: str = typer.Option("extractive", "--mode", help="extractive | llm"),
    top_k: int = typer.Option(5, "--top-k", min=1, max=20),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="llamaindex-default | chatchat-style | bm25-only"),
    split: str = typer.Option("all", "--split", help="tune | report | all"),
    retrieval_only: bool = typer.Option(False, "--retrieval-only", help="Only rank passages; no answers."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder (default eval/runs/<timestamp>)."),
    weights: Optional[str] = typer.Option(None, "--weights", help="Override fusion weights, e.g. word=1,char=1,dense=0."),
    no_scope: bool = typer.Option(False, "--no-scope", help="Ablation: disable scope detection."),
    no_boosts: bool = typer.Option(False, "--no-boosts", help="Ablation: disable domain boosts."),
) -> None:
    """Evaluate retrieval (and answers) on a dataset; writes summary.json and results.jsonl."""
    from eval.dataset import DatasetError, load_dataset
    from eval.runner import evaluate_retrieval, write_run
    from eval.systems import ReportQARetrieval

    try:
        items = load_dataset(dataset, split)
    except DatasetError as exc:
        _fail(str(exc))
    if not items:
        _fail(f"no items in {dataset} for split {split!r}")
    service = _service(index)
    retriever = service.loaded().retriever
    w = _parse_weights(weights)
    if w:
        retriever.config.weights = {**retriever.config.weights, **w}
    retriever.config.use_scope = not no_scope
    retriever.config.use_boosts = not no_boosts
    system = ReportQARetrieval(retriever)
    from qa_service.progress import stage_progress

    with stage_progress(err) as progress:
        summary, results = evaluate_retrieval(items, system, top_k=top_k, progress=progress)
    summary["config"] = {
        "system": "reportqa",
        "split": split,
        "top_k": top_k,
        "fusion_weights": retriever.config.weights,
        "scope": retriever.config.use_scope,
        "boosts": retriever.config.use_boosts,
        "index": service.loaded().index.manifest,
    }
    out_dir = out or Path("eval/runs") / time.strftime("%Y%m%d-%H%M%S")
    write_run(out_dir, summary, results)
    _print_retrieval_summary(summary)
    err.print(f"wrote {out_dir}/summary.json", highlight=False)


def _print_retrieval_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"retrieval (n_answerable={summary['n_answerable']})")
    keys = ["hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "context_chars"]
    table.add_column("type")
    for k in keys:
        table.add_column(k, justify="right")
    table.add_row("all", *[str(summary["retrieval"][k]) for k in keys])
    for t, g in summary.get("by_type", {}).items():
        table.add_row(f"{t} ({g['n']})", *[str(g["retrieval"][k]) for k in keys])
    Console().print(table)

