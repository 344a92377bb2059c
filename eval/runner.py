"""Evaluation runner: rank and answer every dataset item, compute metrics, write the run folder.

Per item: the system answers (or, with retrieval_only, only ranks); the retrieval metrics read the depth-10 ranking
the answer was drawn from; the answer and citation metrics read the rendered answer and its citations. The summary
groups (retrieval, answer, citation, abstention, latency_ms) are computed the same way overall and per type.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dataset import EvalItem
from .metrics import (
    DEPTH,
    abstention_auc,
    abstention_counts,
    abstention_summary,
    answer_summary,
    citation_scores,
    contains_gold,
    exact,
    f1_char,
    f1_jieba,
    hit_rank,
    latency_summary,
    mean,
    percentile,
    strip_markers,
    quotes_held_whole,
    retrieval_summary,
)
from .systems import CitedPassage, Ranked, RetrievalSystem

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
ANSWER_KEYS = ("contains_gold", "f1_char", "f1_jieba", "exact")


@dataclass
class ItemResult:
    item: EvalItem
    retrieved_ids: list[str]
    hit_rank: int | None
    context_chars: int
    retrieve_ms: float
    extra_metrics: dict[str, Any] = field(default_factory=dict)
    retrieved: list[Ranked] = field(default_factory=list)
    answer: str | None = None  # None when only retrieval ran
    abstained: bool | None = None
    citations: list[CitedPassage] = field(default_factory=list)
    total_ms: float = 0.0
    fallback: str | None = None
    abstain_probability: float | None = None
    abstain_reason: str | None = None

    @property
    def has_gold(self) -> bool:
        """Answer and citation metrics apply: the item has at least one gold answer."""
        return bool(self.item.answers)

    @property
    def unanswerable(self) -> bool:
        return self.item.answers == []


def score_answer(item: EvalItem, answer: str, abstained: bool, citations: Sequence[CitedPassage]) -> dict[str, Any]:
    """Per-item answer and citation metrics (only for items with gold answers).

    An abstention is a non-answer: its answer metrics are 0 (the refusal text may echo the question's words),
    and it has no citation metrics (false_abstain_rate accounts for it).
    """
    golds = item.answers or []
    if abstained:
        return {k: 0.0 for k in ANSWER_KEYS} | {"citation_recall": None, "citation_precision": None}
    recall, precision = citation_scores(answer, {c.n: c.text for c in citations}, golds, item.evidence)
    return {
        "contains_gold": contains_gold(answer, golds),
        "f1_char": round(f1_char(answer, golds), 4),
        "f1_jieba": round(f1_jieba(answer, golds), 4),
        "exact": exact(answer, golds),
        "citation_recall": round(recall, 4),
        "citation_precision": round(precision, 4),
    }


def evaluate(
    items: list[EvalItem],
    system: Any,
    top_k: int = 5,
    mode: str = "extractive",
    retrieval_only: bool = False,
    progress: ProgressFn | None = None,
) -> tuple[dict[str, Any], list[ItemResult]]:
    """Run every item through `system` (an AnsweringSystem, or a RetrievalSystem with retrieval_only)."""
    answerable = [i for i in items if i.answerable]
    held = quotes_held_whole((q for i in answerable for q in i.evidence), system.all_texts())
    context_k = system.context_k(top_k) if hasattr(system, "context_k") else top_k
    if items:  # warm-up: lazy loads (jieba dictionary, embedding model) must not be billed to the first question
        system.rank(items[0].question, DEPTH)
    results: list[ItemResult] = []
    for n, item in enumerate(items, start=1):
        t0 = time.perf_counter()
        if retrieval_only:
            ranked = system.rank(item.question, max(DEPTH, top_k))
            total_ms = retrieve_ms = (time.perf_counter() - t0) * 1000
            res = ItemResult(item, [r.passage_id for r in ranked], None, 0, retrieve_ms, retrieved=ranked, total_ms=total_ms)
        else:
            ans = system.answer(item.question, top_k, mode, history=item.history)  # a follow-up is asked as one
            total_ms = (time.perf_counter() - t0) * 1000
            ranked = ans.retrieved
            res = ItemResult(
                item, [r.passage_id for r in ranked], None, 0, ans.retrieve_ms, retrieved=ranked, answer=ans.answer,
                abstained=ans.abstained, citations=ans.citations, total_ms=total_ms, fallback=ans.fallback,
                abstain_probability=ans.abstain_probability, abstain_reason=ans.abstain_reason,
            )
            if res.has_gold:
                res.extra_metrics.update(score_answer(item, ans.answer, ans.abstained, ans.citations))
        res.context_chars = sum(len(r.text) for r in ranked[:context_k])
        if item.answerable:
            res.hit_rank = hit_rank([(r.text, r.kind) for r in ranked], item.evidence, held)
        results.append(res)
        if progress:
            progress("eval", n, len(items))
    summary = summarize(results, retrieval_only)
    # --mode llm without a reachable model falls back to extractive answers: say how often, or the run misleads
    fallbacks: dict[str, int] = {}
    for r in results:
        if r.fallback:
            fallbacks[r.fallback] = fallbacks.get(r.fallback, 0) + 1
    summary["fallbacks"] = fallbacks
    summary["by_type"] = breakdown(results, lambda r: r.item.type, retrieval_only)
    if any(r.item.style for r in results):  # only for datasets written by style (reports_dev_v2)
        summary["by_style"] = breakdown(results, lambda r: r.item.style or "(none)", retrieval_only)
    return summary, results


def breakdown(results: Sequence[ItemResult], key: Callable[[ItemResult], str], retrieval_only: bool) -> dict[str, Any]:
    """The summary groups per value of `key` (an item's type, its style), values sorted."""
    return {v: summarize([r for r in results if key(r) == v], retrieval_only) for v in sorted({key(r) for r in results})}


def evaluate_retrieval(
    items: list[EvalItem],
    system: RetrievalSystem,
    top_k: int = 5,
    progress: ProgressFn | None = None,
) -> tuple[dict[str, Any], list[ItemResult]]:
    """Retrieval metrics over the answerable items, depth-10 ranking whatever top_k is."""
    return evaluate(items, system, top_k, retrieval_only=True, progress=progress)


def summarize(results: Sequence[ItemResult], retrieval_only: bool) -> dict[str, Any]:
    """The summary groups over a set of item results; answer/citation/abstention are None without answers."""
    scored = [r for r in results if r.item.answerable]
    summary: dict[str, Any] = {
        "n": len(results),
        "n_answerable": len(scored),
        "n_unanswerable": sum(1 for r in results if r.unanswerable),
        "retrieval": retrieval_summary([r.hit_rank for r in scored], [r.context_chars for r in scored]) if scored else None,
        "answer": None,
        "citation": None,
        "abstention": None,
        "latency_ms": latency_summary([r.total_ms for r in results], [r.retrieve_ms for r in results]),
    }
    if retrieval_only:
        return summary
    gold = [r for r in results if r.has_gold]
    if gold:
        answered = [r.answer or "" for r in gold if not r.abstained]
        summary["answer"] = {**answer_summary([r.extra_metrics for r in gold]), "answer_chars_p50": answer_chars_p50(answered)}
    cited = [r.extra_metrics for r in gold if r.extra_metrics.get("citation_recall") is not None]
    summary["citation"] = {
        "precision": round(mean([m["citation_precision"] for m in cited]), 4),
        "recall": round(mean([m["citation_recall"] for m in cited]), 4),
        "n": len(cited),
    } if gold else None
    labelled = [r for r in results if r.item.labelled]
    if labelled:
        summary["abstention"] = abstention_summary(abstention_counts((r.unanswerable, bool(r.abstained)) for r in labelled))
        summary["abstention"]["roc_auc"] = abstention_auc((r.unanswerable, bool(r.abstained), r.abstain_probability) for r in labelled)
    return summary


def answer_chars_p50(answers: Sequence[str]) -> float | None:
    """Median length in characters of the given answers, citation markers and whitespace deleted (issue 11's
    target: <= 80). The caller passes the answers that were given: an abstention's text is not an answer."""
    if not answers:
        return None
    return round(percentile([len("".join(strip_markers(a).split())) for a in answers], 50), 1)


def result_row(r: ItemResult) -> dict[str, Any]:
    """One line of results.jsonl."""
    return {
        "id": r.item.id,
        "question": r.item.question,
        "type": r.item.type,
        **({"style": r.item.style} if r.item.style else {}),
        **({"history": list(r.item.history)} if r.item.history else {}),
        "answers": r.item.answers,
        "answer": r.answer,
        "abstained": r.abstained,
        "abstain_probability": r.abstain_probability,
        "abstain_reason": r.abstain_reason,
        "citations": [{"n": c.n, "passage_id": c.passage_id, "quote": c.quote} for c in r.citations],
        "retrieved_ids": r.retrieved_ids,
        "metrics": {
            "hit_rank": r.hit_rank,
            "context_chars": r.context_chars,
            "retrieve_ms": round(r.retrieve_ms, 2),
            "total_ms": round(r.total_ms, 2),
            **r.extra_metrics,
        },
        "fallback": r.fallback,
        "extra": r.item.extra,
    }


def write_run(out_dir: Path, summary: dict[str, Any], results: list[ItemResult]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(result_row(r), ensure_ascii=False) + "\n")
