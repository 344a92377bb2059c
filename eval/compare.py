"""`reportqa compare RUN_A RUN_B ...`: the summary metrics of several runs side by side, deltas vs the first run,
and a grouped-bar PNG."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .report import GROUPS, _pyplot

log = logging.getLogger(__name__)

PNG_NAME = "compare.png"
# Metrics that are not rates in [0, 1]: drawn on their own axis.
_NOT_RATES = {"retrieval.context_chars", "citation.n", "answer.answer_chars_p50"}


class RunError(ValueError):
    """A run folder without a readable summary.json."""


@dataclass
class Run:
    name: str  # the run folder's name
    path: Path
    summary: dict[str, Any]

    @property
    def system(self) -> str:
        return str((self.summary.get("config") or {}).get("system") or "")

    @property
    def label(self) -> str:
        return f"{self.name} ({self.system})" if self.system and self.system != self.name else self.name


def load_run(path: Path) -> Run:
    f = path / "summary.json" if path.is_dir() else path
    try:
        summary = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: no summary.json (is it a `reportqa eval --out` folder?)") from None
    except json.JSONDecodeError as exc:
        raise RunError(f"{f}: not valid JSON ({exc.msg})") from None
    return Run(name=f.parent.name, path=f.parent, summary=summary)


def flatten(summary: dict[str, Any]) -> dict[str, float]:
    """`group.metric` -> value for the numeric summary metrics (groups that are null are left out)."""
    out: dict[str, float] = {}
    for g in GROUPS:
        for k, v in (summary.get(g) or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[f"{g}.{k}"] = float(v)
    return out


def compare_rows(summaries: Sequence[dict[str, Any]]) -> list[tuple[str, list[float | None], list[float | None]]]:
    """(metric, value per run, delta vs the first run per run) for every metric any run has, in group order."""
    flats = [flatten(s) for s in summaries]
    names: list[str] = []
    for f in flats:
        names += [k for k in f if k not in names]
    rows = []
    for name in names:
        values = [f.get(name) for f in flats]
        base = values[0]
        deltas = [None if v is None or base is None else round(v - base, 4) for v in values]
        rows.append((name, values, deltas))
    return rows


def format_cell(value: float | None, delta: float | None, first: bool) -> str:
    if value is None:
        return "–"
    text = f"{value:.4g}"
    if first or delta is None:
        return text
    return f"{text} ({delta:+.4g})"


def plot_compare(runs: Sequence[Run], path: Path) -> Path:
    """Grouped bars: one group per rate metric, one bar per run; latency p50/p95 in a second panel."""
    plt = _pyplot()
    rows = compare_rows([r.summary for r in runs])
    rates = [r for r in rows if not r[0].startswith("latency_ms.") and r[0] not in _NOT_RATES]
    lat = [r for r in rows if r[0].startswith("latency_ms.")]
    fig, axes = plt.subplots(1, 2, figsize=(max(8, len(rates) * 0.7 + 4), 4.5), gridspec_kw={"width_ratios": [max(len(rates), 1), max(len(lat), 1)]})
    width = 0.8 / len(runs)
    for ax, group, ylabel in ((axes[0], rates, "value"), (axes[1], lat, "ms")):
        for j, run in enumerate(runs):
            ax.bar([i + j * width for i in range(len(group))], [(r[1][j] or 0.0) for r in group], width, label=run.label)
        ax.set_xticks([i + width * (len(runs) - 1) / 2 for i in range(len(group))], [r[0] for r in group], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel(ylabel)
    axes[0].set_ylim(0, 1.02)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(runs), 4), fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
