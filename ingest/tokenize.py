"""Word and character tokens for the lexical (BM25) arms; the same code runs at index time and at query time.

Word tokens: jieba in search mode through a private `jieba.Tokenizer()` (the global one is never touched, so other
code that uses `jieba.cut` is unaffected), on text normalised with `zh.normalize_for_match`. Numbers are pre-split
by a regex so decimals, percentages and ranges survive whole (`12.42`, `13.2%`, `1-7`), and a number followed by a
unit also yields the joined token (`12.42亿元`). The corpus's own terms (glossary terms, short heading phrases,
document titles, body names) are added as user words; `save`/`load` persist them with the settings so a query is cut
exactly as the index was.

Search mode here: every word of jieba's precise cut, preceded by each of its 2..n-1 character substrings that is a
dictionary word (jieba's own `cut_for_search` only looks at 2- and 3-character substrings, which loses e.g.
`人民法院` inside the user word `青浦区人民法院`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from . import zh
from .zh.headings import HEADING_NUMBER_PREFIX_RE
from .zh.names import ORG_SUFFIX
from .zh.numbers import TOKEN_NUMBER_RE, TOKEN_UNIT_AFTER_RE
from .zh.places import HOME_PLACES, place_body_re
from .zh.text import (
    HAN_RE,
    JIEBA_WORD_RE,
    PHRASE_SPLIT_RE,
    PUNCT_ONLY_RE,
    QUOTES,
    TERM_SPLIT_RE,
)

if TYPE_CHECKING:  # pragma: no cover
    from .models import ParsedCorpus

TOKENIZER_KIND = "jieba-search"
SETTINGS_FILE = "tokenizer.json"
USER_WORDS_FILE = "user_words.txt"
_VERSION = 1

# The patterns (number tokens and the units after them, heading numbering, place + people's body, body
# names, phrase and term separators) live in ingest.zh, each with an example of what it matches.

_logger_quieted = False


def _quiet_jieba() -> None:
    global _logger_quieted
    if not _logger_quieted:
        import jieba  # its import sets the "jieba" logger to DEBUG, so lower it afterwards

        jieba.setLogLevel(logging.WARNING)
        _logger_quieted = True


def _clean_word(word: str) -> str | None:
    w = zh.strip_ws(zh.normalize_for_match(word)).strip(QUOTES)
    if len(w) < 2 or not JIEBA_WORD_RE.match(w):
        return None
    return w


RECENT_MAX_CHARS = 256  # texts up to this long (questions, not chunks) are remembered ...
RECENT_SIZE = 4096  # ... this many of them


class Tokenizer:
    """Word tokens (jieba search mode + number pre-split) and character 1–2-gram tokens."""

    def __init__(self, user_words: Iterable[str] = (), *, hmm: bool = True) -> None:
        self.hmm = hmm
        self._user_words: list[str] = []
        self._user_set: set[str] = set()
        self._jieba = None
        self._lock = threading.Lock()
        # Short texts (questions) tokenised before: a request tokenises its question for the analysis, the word
        # arm and the answerers. Dropped whole when full or when the dictionary grows; a plain dict pickles.
        self._recent: dict[str, tuple[str, ...]] = {}
        self.add_words(user_words)

    # ----- dictionary -------------------------------------------------------------------------------------------
    @property
    def user_words(self) -> list[str]:
        return list(self._user_words)

    def add_words(self, words: Iterable[str]) -> int:
        """Add terms to this tokenizer's dictionary (normalised like the text); returns how many were new."""
        new: list[str] = []
        for word in words:
            w = _clean_word(word)
            if w and w not in self._user_set:
                self._user_set.add(w)
                self._user_words.append(w)
                new.append(w)
        if new:
            self._recent = {}
        if new and self._jieba is not None:
            with self._lock:
                for w in new:
                    self._jieba.add_word(w)
        return len(new)

    def _tk(self):
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    _quiet_jieba()
                    import jieba

                    tk = jieba.Tokenizer()
                    tk.initialize()
                    for w in self._user_words:
                        tk.add_word(w)
                    self._jieba = tk
        return self._jieba

    # ----- tokens -----------------------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        """Search-mode word tokens of the normalised text; lower-cased, no whitespace/punctuation tokens."""
        if text is None or len(text) > RECENT_MAX_CHARS:
            return self._tokenize(text)
        recent = self._recent
        hit = recent.get(text)
        if hit is None:
            if len(recent) >= RECENT_SIZE:
                self._recent = recent = {}
            hit = recent[text] = tuple(self._tokenize(text))
        return list(hit)  # a new list per call: callers may change theirs

    def _tokenize(self, text: str | None) -> list[str]:
        norm = zh.normalize_for_match(text or "")
        if not norm.strip():
            return []
        tk = self._tk()
        freq = tk.FREQ
        out: list[str] = []
        pos = 0
        for m in TOKEN_NUMBER_RE.finditer(norm):
            if m.start() > pos:
                self._cut(norm[pos : m.start()], tk, freq, out)
            num = m.group(0)
            if num.endswith("%"):
                out.append(num[:-1])
            out.append(num)
            unit = TOKEN_UNIT_AFTER_RE.match(norm, m.end())
            if unit and not num.endswith("%"):
                out.append(num + unit.group(0))
            pos = m.end()
        if pos < len(norm):
            self._cut(norm[pos:], tk, freq, out)
        return out

    def _cut(self, segment: str, tk, freq: dict, out: list[str]) -> None:
        for word in tk.cut(segment, HMM=self.hmm):
            word = word.strip()
            if not word or PUNCT_ONLY_RE.match(word):
                continue
            n = len(word)
            if n > 2 and HAN_RE.search(word):
                for size in range(2, n):
                    for i in range(n - size + 1):
                        sub = word[i : i + size]
                        if freq.get(sub):
                            out.append(sub)
            out.append(word)

    def char_tokens(self, text: str) -> list[str]:
        """Character 1–2-grams of the normalised text (zh.char_ngrams), punctuation-only grams dropped."""
        return [g for g in zh.char_ngrams(text or "") if not PUNCT_ONLY_RE.match(g)]

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]

    def char_tokens_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.char_tokens(t) for t in texts]

    # ----- persistence ------------------------------------------------------------------------------------------
    def settings(self) -> dict:
        return {"kind": TOKENIZER_KIND, "version": _VERSION, "hmm": self.hmm, "user_words": len(self._user_words)}

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        h.update(json.dumps({k: v for k, v in self.settings().items() if k != "user_words"}, sort_keys=True).encode())
        for w in sorted(self._user_words):
            h.update(b"\n" + w.encode("utf-8"))
        return h.hexdigest()

    def save(self, directory: str | Path) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / USER_WORDS_FILE).write_text("".join(w + "\n" for w in self._user_words), encoding="utf-8")
        settings = self.settings() | {"sha256": self.sha256}
        (d / SETTINGS_FILE).write_text(json.dumps(settings, ensure_ascii=False, indent=2), encoding="utf-8")
        return d

    @classmethod
    def load(cls, directory: str | Path) -> "Tokenizer":
        d = Path(directory)
        settings = json.loads((d / SETTINGS_FILE).read_text(encoding="utf-8"))
        if settings.get("kind") != TOKENIZER_KIND:
            raise ValueError(f"{d}: unknown tokenizer kind {settings.get('kind')!r}")
        words_path = d / USER_WORDS_FILE
        words = words_path.read_text(encoding="utf-8").splitlines() if words_path.exists() else []
        return cls(words, hmm=bool(settings.get("hmm", True)))


