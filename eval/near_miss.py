"""Near-miss questions for fitting the abstainer: SQuAD-2.0-style unanswerable questions made by rule.

The reports' unanswerable questions are near misses of answerable ones: a 2021 figure when the reports give
2020, an indicator the reports state for another place, another body. The fitting data (DRCD dev open-domain,
whose unanswerable questions lost their whole paragraph) barely holds such questions, so the abstainer cannot
learn that a disagreeing year, place or indicator matters. From each answerable question of a FITTING source
this module makes:
- `year`:   its year replaced by a nearby one that no document holding the gold answer mentions;
- `period`: its period (上半年, 全年, …) or month range (1-7月) replaced by another that no such document mentions;
- `place`:  a place it names replaced by another place (of the same suffix when there is one) that questions of
            the source name, which no such document mentions;
- `term`:   its most specific term replaced by a term of another question of the same source (same length, at
            least 3, and last character: `财政总收入` -> `财政总支出`, an indicator of the same kind), which no
            such document mentions;
all unanswerable (their label is certain as far as a rule can make it: besides the gold documents, no passage
holds the new word together with the question's next most specific term, so no other document answers it), and
- `restate`: the question with its gold document's own year put in front (the year its title gives: a report's
            period), answerable: a question that restates the report's period must never be declined for it.
Nothing here reads a report split, CMRC or DRCD test: callers pass fitting sources only.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from ingest.zh import match_key
from ingest.zh.near_miss import MONTH_RANGE_RE, YEAR_RE, period_re, period_words, same_periods
from ingest.zh.places import question_places, strip_place_suffix
from qa_service.pipeline import AnswerPipeline
from qa_service.ranked import RankedAnswerer

from .dataset import EvalItem
from .train_answerer import NEAR_MISS, QuestionExample, collect

log = logging.getLogger(__name__)

KINDS = ("year", "period", "place", "term", "restate")
MAX_PER_KIND = 250  # most questions of one kind per source (a random sample): no kind swamps the others


@dataclass(frozen=True)
class Passage:
    doc_id: str
    text: str  # match key of heading path and text
    doc_title: str = ""


@dataclass(frozen=True)
class NearMiss:
    item: EvalItem  # the changed question: answers [] when unanswerable
    origin: str  # the id of the answerable item it was made from
    kind: str  # one of KINDS


class Corpus:
    """The passages of one fitting source, with the lookups the generator needs."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = list(passages)
        self.docs: dict[str, str] = {}
        self.period: dict[str, str] = {}
        for p in self.passages:
            self.docs[p.doc_id] = self.docs.get(p.doc_id, "") + p.text
            if p.doc_id not in self.period:  # a report dates itself in its title (a paragraph's file name does not)
                self.period[p.doc_id] = match_key(p.doc_title)

    def gold_docs(self, golds: Sequence[str]) -> list[str]:
        keys = [k for k in (match_key(g) for g in golds) if k]
        return [d for d, text in self.docs.items() if any(k in text for k in keys)]

    def pairs(self, word: str, other: str | None) -> bool:
        """Whether a passage holds `word` together with `other` (or `word` alone when other is None)."""
        return any(word in p.text and (other is None or other in p.text) for p in self.passages)


def near_misses(
    items: Sequence[EvalItem], corpus: Corpus, weights: Callable[[str], dict[str, float]], seed: int = 0,
    kinds: Sequence[str] = KINDS, max_per_kind: int = MAX_PER_KIND,
) -> list[NearMiss]:
    """The near misses of a source's answerable items; `weights(question)` gives its terms' specificity (idf)."""
    rng = random.Random(seed)
    answerable = [i for i in items if i.answers]
    pool = _term_pool(answerable, weights)
    places = _place_pool(items, corpus)
    out: list[NearMiss] = []
    for item in answerable:
        gold_docs = corpus.gold_docs(item.answers or [])
        if not gold_docs:
            continue  # no document holds the gold: nothing certifies a change
        gold_text = "".join(corpus.docs[d] for d in gold_docs)
        w = weights(item.question)
        makers = {
            "year": lambda: _swap_year(item.question, gold_text),
            "period": lambda: _swap_period(item.question, gold_text, rng),
            "place": lambda: _swap_place(item.question, gold_text, places, rng),
            "term": lambda: _swap_term(item.question, gold_text, w, pool, rng),
        }
        for kind in kinds:
            if kind == "restate":
                q = _restate(item.question, [corpus.period[d] for d in gold_docs])
                if q:
                    out.append(NearMiss(replace(item, id=f"{item.id}~restate", question=q), item.id, kind))
                continue
            made = makers[kind]()
            if made is None:
                continue
            question, old, new = made
            if corpus.pairs(new, _second_term(w, (old, new))):
                continue  # another passage might answer the changed question
            changed = replace(item, id=f"{item.id}~{kind}", question=question, answers=[], evidence=[],
                              type="unanswerable")
            out.append(NearMiss(changed, item.id, kind))
    return _capped(out, max_per_kind, rng)


def _capped(made: list[NearMiss], cap: int, rng: random.Random) -> list[NearMiss]:
    keep: set[int] = set()
    for kind in KINDS:
        idx = [i for i, n in enumerate(made) if n.kind == kind]
        keep.update(idx if len(idx) <= cap else rng.sample(idx, cap))
    return [n for i, n in enumerate(made) if i in keep]


