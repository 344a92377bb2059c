"""Evaluation metrics: small pure functions. Rates are fractions in [0, 1].

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

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.zh import bare_numbers, char_bigrams, normalize_for_match, strip_ws
from qa_service.question import STOPWORDS

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


# -- answers ------------------------------------------------------------------------------------------------
# Answers are compared as CMRC 2018 does (characters, punctuation removed), after the normalisation the corpus
# needs: full-width digits and ％ folded, spaces inside figures deleted (`12 748` = `12748`), thousands commas
# dropped, `亿元`/`万元` = `亿`/`万` (a report writes either), `百分之13.2` = `13.2%`.

MARKER_RE = re.compile(r"\s*[\[【]\s*\d+(?:\s*[,，、]\s*\d+)*\s*[\]】]")
_THOUSANDS_RE = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_YUAN_RE = re.compile(r"(?<=\d)(亿|万|千)元")
_PERCENT_WORD_RE = re.compile(r"百分之(\d+(?:\.\d+)?)")
# CMRC 2018's punctuation list, widened with the other CJK/ASCII marks the reports use; `.` and `%` are kept
# because they belong to figures (`13.2%` must not equal `132`).
_PUNCT = frozenset(
    "-:_*^/\\~`+=，。：？！“”；’‘《》…·、「」（）－～『』【】〔〕〈〉—–,;:!?()[]{}\"'<>|#&@$"
)


def strip_markers(answer: str) -> str:
    """The answer text without its `[n]` citation markers."""
    return MARKER_RE.sub("", answer)


def normalize_answer(text: str) -> str:
    """Matching key for answers: width folded, lower-cased, whitespace deleted, figures and units unified.

    `１２.４２ 亿元` -> `12.42亿`, `13.2％` -> `13.2%`, `12,748人` -> `12748人`, `百分之5` -> `5%`.
    """
    s = strip_ws(normalize_for_match(strip_markers(text)))
    s = _THOUSANDS_RE.sub("", s)
    s = _YUAN_RE.sub(r"\1", s)
    return _PERCENT_WORD_RE.sub(r"\1%", s)


def contains_gold(answer: str, golds: Sequence[str]) -> float:
    """1.0 when some gold answer (normalised, see normalize_answer) occurs in the answer, else 0.0."""
    a = normalize_answer(answer)
    return 1.0 if any((g := normalize_answer(gold)) and g in a for gold in golds) else 0.0


def cmrc_chars(text: str) -> list[str]:
    """CMRC 2018 segmentation: the normalised text's characters, punctuation removed."""
    return [ch for ch in normalize_answer(text) if ch not in _PUNCT]


def longest_common_substring(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common contiguous run of a and b (CMRC 2018's `find_lcs`)."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def f1_char(answer: str, golds: Sequence[str]) -> float:
    """CMRC 2018 F1, best over gold answers: P = LCS/len(answer), R = LCS/len(gold) over characters.

    CMRC scores the longest common substring rather than a bag of characters, so scattered characters
    that happen to occur in the gold answer earn nothing.
    """
    pred = cmrc_chars(answer)
    best = 0.0
    for gold in golds:
        ref = cmrc_chars(gold)
        lcs = longest_common_substring(ref, pred)
        if lcs:
            p, r = lcs / len(pred), lcs / len(ref)
            best = max(best, 2 * p * r / (p + r))
    return best


def exact(answer: str, golds: Sequence[str]) -> float:
    """1.0 when the answer equals a gold answer after CMRC normalisation (punctuation stripped), else 0.0."""
    pred = "".join(cmrc_chars(answer))
    return 1.0 if any(pred == "".join(cmrc_chars(g)) for g in golds) else 0.0


def f1_tokens(pred: Sequence[str], gold: Sequence[str]) -> float:
    """SQuAD bag-of-tokens F1: overlap counted with multiplicity."""
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(gold)
    return 2 * p * r / (p + r)


_jieba_lock = threading.Lock()
_jieba_tk = None


def jieba_words(text: str) -> list[str]:
    """jieba precise-mode words of the normalised answer text, punctuation-only tokens dropped.

    A private jieba.Tokenizer (the global one is left alone) without HMM, so the cut is deterministic.
    """
    global _jieba_tk
    if _jieba_tk is None:
        with _jieba_lock:
            if _jieba_tk is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)  # importing jieba sets its logger to DEBUG
                tk = jieba.Tokenizer()
                tk.initialize()
                _jieba_tk = tk
    return [w for w in _jieba_tk.lcut(normalize_answer(text), HMM=False) if w.strip() and not all(ch in _PUNCT for ch in w)]


def f1_jieba(answer: str, golds: Sequence[str], tokenize: Callable[[str], list[str]] = jieba_words) -> float:
    """Bag-of-words F1 over jieba tokens, best over gold answers."""
    pred = tokenize(answer)
    return max((f1_tokens(pred, tokenize(g)) for g in golds), default=0.0)


# -- citations ----------------------------------------------------------------------------------------------
# A new answer sentence starts after 。！？ or a line break, or after `；` that follows a citation marker: the
# renderer joins claims as `claim[1]；claim[2]。`, while a `；` inside one quoted claim is not a boundary.
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[。！？!?\n])|(?<=[\]】][；;])")
_MARKER_NUMS_RE = re.compile(r"\d+")
_TITLE_PREFIX_RE = re.compile(r"^《[^》]{1,80}》[：:]")
_FIGURE_TOKEN_RE = re.compile(r"[\d.%\-]+")
# Share of a sentence's key terms a cited passage must hold: high, since without NLI only words can vouch for it.
KEY_TERM_SHARE = 0.8


