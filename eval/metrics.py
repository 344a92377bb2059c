"""Evaluation metrics: small pure functions. Rates are fractions in [0, 1].

This module holds retrieval, abstention and latency; answers live in `eval.answer_metrics`, citations in
`eval.citation_metrics`, the CI gate in `eval.gate`. All are re-exported here.

Groups: retrieval (hit@k, mrr@10, context_chars), answers (contains_gold, f1_char, f1_jieba, exact),
citations (ALCE-style recall and precision, lexical, no NLI model), abstention (precision, recall,
false_abstain_rate), latency (p50/p95). Answer and citation metrics are over items with gold answers.

Retrieval (`hit@k`, `mrr@10`): an item's *hit rank* is the 1-based rank of the first retrieved chunk
that supports an evidence quote, over a depth-10 ranking. A chunk supports a quote when its text
contains the quote whole (whitespace deleted). Only for a quote that no chunk of the index contains
whole, a chunk holding >= 60% of the quote's character bigrams counts. A `table_row` chunk, whose text
is rebuilt with header labels, counts when it holds >= 60% of a quote's bigrams even if another chunk
holds the quote whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ingest.zh import char_bigrams, strip_ws

from .answer_metrics import (
    MARKER_RE,
    cmrc_chars,
    contains_gold,
    exact,
    f1_char,
    f1_jieba,
    f1_tokens,
    jieba_words,
    longest_common_substring,
    normalize_answer,
    strip_markers,
)
from .citation_metrics import (
    KEY_TERM_SHARE,
    CitedSentence,
    citation_scores,
    citation_supports,
    cited_sentences,
    key_terms,
    metric_stopwords,
    sentence_supported,
)
from .gate import CEILED, GATED, gate_failures, thresholds_from

__all__ = [
    "BIGRAM_SHARE", "CEILED", "DEPTH", "GATED", "KEY_TERM_SHARE", "MARKER_RE", "AbstentionCounts", "CitedSentence",
    "abstention_auc", "abstention_counts", "abstention_summary", "answer_summary", "bigram_share", "citation_scores",
    "citation_supports", "cited_sentences", "cmrc_chars", "contains_gold", "exact", "f1_char", "f1_jieba",
    "f1_tokens", "gate_failures", "hit_at", "hit_rank", "jieba_words", "key_terms", "latency_summary",
    "longest_common_substring", "mean", "metric_stopwords", "mrr", "normalize_answer", "percentile",
    "quotes_held_whole", "retrieval_summary", "sentence_supported", "strip_markers", "supports", "thresholds_from",
]

BIGRAM_SHARE = 0.6
DEPTH = 10


def bigram_share(quote: str, text: str) -> float:
    """Share of the quote's character bigrams (whitespace deleted) that occur in text."""
    qb = char_bigrams(quote)
    if not qb:
        return 0.0
    return len(qb & char_bigrams(text)) / len(qb)


def quotes_held_whole(quotes: Iterable[str], all_texts: Iterable[str]) -> set[str]:
    """The quotes (whitespace deleted) that at least one chunk of the index contains whole."""
    qs = {strip_ws(q) for q in quotes if strip_ws(q)}
    held: set[str] = set()
    for t in all_texts:
        st = strip_ws(t)
        for q in qs - held:
            if q in st:
                held.add(q)
    return held


def supports(chunk_text: str, kind: str, quotes: Sequence[str], held_whole: set[str]) -> bool:
    st = strip_ws(chunk_text)
    for q in quotes:
        sq = strip_ws(q)
        if not sq:
            continue
        if sq in st:
            return True
        if (kind == "table_row" or sq not in held_whole) and bigram_share(sq, st) >= BIGRAM_SHARE:
            return True
    return False


def hit_rank(ranked: Sequence[tuple[str, str]], quotes: Sequence[str], held_whole: set[str], depth: int = DEPTH) -> int | None:
    """1-based rank of the first (text, kind) in `ranked` that supports a quote, or None."""
    for rank, (text, kind) in enumerate(ranked[:depth], start=1):
        if supports(text, kind, quotes, held_whole):
            return rank
    return None


