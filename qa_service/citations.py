"""Citation verification, run after every answer in both modes.

LlamaIndex's CitationQueryEngine trusts the model's markers; we check them. A marker that points to
no passage is removed. A sentence whose figures or key terms are not in its cited passages is
re-cited to a retrieved passage that has them, or reported in `unsupported_sentences`. Every kept
citation carries a `quote`: an exact substring of the passage that supports the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ingest.models import Chunk
from ingest.zh import bare_numbers, char_bigrams, normalize_for_match, sentence_spans, strip_ws

from .claims import Claim, DraftAnswer
from .question import STOPWORDS

MARKER_RE = re.compile(r"\s*[\[【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】]")
_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")


def parse_marked_text(text: str, passages: Sequence[Chunk]) -> list[Claim]:
    """Split model output into sentences; each keeps the passages its valid markers point to."""
    claims: list[Claim] = []
    for m in _SENTENCE_RE.finditer(text):
        sentence = m.group(0).strip()
        if not sentence:
            continue
        sources: list[Chunk] = []
        for marker in MARKER_RE.finditer(sentence):
            for num in re.split(r"[,，、]", marker.group(1)):
                n = int(num.strip())
                if 1 <= n <= len(passages) and passages[n - 1] not in sources:
                    sources.append(passages[n - 1])
        body = MARKER_RE.sub("", sentence).strip()
        if strip_ws(body).strip("。；;，,"):
            claims.append(Claim(text=body, sources=sources, quotes=["" for _ in sources]))
        elif claims and sources:  # a marker alone after a line break belongs to the sentence before it
            claims[-1].sources.extend(s for s in sources if s not in claims[-1].sources)
            claims[-1].quotes = ["" for _ in claims[-1].sources]
    return claims


def key_terms(text: str, tokenize: Callable[[str], list[str]]) -> list[str]:
    terms = []
    for t in tokenize(text):
        if len(t) >= 2 and t not in STOPWORDS and not re.fullmatch(r"[\d.%-]+", t) and t not in terms:
            terms.append(t)
    return [t for t in terms if not any(t != u and t in u for u in terms)]


def support(claim_text: str, passage_text: str, tokenize: Callable[[str], list[str]]) -> float:
    """How well a passage supports a sentence: 0 if any figure is missing, else its key-term share."""
    norm = strip_ws(normalize_for_match(passage_text))
    nums = set(bare_numbers(passage_text))
    if any(n not in nums for n in bare_numbers(claim_text)):
        return 0.0
    terms = key_terms(claim_text, tokenize)
    if not terms:
        qb = char_bigrams(normalize_for_match(claim_text))
        return len(qb & char_bigrams(norm)) / len(qb) if qb else 1.0
    return sum(1 for t in terms if t in norm) / len(terms)


def best_quote(claim_text: str, passage_text: str) -> str:
    """The passage sentence (exact substring) sharing most character bigrams with the claim."""
    cb = char_bigrams(normalize_for_match(claim_text))
    best, best_score = passage_text.strip(), -1.0
    for s, e in sentence_spans(passage_text):
        sent = passage_text[s:e].strip()
        if not sent:
            continue
        score = len(cb & char_bigrams(normalize_for_match(sent))) / (len(cb) or 1)
        if score > best_score:
            best, best_score = sent, score
    return best


def verify(
    draft: DraftAnswer,
    retrieved: Sequence[Chunk],
    tokenize: Callable[[str], list[str]],
    min_support: float = 0.5,
) -> DraftAnswer:
    """Check every claim against its cited passages; re-cite or report unsupported sentences."""
    if draft.abstained:
        return draft
    unsupported: list[str] = list(draft.unsupported)
    for claim in draft.claims:
        kept_sources, kept_quotes = [], []
        for chunk, quote in zip(claim.sources, claim.quotes):
            if support(claim.text, chunk.text, tokenize) >= min_support:
                kept_sources.append(chunk)
                kept_quotes.append(quote if quote and quote in chunk.text else best_quote(claim.text, chunk.text))
        if not kept_sources:
            scored = [(support(claim.text, c.text, tokenize), i) for i, c in enumerate(retrieved)]
            score, i = max(scored, default=(0.0, -1))
            if score >= min_support and i >= 0:
                kept_sources = [retrieved[i]]
                kept_quotes = [best_quote(claim.text, retrieved[i].text)]
            else:
                unsupported.append(claim.text)
        claim.sources, claim.quotes = kept_sources, kept_quotes
    draft.unsupported = unsupported
    return draft