@dataclass
class CitedSentence:
    """One answer sentence (markers removed) and the 1-based citation numbers it carries."""

    text: str
    cites: list[int]


def cited_sentences(answer: str) -> list[CitedSentence]:
    """Split a rendered answer into sentences with the citation numbers of each."""
    out: list[CitedSentence] = []
    for piece in _SENTENCE_SPLIT_RE.split(answer):
        cites: list[int] = []
        for m in MARKER_RE.finditer(piece):
            for n in _MARKER_NUMS_RE.findall(m.group(0)):
                if int(n) not in cites:
                    cites.append(int(n))
        body = strip_markers(piece).strip()
        if "".join(ch for ch in strip_ws(body) if ch not in _PUNCT):
            out.append(CitedSentence(body, cites))
    return out


def _contains_any(text: str, targets: Iterable[str]) -> bool:
    t = normalize_answer(text)
    return any((n := normalize_answer(x)) and n in t for x in targets)


def sentence_supported(passages: Sequence[str], golds: Sequence[str], evidence: Sequence[str]) -> bool:
    """Citation recall's test: the cited passages together contain a gold answer or an evidence quote.

    Each passage is tested alone (a match across the seam of two passages would be spurious).
    """
    return any(_contains_any(p, [*golds, *evidence]) for p in passages)


def key_terms(sentence: str, tokenize: Callable[[str], list[str]] = jieba_words) -> list[str]:
    """The sentence's content words: >= 2 characters, not a stopword, not a bare figure, not inside a longer term."""
    body = _TITLE_PREFIX_RE.sub("", strip_markers(sentence).strip())
    terms: list[str] = []
    for t in tokenize(body):
        if len(t) >= 2 and t not in STOPWORDS and not _FIGURE_TOKEN_RE.fullmatch(t) and t not in terms:
            terms.append(t)
    return [t for t in terms if not any(t != u and t in u for u in terms)]



def citation_supports(
    sentence: str,
    passage: str,
    evidence: Sequence[str],
    tokenize: Callable[[str], list[str]] = jieba_words,
    term_share: float = KEY_TERM_SHARE,
) -> bool:
    """Citation precision's test: the passage contains an evidence quote, or every figure of the sentence and
    >= `term_share` of its key terms (a lexical stand-in for ALCE's NLI entailment check)."""
    if _contains_any(passage, evidence):
        return True
    p = normalize_answer(passage)
    body = _TITLE_PREFIX_RE.sub("", sentence)
    nums = set(bare_numbers(passage))
    if any(n not in nums for n in bare_numbers(body)):
        return False
    terms = key_terms(body, tokenize)
    if not terms:
        return bool(bare_numbers(body))  # a sentence with neither figures nor content words supports nothing
    return sum(1 for t in terms if normalize_answer(t) in p) / len(terms) >= term_share


def citation_scores(
    answer: str,
    passages_by_n: dict[int, str],
    golds: Sequence[str],
    evidence: Sequence[str],
    tokenize: Callable[[str], list[str]] = jieba_words,
) -> tuple[float, float]:
    """ALCE-style (recall, precision) of one answer's citations, without an NLI model.

    recall: share of answer sentences whose cited passages contain a gold answer or an evidence quote
    (whitespace deleted); a sentence with no citation is unsupported.
    precision: share of citations (sentence, passage) whose passage contains an evidence quote, or the figures
    and key terms of the sentence (see citation_supports). A marker naming no passage counts as wrong.
    An answer with no sentence scores (0, 0).
    """
    sentences = cited_sentences(answer)
    if not sentences:
        return 0.0, 0.0
    supported = 0
    good = total = 0
    for s in sentences:
        texts = [passages_by_n[n] for n in s.cites if n in passages_by_n]
        if texts and sentence_supported(texts, golds, evidence):
            supported += 1
        for n in s.cites:
            total += 1
            if n in passages_by_n and citation_supports(s.text, passages_by_n[n], evidence, tokenize):
                good += 1
    return supported / len(sentences), (good / total if total else 0.0)


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


# -- latency ------------------------------------------------------------------------------------------------


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


# -- the CI gate --------------------------------------------------------------------------------------------


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
