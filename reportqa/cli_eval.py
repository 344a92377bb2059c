"""`reportqa eval` and `reportqa compare`: part of the composition root (wires qa_service and eval)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Optional

import typer
from reportqa.common import IndexOpt, err, fail, make_console, open_service

EXIT_GATE = 2
MODES = ("extractive", "llm")
_DATASET_WHERE_RE = re.compile(r"^(?P<path>.*?):(?P<line>\d+): (?P<msg>.*)$", re.S)


def _parse_weights(spec: Optional[str]) -> dict[str, float] | None:
    if not spec:
        return None
    weights = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in ("word", "char", "dense") or not value:
            fail(f"--weights takes word=W,char=W,dense=W; got {spec!r}")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            fail(f"--weights takes word=W,char=W,dense=W; got {spec!r}")
    return weights


def dataset_error_message(message: str) -> str:
    """`FILE:N: why` from eval.dataset as `dataset FILE line N: why`, so the line number reads plainly."""
    m = _DATASET_WHERE_RE.match(message)
    if not m:
        return message
    return f"dataset {m['path']} line {m['line']}: {m['msg']}"


def _load_thresholds(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"--gate: no such file {path}")
    except json.JSONDecodeError as exc:
        fail(f"--gate: {path} is not valid JSON ({exc.msg}, line {exc.lineno})")
    if not isinstance(data, dict):
        fail(f"--gate: {path} must hold a JSON object")
    return data


def eval_cmd(
    dataset: Optional[Path] = typer.Option(
        None, "--dataset", help="JSONL dev set: a file, or the name of a packaged one (reports_dev)."
    ),
    index: Optional[Path] = IndexOpt,
    url: Optional[str] = typer.Option(None, "--url", help="Evaluate a running server instead (http://host:port)."),
    mode: str = typer.Option("extractive", "--mode", help="extractive | llm"),
    top_k: int = typer.Option(5, "--top-k", min=1, max=20, help="Passages each answer may draw on."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="llamaindex-default | chatchat-style | bm25-only | best-sentence "
        "(word-BM25 top 3, the sentence with the most question bigrams, never abstaining)"),
    split: str = typer.Option("all", "--split", help="tune | report | all"),
    retrieval_only: bool = typer.Option(False, "--retrieval-only", help="Only rank passages; no answers."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder (default eval/runs/<timestamp>)."),
    gate: Optional[Path] = typer.Option(None, "--gate", help="Metric floors (eval/thresholds.json); exit 2 when one is missed."),
    write_gate: Optional[Path] = typer.Option(None, "--write-gate", help="Write gate bounds measured by this run (0.03 margin) to FILE."),
    weights: Optional[str] = typer.Option(None, "--weights", help="Override fusion weights, e.g. word=1,char=1,dense=0."),
    no_scope: bool = typer.Option(False, "--no-scope", help="Ablation: disable scope detection."),
    no_boosts: bool = typer.Option(False, "--no-boosts", help="Ablation: disable domain boosts."),
    squad: Optional[Path] = typer.Option(
        None, "--squad", help="Instead of --dataset: a SQuAD-format JSON (CMRC 2018, DRCD) run open-domain, every "
        "paragraph a document; --index is then the folder for its built corpora (default: <out>/../squad-cache)."
    ),
    withhold: float = typer.Option(0.3, "--withhold", min=0.0, max=0.9, help="--squad: share of paragraphs left out of the index (their questions become unanswerable)."),
    seed: int = typer.Option(0, "--seed", help="--squad: seed of the random choice of withheld paragraphs."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="--squad: evaluate only the first N questions."),
) -> None:
    """Evaluate retrieval, answers, citations and abstention on a dataset; writes a run folder with report.md."""
    from eval.metrics import thresholds_from

    _check_options(mode, baseline, url, index is not None or bool(baseline or weights or no_scope or no_boosts))
    if (dataset is None) == (squad is None):
        fail("give exactly one of --dataset FILE and --squad FILE")
    if squad is not None and url:
        fail("--squad builds its own index of the set's paragraphs; it cannot evaluate a running server (--url)")
    out_dir = out or Path("eval/runs") / time.strftime("%Y%m%d-%H%M%S")
    run_config: dict[str, Any] = {"dataset": str(dataset or squad), "split": split, "mode": "retrieval-only" if retrieval_only else mode, "top_k": top_k}
    if squad is not None:
        from reportqa.cli_squad import default_cache_root, prepare_squad

        items, index, run_config["squad"] = prepare_squad(squad, withhold, seed, limit, index or default_cache_root(out_dir), out_dir)
    else:
        items = _load_items(dataset, split)  # every line is validated before anything is loaded or evaluated
    thresholds = _load_thresholds(gate) if gate else None
    system, closer = _build_system(index, url, baseline, top_k, weights, no_scope, no_boosts)
    summary, results = _run(items, system, closer, mode, retrieval_only, run_config)
    _write_outputs(out_dir, summary, results)
    if write_gate is not None:
        _write_gate(write_gate, summary, thresholds_from(summary), dataset or squad, split)
    if thresholds is not None:
        _check_gate(summary, thresholds, gate)


def _check_options(mode: str, baseline: Optional[str], url: Optional[str], in_process_options: bool) -> None:
    from eval.baselines import BASELINES

    if mode not in MODES:
        fail(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if baseline is not None and baseline not in BASELINES:
        fail(f"--baseline must be one of {', '.join(BASELINES)}, got {baseline!r}")
    if url and in_process_options:
        fail("--url evaluates the running server as it is; --index, --baseline and the tuning options need an in-process index")
    if baseline and mode != "extractive":
        fail("baselines answer extractively only; drop --mode llm")


def _load_items(dataset: Path, split: str) -> list:
    from eval.dataset import DatasetError, load_dataset

    try:
        items = load_dataset(dataset, split)
    except DatasetError as exc:
        fail(dataset_error_message(str(exc)))
    if not items:
        fail(f"no items in {dataset} for split {split!r}")
    return items


def _run(items: list, system, closer, mode: str, retrieval_only: bool, run_config: dict[str, Any]) -> tuple[dict[str, Any], list]:
    """Evaluate every item; the summary's `config` describes the system and this run."""
    from eval.http_system import HTTPSystemError
    from eval.runner import evaluate

    from reportqa.progress import stage_progress

    try:
        with stage_progress(err) as progress:
            summary, results = evaluate(
                items, system, top_k=run_config["top_k"], mode=mode, retrieval_only=retrieval_only, progress=progress
            )
        summary["config"] = {**system.describe(), **run_config}
    except HTTPSystemError as exc:  # a server that went away mid-run: say so plainly
        fail(str(exc))
    finally:
        if closer:
            closer()
    return summary, results


