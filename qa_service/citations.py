"""Citation verification, run after every answer in both modes.

LlamaIndex's CitationQueryEngine trusts the model's markers; we check them. A marker that points to
no passage is removed. A sentence whose figures or key terms are not in its cited passages is
re-cited to a retrieved passage that has them, or reported in `unsupported_sentences`. Every kept
citation carries a `quote`: an exact substring of the passage that supports the sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from ingest.models import Chunk
from ingest.zh import bare_numbers, char_bigrams, match_key, normalize_for_match, sentence_spans, strip_ws
from ingest.zh.answer import (
    LEADING_MARKERS_RE,
    MARKER_ITEM_SPLIT_RE,
    MARKER_NUMBER_RE,
    MARKER_RE,
    SENTENCE_PUNCT_ONLY,
)
from ingest.zh.comparison import agrees, compute, winner
from ingest.zh.numbers import FIGURE_TOKEN_RE
from ingest.zh.question import STOPWORDS
from ingest.zh.text import ANSWER_SENTENCE_RE, CLAUSE_MARKS, CLAUSE_RE, EVIDENCE_JOIN

from .claims import Claim, Computation, DraftAnswer, verdict_text

_MAX_RANGE = 20  # a range marker wider than this is noise, not a citation


def _marker_numbers(group: str) -> list[int]:
    """The passage numbers one marker names: `1, 3` -> [1, 3]; `1-3` -> [1, 2, 3]."""
    numbers: list[int] = []
    for item in MARKER_ITEM_SPLIT_RE.split(group):
        bounds = [int(b) for b in MARKER_NUMBER_RE.findall(item)]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= _MAX_RANGE:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        elif bounds:
            numbers.append(bounds[0])
    return numbers


def _sources(text: str, passages: Sequence[Chunk]) -> list[Chunk]:
    """Passages the valid markers in `text` point to, in order, without repeats."""
    sources: list[Chunk] = []
    for marker in MARKER_RE.finditer(text):
        for n in _marker_numbers(marker.group(1)):
            if 1 <= n <= len(passages) and passages[n - 1] not in sources:
                sources.append(passages[n - 1])
    return sources


def parse_marked_text(text: str, passages: Sequence[Chunk]) -> list[Claim]:
    """Split model output into sentences; each keeps the passages its valid markers point to."""
    claims: list[Claim] = []
    for m in ANSWER_SENTENCE_RE.finditer(text):
        sentence = m.group(0).strip()
        if not sentence:
            continue
        # Markers before any text (`…亿元。[1]同比…`) were put after the previous sentence's stop.
        leading = LEADING_MARKERS_RE.match(sentence)
        if leading and claims:
            _add_sources(claims[-1], _sources(leading.group(0), passages))
            sentence = sentence[leading.end() :]
        sources = _sources(sentence, passages)
        body = MARKER_RE.sub("", sentence).strip()
        if strip_ws(body).strip(SENTENCE_PUNCT_ONLY):
            claims.append(Claim(text=body, sources=sources, quotes=["" for _ in sources]))
        elif claims and sources:  # a marker alone after a line break belongs to the sentence before it
            _add_sources(claims[-1], sources)
    return claims


def _add_sources(claim: Claim, sources: Sequence[Chunk]) -> None:
    claim.sources.extend(s for s in sources if s not in claim.sources)
    claim.quotes = ["" for _ in claim.sources]


def key_terms(text: str, tokenize: Callable[[str], list[str]]) -> list[str]:
    terms = []
    for t in tokenize(text):
        if len(t) >= 2 and t not in STOPWORDS and not FIGURE_TOKEN_RE.fullmatch(t) and t not in terms:
            terms.append(t)
    return [t for t in terms if not any(t != u and t in u for u in terms)]


def _context(chunk: Chunk) -> str:
    """A passage as evidence: its heading path (document title included) and its text.

    `2020年上半年…[1]` is supported by a passage of the 2020 half-year report even when the year is
    only in the document's title. The two are joined by an end mark, not by white space: figures may hold
    white space (`2020 年`), so a title ending in a digit (`…-p0002`) would run into a passage opening with
    one (`19世纪…`) and make a figure neither states (`000219`).
    """
    return " ".join(chunk.heading_path) + EVIDENCE_JOIN + chunk.text


def support(claim_text: str, passage_text: str, tokenize: Callable[[str], list[str]]) -> float:
    """How well a passage supports a sentence: 0 if any figure is missing, else its key-term share."""
    norm = match_key(passage_text)
    nums = set(bare_numbers(passage_text))
    if any(n not in nums for n in bare_numbers(claim_text)):
        return 0.0
    terms = key_terms(claim_text, tokenize)
    if not terms:
        qb = char_bigrams(normalize_for_match(claim_text))
        return len(qb & char_bigrams(norm)) / len(qb) if qb else 1.0
    return sum(1 for t in terms if t in norm) / len(terms)


def best_quote(claim_text: str, passage_text: str) -> str:
    """The exact substring of the passage that supports the claim: its best sentence, narrowed.

    The sentence sharing most character bigrams with the claim is chosen; when the claim states
    figures, it is narrowed to the shortest run of clauses that holds them all
    (`1-7月，财政总收入12.42亿元`), so the quote shows the evidence rather than a whole paragraph.
    """
    cb = char_bigrams(normalize_for_match(claim_text))
    best, best_score = passage_text.strip(), -1.0
    for s, e in sentence_spans(passage_text):
        sent = passage_text[s:e].strip()
        if not sent:
            continue
        score = len(cb & char_bigrams(normalize_for_match(sent))) / (len(cb) or 1)
        if score > best_score:
            best, best_score = sent, score
    return _narrow_to_figures(best, bare_numbers(claim_text))


def _narrow_to_figures(sentence: str, numbers: list[str]) -> str:
    clauses = [m.group(0) for m in CLAUSE_RE.finditer(sentence)]
    if not numbers or len(clauses) < 2:
        return sentence
    wanted = set(numbers)
    best: tuple[int, int] | None = None
    for i in range(len(clauses)):
        found: set[str] = set()
        for j in range(i, len(clauses)):
            found |= wanted & set(bare_numbers(clauses[j]))
            if found == wanted:
                if best is None or j - i < best[1] - best[0]:
                    best = (i, j)
                break
    if best is None:
        return sentence
    quote = "".join(clauses[best[0] : best[1] + 1]).strip().rstrip(CLAUSE_MARKS).strip()
    return quote if quote and quote in sentence else sentence


def verify(
    draft: DraftAnswer,
    retrieved: Sequence[Chunk],
    tokenize: Callable[[str], list[str]],
    min_support: float,
) -> DraftAnswer:
    """Check every claim against its cited passages; re-cite or report unsupported sentences."""
    if draft.abstained:
        return draft
    unsupported: list[str] = list(draft.unsupported)
    failed = [c for c in draft.claims if c.computed is not None and not computation_holds(c)]
    unsupported.extend(c.text for c in failed)
    draft.claims = [c for c in draft.claims if not any(c is f for f in failed)]
    for claim in draft.claims:
        if claim.computed is not None:
            continue  # checked against its operands above, not by its words
        kept_sources, kept_quotes = [], []
        for chunk, quote in zip(claim.sources, claim.quotes):
            if support(claim.text, _context(chunk), tokenize) >= min_support:
                kept_sources.append(chunk)
                kept_quotes.append(quote if quote and quote in chunk.text else best_quote(claim.text, chunk.text))
        if not kept_sources:
            scored = [(support(claim.text, _context(c), tokenize), i) for i, c in enumerate(retrieved)]
            # On a tie the higher-ranked passage wins.
            score, i = max(scored, key=lambda si: (si[0], -si[1]), default=(0.0, -1))
            if score >= min_support and i >= 0:
                kept_sources = [retrieved[i]]
                kept_quotes = [best_quote(claim.text, retrieved[i].text)]
            else:
                unsupported.append(claim.text)
        claim.sources, claim.quotes = kept_sources, kept_quotes
    draft.unsupported = unsupported
    _follow_recited_figures(draft.claims)
    _merge_shared_quotes(draft.claims)
    return draft


def _follow_recited_figures(claims: Sequence[Claim]) -> None:
    """A computed clause cites the passages of the figures before it: when the check re-cited a figure to
    another passage stating it (a table's other row chunk), the clause follows, so it cites no passage that no
    figure of the answer cites."""
    for i, claim in enumerate(claims):
        if claim.computed is None or i < 2:
            continue
        figures = [c for c in claims[i - 2 : i] if c.computed is None]
        cited = {c.id for f in figures for c in f.sources}
        if all(c.id in cited for c in claim.sources):
            continue
        quoted: dict[str, tuple[Chunk, str]] = {}
        for f in figures:
            for chunk, quote in zip(f.sources, f.quotes):
                quoted.setdefault(chunk.id, (chunk, quote))
        numbers = {n for chunk, _ in quoted.values() for n in bare_numbers(chunk.text)}
        if quoted and all(op in numbers for op in claim.computed.operands):
            claim.sources = [chunk for chunk, _ in quoted.values()]
            claim.quotes = [quote for _, quote in quoted.values()]


def computation_holds(claim: Claim) -> bool:
    """A computed clause is supported when each operand is a figure of one of its cited passages and
    the arithmetic gives the stated result."""
    calc = claim.computed
    if calc is None or not claim.sources:
        return False
    cited = {n for chunk in claim.sources for n in bare_numbers(chunk.text)}
    if any(op not in cited for op in calc.operands):
        return False
    if calc.result and not (compute(calc.op, *calc.operands, Decimal(calc.scale)) == calc.result and calc.result in claim.text):
        return False
    if calc.verdict is not None and not _verdict_holds(calc, claim.text):
        return False
    return bool(calc.result) or calc.verdict is not None


def _verdict_holds(calc: Computation, text: str) -> bool:
    """The named winner really has the larger (or smaller) figure, or the two really agree (or not), and the
    clause says so."""
    v, scale = calc.verdict, Decimal(calc.scale)
    if v is None:
        return False
    if v.asked.kind == "which":
        judged = v.winner is not None and winner(v.asked, *calc.operands, scale, v.signs) == v.winner
    else:
        judged = v.agree is not None and agrees(*calc.operands, scale) == v.agree
    return judged and verdict_text(v) in text


_MAX_MERGED_QUOTE = 300


def _merge_shared_quotes(claims: Sequence[Claim]) -> None:
    """One citation per passage is rendered, with one quote: when several sentences cite the same
    passage, that quote must cover all of them, so each gets the passage span from the first
    quote's start to the last one's end (unless that span is too long to be a quote)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for claim in claims:
        for chunk, quote in zip(claim.sources, claim.quotes):
            at = chunk.text.find(quote) if quote else -1
            if at >= 0:
                spans.setdefault(chunk.id, []).append((at, at + len(quote)))
    for claim in claims:
        for k, chunk in enumerate(claim.sources):
            found = spans.get(chunk.id, [])
            if len(found) < 2:
                continue
            start, end = min(s for s, _ in found), max(e for _, e in found)
            if end - start <= _MAX_MERGED_QUOTE:
                claim.quotes[k] = chunk.text[start:end].strip()