def _swap_year(question: str, gold_text: str) -> tuple[str, str, str] | None:
    m = YEAR_RE.search(match_key(question))
    if m is None or m.group(1) not in question:
        return None
    year = int(m.group(1))
    for d in (1, -1, 2, -2, 3):
        new = str(year + d)
        if new not in gold_text:
            return question.replace(m.group(1), new, 1), m.group(1), new + "年"
    return None


def _swap_period(question: str, gold_text: str, rng: random.Random) -> tuple[str, str, str] | None:
    m = period_re().search(question)
    if m is not None:
        others = [p for p in period_words() if p != m.group(0) and not _stated(p, gold_text)]
        if others:
            new = rng.choice(others)
            return question.replace(m.group(0), new, 1), m.group(0), new
    r = MONTH_RANGE_RE.search(question)
    if r is not None:
        month = int(r.group(1))
        others = [k for k in range(2, 13) if k != month and not _stated(f"1-{k}月", gold_text)]
        if others:
            k = min(others, key=lambda k: (abs(k - month), k))
            return question.replace(r.group(0) + "月", f"1-{k}月", 1), r.group(0) + "月", f"1-{k}月"
    return None


def _stated(scope: str, text: str) -> bool:
    """Whether `text` names the scope or one naming the same months (`1-6月` is `上半年`)."""
    return any(s in text for s in same_periods(scope))


def _swap_place(question: str, gold_text: str, places: Sequence[str], rng: random.Random) -> tuple[str, str, str] | None:
    for place in question_places(match_key(question)):
        if place not in question:
            continue
        name = strip_place_suffix(place)
        others = [p for p in places if strip_place_suffix(p) != name
                  and p not in gold_text and strip_place_suffix(p) not in gold_text and p not in question]
        same = [p for p in others if p.endswith(place[len(name):])]  # a place of the same level first
        others = same or others
        if others:
            new = rng.choice(others)
            return question.replace(place, new, 1), place, new
    return None


def _place_pool(items: Sequence[EvalItem], corpus: Corpus) -> list[str]:
    """Places named by at least two questions of the source and by the corpus: the question pattern also reads
    phrases (`度川沙新镇` of `2020年度川沙新镇`), which recur less."""
    counts: dict[str, int] = {}
    for item in items:
        for place in question_places(match_key(item.question)):
            counts[place] = counts.get(place, 0) + 1
    named = [p for p, n in counts.items() if n >= 2 and corpus.pairs(p, None)]
    # a phrase ending in a shorter place (`于青浦区` / `青浦区`) is that place with a word before it
    return sorted(p for p in named if not any(q != p and p.endswith(q) for q in named))


def _term_pool(items: Sequence[EvalItem], weights: Callable[[str], dict[str, float]]) -> dict[tuple[int, str], list[str]]:
    """The source's question terms by (length, last character): indicators of one kind."""
    pool: dict[tuple[int, str], set[str]] = {}
    for item in items:
        for term in weights(item.question):
            if len(term) >= 3 and not any(ch.isdigit() for ch in term):
                pool.setdefault((len(term), term[-1]), set()).add(term)
    return {k: sorted(v) for k, v in pool.items()}


def _swap_term(question: str, gold_text: str, w: dict[str, float], pool: dict[tuple[int, str], list[str]],
               rng: random.Random) -> tuple[str, str, str] | None:
    for term in sorted(w, key=lambda t: -w[t])[:2]:
        if term not in question or len(term) < 3 or any(ch.isdigit() for ch in term):
            continue
        others = [t for t in pool.get((len(term), term[-1]), []) if t != term and t not in gold_text
                  and t not in question]
        if others:
            new = rng.choice(others)
            return question.replace(term, new, 1), term, new
    return None


def _second_term(w: dict[str, float], changed: tuple[str, str]) -> str | None:
    """The question's most specific term besides the changed words and figures (None: nothing to pair with)."""
    rest = [t for t in sorted(w, key=lambda t: -w[t])
            if not any(c in t or t in c for c in changed) and not any(ch.isdigit() for ch in t)]
    return rest[0] if rest else None


def _restate(question: str, periods: Sequence[str]) -> str | None:
    """The question with its documents' own year in front, when every document holding the gold dates itself
    by the same year and the question names no year."""
    if YEAR_RE.search(match_key(question)):
        return None
    years = {m.group(1) if m else None for m in (YEAR_RE.search(p) for p in periods)}
    if len(years) != 1 or None in years:
        return None
    return f"{years.pop()}年{question}"


def summary(made: Sequence[NearMiss]) -> dict[str, int]:
    """How many questions of each kind were made."""
    out = {k: 0 for k in KINDS}
    for n in made:
        out[n.kind] += 1
    return out


def corpus_of(chunks: Iterable) -> Corpus:
    """The generator's view of an index's chunks (ingest's Chunk: doc_id, doc_title, heading_path, text)."""
    return Corpus([Passage(c.doc_id, match_key(" ".join(c.heading_path) + c.text), c.doc_title) for c in chunks])


def collect_near_misses(
    pipeline: AnswerPipeline, answerer: RankedAnswerer, items: Sequence[EvalItem], source: str, chunks: Iterable,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[QuestionExample]:
    """The fitting examples of a source's near misses: source `<source>:near-miss`, each in its origin's group."""
    made = near_misses(items, corpus_of(chunks), lambda q: pipeline.analyzer.analyze(q).question.weights)
    log.info("%s: near misses %s", source, summary(made))
    origin = {n.item.id: n.origin for n in made}
    examples = collect(pipeline, answerer, [n.item for n in made], source + NEAR_MISS, progress=progress)
    for e in examples:
        e.group = origin[e.item_id]
    return examples