def _write_outputs(out_dir: Path, summary: dict[str, Any], results: list) -> None:
    from eval.report import write_report
    from eval.runner import write_run

    write_run(out_dir, summary, results)
    write_report(out_dir, summary, results)
    _print_summary(summary)
    if summary.get("fallbacks"):
        reasons = ", ".join(f"{k} x{v}" for k, v in summary["fallbacks"].items())
        err.print(f"[yellow]warning:[/yellow] some answers fell back to extractive mode ({reasons})", highlight=False, soft_wrap=True)
    err.print(f"wrote {out_dir}/summary.json, results.jsonl, report.md", highlight=False, soft_wrap=True)


def _check_gate(summary: dict[str, Any], thresholds: dict[str, Any], gate: Path) -> None:
    from eval.metrics import gate_failures

    failures = gate_failures(summary, thresholds)
    if failures:
        for f in failures:
            err.print(f"[red]gate:[/red] {f}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_GATE)
    err.print(f"gate: every metric meets {gate}", highlight=False, soft_wrap=True)


def _write_gate(path: Path, summary: dict[str, Any], bounds: dict[str, Any], dataset: Path, split: str) -> None:
    cfg = summary.get("config") or {}
    doc = {
        "_comment": (
            f"CI gate: `reportqa eval --dataset {dataset} --split {split} --mode {cfg.get('mode')} --gate {path}` on an index "
            "of the shipped reports (`reportqa ingest`) exits 2 when a metric is under its floor (or over a `ceilings` "
            "bound). Bounds = the values measured by that command, 0.03 margin, 2 decimals (written with --write-gate). "
            "answer.exact and latency are not gated. Keys starting with '_' are ignored. Re-measure when the dev set, "
            "the retriever or the answerer changes."
        ),
        "_measured": {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "system": cfg.get("system"),
            "index_build": (cfg.get("index") or {}).get("build_id"),
            **{k: summary.get(k) for k in ("n", "n_answerable", "n_unanswerable")},
            **{g: summary.get(g) for g in ("retrieval", "answer", "citation", "abstention")},
        },
        **bounds,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    err.print(f"wrote gate bounds to {path}", highlight=False, soft_wrap=True)


def _build_system(index, url, baseline, top_k, weights, no_scope, no_boosts):
    """The system under evaluation and a close function (or None)."""
    if url:
        from eval.http_system import HTTPSystem, HTTPSystemError

        system = HTTPSystem(url)
        try:
            system.describe()
        except HTTPSystemError as exc:
            system.close()
            fail(f"{exc}; is `reportqa serve` running there?")
        return system, system.close
    from eval.baselines import BaselineError, ablated, build_baseline

    service = open_service(index)
    if baseline:
        try:
            return build_baseline(baseline, service, top_k), None
        except BaselineError as exc:
            fail(str(exc))
    # Ablations get a new frozen retriever config; the service's own is never changed.
    off = {"use_scope": False if no_scope else None, "use_boosts": False if no_boosts else None}
    return ablated(service, weights=_parse_weights(weights), **off), None


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table

    groups = [g for g in ("retrieval", "answer", "citation", "abstention", "latency_ms") if summary.get(g)]
    table = Table(title=f"{(summary.get('config') or {}).get('system', 'reportqa')}: n={summary['n']}, "
                        f"answerable={summary['n_answerable']}, unanswerable={summary.get('n_unanswerable', 0)}")
    table.add_column("group")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for g in groups:
        for k, v in summary[g].items():
            table.add_row(g, k, f"{v:.4g}" if isinstance(v, float) else str(v))
    console = make_console()
    console.print(table)
    console.print(_breakdown_table(summary, "by_type", "type"))
    if summary.get("by_style"):
        console.print(_breakdown_table(summary, "by_style", "style"))


def _breakdown_table(summary: dict[str, Any], key: str, label: str):
    from rich.table import Table

    keys = [("retrieval", "hit@1"), ("retrieval", "hit@5"), ("retrieval", "mrr@10")]
    if summary.get("answer"):
        keys += [("answer", "contains_gold"), ("answer", "f1_char"), ("citation", "recall"), ("citation", "precision")]
    table = Table(title=f"by {label}")
    table.add_column(label)
    table.add_column("n", justify="right")
    for _, k in keys:
        table.add_column(k, justify="right")
    for t, g in (summary.get(key) or {}).items():
        cells = [(g.get(grp) or {}).get(k) for grp, k in keys]
        table.add_row(t, str(g["n"]), *["–" if v is None else f"{v:.3f}" for v in cells])
    return table


def compare_cmd(
    runs: list[Path] = typer.Argument(..., help="Two or more run folders written by `reportqa eval --out`."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for compare.png (default: the first run's)."),
) -> None:
    """Print the summary metrics of runs side by side (deltas vs the first) and write a grouped-bar PNG."""
    from rich.table import Table

    from eval.compare import PNG_NAME, RunError, compare_rows, format_cell, load_run, plot_compare

    if len(runs) < 2:
        fail("compare needs at least two run folders")
    try:
        loaded = [load_run(p) for p in runs]
    except RunError as exc:
        fail(str(exc))
    table = Table(title=f"compare (deltas vs {loaded[0].label})")
    table.add_column("metric", no_wrap=True)
    widths = [max(len(r.name), len(r.system) + 2, 16) for r in loaded]
    for r, w in zip(loaded, widths):
        table.add_column(f"{r.name}\n({r.system})" if r.system else r.name, justify="right", min_width=w)
    for name, values, deltas in compare_rows([r.summary for r in loaded]):
        table.add_row(name, *[format_cell(v, d, i == 0) for i, (v, d) in enumerate(zip(values, deltas))])
    # at least as wide as the table, even on a narrow terminal: the run names must not be cut
    console = make_console()
    console.width = max(console.width, 100, 34 + sum(w + 3 for w in widths))
    console.print(table)
    png = plot_compare(loaded, (out or loaded[0].path) / PNG_NAME)
    err.print(f"wrote {png}", highlight=False, soft_wrap=True)
