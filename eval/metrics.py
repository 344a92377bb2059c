"""Evaluation metrics: small pure functions. Rates are fractions in [0, 1].

Retrieval (`hit@k`, `mrr@10`): an item's *hit rank* is the 1-based rank of the first retrieved chunk
that supports an evidence quote, over a depth-10 ranking. A chunk supports a quote when its text
contains the quote whole (whitespace deleted). Only for a quote that no chunk of the index contains
whole, a chunk holding >= 60% of the quote's character bigrams counts. A `table_row` chunk, whose text
is rebuilt with header labels, counts when it holds >= 60% of a quote's bigrams even if another chunk
holds the quote whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ingest.zh import char_bigrams, strip_ws

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
