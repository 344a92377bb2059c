"""Citation metrics: ALCE-style recall and precision, lexical (no NLI model). Rates are fractions in [0, 1].

The key terms of a sentence leave out a FROZEN stopword list (eval/data/metric_stopwords.txt), not the
system's own list: the metric must not share its judgement with the system it measures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ingest.zh import bare_numbers, strip_ws

from .answer_metrics import _PUNCT, MARKER_RE, jieba_words, normalize_answer, strip_markers


@cache
def metric_stopwords() -> frozenset[str]:
    """The frozen stopword list of the citation metric (one word a line, `#` comments)."""
    text = resources.files("eval").joinpath("data", "metric_stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() for w in line.split("#", 1)[0].split())


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
        if len(t) >= 2 and t not in metric_stopwords() and not _FIGURE_TOKEN_RE.fullmatch(t) and t not in terms:
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
