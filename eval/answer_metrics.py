"""Answer metrics: contains_gold, f1_char (CMRC 2018), f1_jieba, exact. Rates are fractions in [0, 1].

Answers are compared as CMRC 2018 does (characters, punctuation removed), after the normalisation the corpus
needs: full-width digits and ％ folded, spaces inside figures deleted (`12 748` = `12748`), thousands commas
dropped, `亿元`/`万元` = `亿`/`万` (a report writes either), `百分之13.2` = `13.2%`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence

from ingest.zh import normalize_for_match, strip_ws

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