def hit_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr(ranks: Sequence[int | None], depth: int = DEPTH) -> float:
    return sum(1.0 / r for r in ranks if r is not None and r <= depth) / len(ranks) if ranks else 0.0


def retrieval_summary(ranks: Sequence[int | None], context_chars: Sequence[int]) -> dict[str, float]:
    """hit@1/3/5/10, mrr@10, and context_chars = mean characters of the passages handed to the answerer."""
    return {
        "hit@1": round(hit_at(ranks, 1), 4),
        "hit@3": round(hit_at(ranks, 3), 4),
        "hit@5": round(hit_at(ranks, 5), 4),
        "hit@10": round(hit_at(ranks, 10), 4),
        "mrr@10": round(mrr(ranks), 4),
        "context_chars": round(sum(context_chars) / len(context_chars), 1) if context_chars else 0.0,
    }


# -- abstention ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbstentionCounts:
    """Confusion counts with abstaining as the positive prediction and `answers == []` as the positive class."""

    tp: int  # abstained on an unanswerable item
    fp: int  # abstained on an answerable item
    fn: int  # answered an unanswerable item
    tn: int  # answered an answerable item


def abstention_counts(pairs: Iterable[tuple[bool, bool]]) -> AbstentionCounts:
    """Count (unanswerable, abstained) pairs."""
    tp = fp = fn = tn = 0
    for unanswerable, abstained in pairs:
        if unanswerable and abstained:
            tp += 1
        elif abstained:
            fp += 1
        elif unanswerable:
            fn += 1
        else:
            tn += 1
    return AbstentionCounts(tp, fp, fn, tn)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0  # an empty denominator reads as 0, never as a perfect score


def abstention_summary(counts: AbstentionCounts) -> dict[str, float]:
    """precision = tp/(tp+fp), recall = tp/(tp+fn) on unanswerable items; false_abstain_rate = fp/(fp+tn)."""
    return {
        "precision": round(_ratio(counts.tp, counts.tp + counts.fp), 4),
        "recall": round(_ratio(counts.tp, counts.tp + counts.fn), 4),
        "false_abstain_rate": round(_ratio(counts.fp, counts.fp + counts.tn), 4),
    }


def abstention_auc(items: Iterable[tuple[bool, bool, float | None]]) -> float | None:
    """ROC AUC of the abstain probability between unanswerable and answerable items, from (unanswerable,
    abstained, probability): how well the abstainer orders them whatever its threshold, so two models are
    compared apart from where their thresholds land. An item answered or declined without the abstainer (a
    comparison, the reporter) counts as 0 or 1. None when no item has a probability (a baseline that never
    abstains) or the items are not of both kinds."""
    items = list(items)
    labels = [unanswerable for unanswerable, _, _ in items]
    if all(p is None for _, _, p in items) or all(labels) or not any(labels):
        return None
    from sklearn.metrics import roc_auc_score

    scores = [p if p is not None else float(abstained) for _, abstained, p in items]
    return round(float(roc_auc_score(labels, scores)), 4)


# -- latency and means --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def latency_summary(total_ms: Sequence[float], retrieve_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95 of the whole question (as the caller waited) and of retrieval alone, in milliseconds."""
    return {
        "p50": round(percentile(total_ms, 50), 2),
        "p95": round(percentile(total_ms, 95), 2),
        "retrieve_p50": round(percentile(retrieve_ms, 50), 2),
        "retrieve_p95": round(percentile(retrieve_ms, 95), 2),
    }


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def answer_summary(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Means of the per-item answer metrics (each item's contains_gold, f1_char, f1_jieba, exact)."""
    return {k: round(mean([r[k] for r in rows]), 4) for k in ("contains_gold", "f1_char", "f1_jieba", "exact")}