def _heading_phrases(heading: str, max_len: int = 12) -> list[str]:
    h = HEADING_NUMBER_PREFIX_RE.sub("", heading.strip())
    h = h.strip(QUOTES + "。；;，, ")
    if 2 <= len(h) <= max_len:
        return [h]
    return [p for p in PHRASE_SPLIT_RE.split(h) if 2 <= len(p) <= 10 and HAN_RE.search(p)]


def _place_names(texts: Iterable[str], tk) -> list[str]:
    """Places named before a people's body (川沙新镇 in 川沙新镇人民政府): the jieba word just before the suffix,
    kept only when jieba's dictionary knows it as a proper noun (ns/nr/nz/nt), so 推进区人民代表大会 gives nothing,
    + the suffix."""
    import jieba.posseg

    tags = jieba.posseg.POSTokenizer(tk).word_tag_tab
    out: list[str] = []
    for text in texts:
        for m in place_body_re().finditer(text):
            left = text[max(0, m.start() - 6) : m.start()]
            words = [w for w in tk.cut(left, HMM=False) if w.strip()] if left else []
            if not words or not 2 <= len(words[-1]) <= 3 or not all("\u4e00" <= ch <= "\u9fff" for ch in words[-1]):
                continue
            if tags.get(words[-1]) in ("ns", "nr", "nz", "nt"):
                place = words[-1] + m.group(1)
                if place not in out:
                    out.append(place)
    return out


def _split_term(term: str) -> list[str]:
    """A glossary term as dictionary words: `“六稳”“六保”` -> 六稳, 六保; `深淘滩、低作堰` -> both halves."""
    pieces = [p.strip() for p in TERM_SPLIT_RE.split(term)]
    return [p for p in pieces if len(p) >= 2]


def corpus_terms(corpus: "ParsedCorpus", tokenizer: Tokenizer | None = None) -> list[str]:
    """The corpus's own terms for the tokenizer dictionary, in a deterministic order, duplicates removed.

    Glossary terms (quotes stripped), short heading phrases (numbering removed; long headings contribute their
    short comma-separated pieces), document titles, place names found before a people's body (川沙新镇 in
    川沙新镇人民政府; the word before the suffix comes from jieba, from `tokenizer` when given) and body names such as
    青浦区人民法院 / 青浦区经济委员会 / 川沙新镇人民政府.
    """
    terms: list[str] = []
    seen: set[str] = set()

    def add(t: str) -> None:
        t = t.strip().strip(QUOTES).strip()
        if t and t not in seen:
            seen.add(t)
            terms.append(t)

    for g in corpus.glossary:
        for piece in _split_term(g.term):
            add(piece)
    for d in corpus.documents:
        title = d.title.strip()
        if 2 <= len(title) <= 30:
            add(title)
    for s in corpus.sections:
        if s.level > 0:
            for p in _heading_phrases(s.heading):
                add(p)
    for c in corpus.chunks:
        for h in c.heading_path[1:] if c.heading_path and c.heading_path[0] == c.doc_title else c.heading_path:
            for p in _heading_phrases(h):
                add(p)
    places = _place_names((d.text for d in corpus.documents), (tokenizer or Tokenizer())._tk())
    for p in places:
        add(p)
    org_re = re.compile("(?:" + "|".join(re.escape(p) for p in sorted({*places, *HOME_PLACES}, key=len, reverse=True))
                        + ")" + ORG_SUFFIX)
    for d in corpus.documents:
        for m in org_re.finditer(d.text):
            add(m.group(0))
    return terms
