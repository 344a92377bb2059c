"""A run's human-readable report: report.md (metric tables, the worst items with their retrieved passages) and
PNG plots (hit@k curve, per-type bars, latency histogram), drawn with matplotlib's Agg backend (no display)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .metrics import hit_at
from .runner import ItemResult

log = logging.getLogger(__name__)

GROUPS: tuple[str, ...] = ("retrieval", "answer", "citation", "abstention", "latency_ms")
PLOTS = {"hit_at_k": "hit_at_k.png", "by_type": "by_type.png", "latency": "latency.png"}
WORST_N = 10
SNIPPET = 160


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window, works on a headless CI machine
    import matplotlib.pyplot as plt

    return plt


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_escape(_cell(v)) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def badness(r: ItemResult) -> tuple:
    """Sort key, worst first: wrong abstention/answer, then retrieval miss, then low F1, then late hit."""
    m = r.extra_metrics
    if r.unanswerable:
        wrong = 0 if r.abstained else 1
        return (-wrong, 0, 0.0, 0)
    wrong_answer = 1 if (r.answer is not None and r.has_gold and not m.get("contains_gold")) else 0
    miss = 1 if (r.item.answerable and r.hit_rank is None) else 0
    return (-wrong_answer, -miss, m.get("f1_char", 1.0) or 0.0, -(r.hit_rank or 0))


def worst_items(results: Sequence[ItemResult], n: int = WORST_N) -> list[ItemResult]:
    return sorted(results, key=badness)[:n]


def _groups_table(summary: dict[str, Any]) -> str:
    rows = []
    for g in GROUPS:
        for k, v in (summary.get(g) or {}).items():
            rows.append((g, k, v))
    return md_table(("group", "metric", "value"), rows)


# (group, metric, column header) of the per-type and per-style tables
BREAKDOWN_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("retrieval", "hit@1", "hit@1"), ("retrieval", "hit@5", "hit@5"), ("retrieval", "mrr@10", "mrr@10"),
    ("answer", "contains_gold", "contains_gold"), ("answer", "f1_char", "f1_char"),
    ("answer", "answer_chars_p50", "answer_chars_p50"), ("citation", "recall", "citation recall"),
    ("citation", "precision", "citation precision"), ("abstention", "false_abstain_rate", "false_abstain_rate"),
    ("abstention", "recall", "abstention recall"),
)


def _breakdown_cell(g: dict[str, Any], group: str, metric: str) -> Any:
    """A group's metric, or None ("–") where its denominator is empty: abstention recall of a group with no
    unanswerable item, or false abstention of one with no answerable item, reads 0 in the summary (an empty
    denominator never reads as a perfect score) but is not measured there."""
    if group == "abstention" and metric == "recall" and not g.get("n_unanswerable"):
        return None
    if group == "abstention" and metric == "false_abstain_rate" and not g.get("n_answerable"):
        return None
    return (g.get(group) or {}).get(metric)


def _breakdown_table(summary: dict[str, Any], key: str = "by_type", label: str = "type") -> str:
    """One row per value of a breakdown (`by_type`, `by_style`)."""
    rows = []
    for t, g in (summary.get(key) or {}).items():
        rows.append([t, g.get("n"), g.get("n_answerable")] + [_breakdown_cell(g, grp, k) for grp, k, _ in BREAKDOWN_COLUMNS])
    return md_table([label, "n", "n_answerable"] + [h for _, _, h in BREAKDOWN_COLUMNS], rows)


def _worst_section(results: Sequence[ItemResult]) -> str:
    parts = []
    for r in worst_items(results):
        m = r.extra_metrics
        parts.append(f"### {r.item.id} ({r.item.type})\n")
        parts.append(f"- question: {r.item.question}")
        parts.append(f"- gold: {r.item.answers if r.item.answers is not None else '(unlabelled)'}")
        if r.answer is not None:
            parts.append(f"- answer{' (abstained)' if r.abstained else ''}: {r.answer}")
            if r.has_gold:
                parts.append(f"- contains_gold {_cell(m.get('contains_gold'))}, f1_char {_cell(m.get('f1_char'))}, "
                             f"citation recall {_cell(m.get('citation_recall'))}")
        parts.append(f"- hit rank: {_cell(r.hit_rank)}; evidence: {'; '.join(r.item.evidence) or '–'}")
        parts.append("\n" + md_table(("#", "passage", "kind", "text"), [
            (i, p.passage_id, p.kind, p.text.replace("\n", " ")[:SNIPPET]) for i, p in enumerate(r.retrieved[:5], start=1)
        ]) + "\n")
    return "\n".join(parts)


def _config_line(cfg: dict[str, Any]) -> str:
    index = cfg.get("index") or {}
    parts = [f"index build `{index.get('build_id', '–')}`"]
    emb = (index.get("embedding") or {}).get("model") or index.get("embedding_model")
    if emb:
        parts.append(f"embedding `{emb}`")
    if cfg.get("fusion_weights"):
        parts.append(f"fusion weights `{cfg['fusion_weights']}`")
    if cfg.get("url"):
        parts.append(f"server {cfg['url']}")
    return "Config: " + ", ".join(parts) + "."


def render_markdown(summary: dict[str, Any], results: Sequence[ItemResult], plots: dict[str, str]) -> str:
    cfg = summary.get("config") or {}
    head = [
        f"# reportqa eval: {cfg.get('system', 'reportqa')}",
        "",
        f"n = {summary.get('n')}, answerable (retrieval) = {summary.get('n_answerable')}, "
        f"unanswerable = {summary.get('n_unanswerable')}; mode {cfg.get('mode', '–')}, top_k {cfg.get('top_k', '–')}, "
        f"split {cfg.get('split', '–')}.",
        "",
        _config_line(cfg),
        "",
        "## Summary",
        "",
        _groups_table(summary),
        "",
        "## By type",
        "",
        _breakdown_table(summary),
        "",
        *(["## By style", "", _breakdown_table(summary, "by_style", "style"), ""] if summary.get("by_style") else []),
        "## Plots",
        "",
        *[f"![{name}]({file})" for name, file in plots.items()],
        "",
        f"## Worst {WORST_N} items",
        "",
        _worst_section(results),
    ]
    return "\n".join(head) + "\n"


def plot_hit_at_k(results: Sequence[ItemResult], path: Path) -> None:
    plt = _pyplot()
    ranks = [r.hit_rank for r in results if r.item.answerable]
    ks = list(range(1, 11))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ks, [hit_at(ranks, k) for k in ks], marker="o")
    ax.set(xlabel="k", ylabel="hit@k", ylim=(0, 1.02), xticks=ks, title=f"hit@k (n={len(ranks)})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_by_type(summary: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    by_type = summary.get("by_type") or {}
    types = list(by_type)
    series = [("hit@5", "retrieval", "hit@5"), ("contains_gold", "answer", "contains_gold"), ("f1_char", "answer", "f1_char"),
              ("citation recall", "citation", "recall")]
    series = [s for s in series if any((by_type[t].get(s[1]) or {}).get(s[2]) is not None for t in types)]
    fig, ax = plt.subplots(figsize=(max(6, len(types) * 0.9), 4))
    width = 0.8 / max(len(series), 1)
    for j, (label, grp, key) in enumerate(series):
        values = [(by_type[t].get(grp) or {}).get(key) or 0.0 for t in types]
        ax.bar([i + j * width for i in range(len(types))], values, width, label=label)
    # unanswerable items have no answer metrics: their bar is abstention recall
    abst = [(by_type[t].get("abstention") or {}).get("recall") if by_type[t].get("n_unanswerable") == by_type[t].get("n") else None
            for t in types]
    if any(v is not None for v in abst):
        ax.bar([i + width * (len(series) - 1) / 2 for i, v in enumerate(abst) if v is not None], [v for v in abst if v is not None],
               width, label="abstention recall", color="grey")
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(types))], types, rotation=30, ha="right")
    ax.set(ylim=(0, 1.02), title="by question type")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_latency(results: Sequence[ItemResult], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist([r.total_ms for r in results], bins=30, alpha=0.7, label="total")
    ax.hist([r.retrieve_ms for r in results], bins=30, alpha=0.7, label="retrieve")
    ax.set(xlabel="ms per question", ylabel="questions", title="latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(out_dir: Path, summary: dict[str, Any], results: Sequence[ItemResult]) -> Path:
    """Write report.md and the PNG plots into out_dir; returns the report path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_hit_at_k(results, out_dir / PLOTS["hit_at_k"])
    plot_by_type(summary, out_dir / PLOTS["by_type"])
    plot_latency(results, out_dir / PLOTS["latency"])
    path = out_dir / "report.md"
    path.write_text(render_markdown(summary, results, PLOTS), encoding="utf-8")
    return path
