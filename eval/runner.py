"""Evaluation runner: rank (and later answer) every dataset item, compute metrics, write the run folder."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dataset import EvalItem
from .metrics import DEPTH, hit_rank, quotes_held_whole, retrieval_summary
from .systems import RetrievalSystem

log = logging.getLogger(__name__)


@dataclass
class ItemResult:
    item: EvalItem
    retrieved_ids: list[str]
    hit_rank: int | None
    context_chars: int
    retrieve_ms: float
    extra_metrics: dict[str, Any] = field(default_factory=dict)


def evaluate_retrieval(
    items: list[EvalItem],
    system: RetrievalSystem,
    top_k: int = 5,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[dict[str, Any], list[ItemResult]]:
    """Retrieval metrics over the answerable items, depth-10 ranking whatever top_k is."""
    answerable = [i for i in items if i.answerable]
    held = quotes_held_whole((q for i in answerable for q in i.evidence), system.all_texts())
    results: list[ItemResult] = []
    for n, item in enumerate(items, start=1):
        t0 = time.perf_counter()
        ranked = system.rank(item.question, max(DEPTH, top_k))
        ms = (time.perf_counter() - t0) * 1000
        rank = hit_rank([(r.text, r.kind) for r in ranked], item.evidence, held) if item.answerable else None
        results.append(
            ItemResult(
                item=item,
                retrieved_ids=[r.passage_id for r in ranked],
                hit_rank=rank,
                context_chars=sum(len(r.text) for r in ranked[:top_k]),
                retrieve_ms=ms,
            )
        )
        if progress:
            progress("eval", n, len(items))
    scored = [r for r in results if r.item.answerable]
    summary = {
        "n": len(items),
        "n_answerable": len(scored),
        "retrieval": retrieval_summary([r.hit_rank for r in scored], [r.context_chars for r in scored]),
        "by_type": {
            t: {"n": len(group), "retrieval": retrieval_summary([r.hit_rank for r in group], [r.context_chars for r in group])}
            for t in sorted({r.item.type for r in scored})
            for group in [[r for r in scored if r.item.type == t]]
        },
    }
    return summary, results


def write_run(out_dir: Path, summary: dict[str, Any], results: list[ItemResult]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as f:
        for r in results:
            row = {
                "id": r.item.id,
                "question": r.item.question,
                "type": r.item.type,
                "answers": r.item.answers,
                "retrieved_ids": r.retrieved_ids,
                "metrics": {"hit_rank": r.hit_rank, "context_chars": r.context_chars, "retrieve_ms": round(r.retrieve_ms, 2), **r.extra_metrics},
                "extra": r.item.extra,
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
