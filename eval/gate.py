"""The CI gate: compare a run's summary with floors/ceilings (eval/thresholds.json), and derive bounds."""

from __future__ import annotations

import math
from typing import Any


def gate_failures(summary: dict[str, Any], thresholds: dict[str, Any]) -> list[str]:
    """Every metric under its floor (or over its ceiling), as readable lines; [] means the gate passes.

    thresholds: {group: {metric: floor}} plus an optional "ceilings": {group: {metric: max}} for metrics where
    lower is better (false_abstain_rate, latency). Keys starting with "_" are comments. A metric the run did not
    measure fails: a gate must not pass because a group was skipped.
    """
    failures: list[str] = []

    def check(bounds: dict[str, Any], is_floor: bool) -> None:
        for group, metrics in bounds.items():
            if group.startswith("_") or group == "ceilings" or not isinstance(metrics, dict):
                continue
            measured = summary.get(group) or {}
            for name, bound in metrics.items():
                if name.startswith("_"):
                    continue
                value = measured.get(name)
                if value is None:
                    failures.append(f"{group}.{name}: not measured (bound {bound})")
                elif is_floor and value < bound:
                    failures.append(f"{group}.{name} = {value} is under its floor {bound}")
                elif not is_floor and value > bound:
                    failures.append(f"{group}.{name} = {value} is over its ceiling {bound}")

    check(thresholds, True)
    check(thresholds.get("ceilings") or {}, False)
    return failures


GATED: dict[str, tuple[str, ...]] = {
    "retrieval": ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10"),
    "answer": ("contains_gold", "f1_char", "f1_jieba"),  # not exact: extractive clauses never equal the bare gold
    "citation": ("precision", "recall"),
    "abstention": ("precision", "recall"),
}
CEILED: dict[str, tuple[str, ...]] = {"abstention": ("false_abstain_rate",)}


def thresholds_from(summary: dict[str, Any], margin: float = 0.03) -> dict[str, Any]:
    """Gate bounds from a measured run: floors `margin` below (rounded down to 2 decimals), ceilings `margin`
    above (rounded up). Latency is left out: it measures the machine as much as the code."""
    def down(v: float) -> float:
        return max(0.0, math.floor(round((v - margin) * 100, 6)) / 100)

    def up(v: float) -> float:
        return min(1.0, math.ceil(round((v + margin) * 100, 6)) / 100)

    out: dict[str, Any] = {}
    for group, names in GATED.items():
        measured = summary.get(group) or {}
        floors = {n: down(measured[n]) for n in names if measured.get(n) is not None}
        if floors:
            out[group] = floors
    ceilings = {}
    for group, names in CEILED.items():
        measured = summary.get(group) or {}
        bounds = {n: up(measured[n]) for n in names if measured.get(n) is not None}
        if bounds:
            ceilings[group] = bounds
    if ceilings:
        out["ceilings"] = ceilings
    return out
