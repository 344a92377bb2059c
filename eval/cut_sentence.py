"""Unanswerable questions for fitting the abstainer, made by cutting the answer SENTENCE out of the corpus.

The reports' unanswerable questions are near misses: the corpus talks about the same entity, body and topic but
does not state the asked fact. DRCD dev's withheld-paragraph questions are not like that (their whole topic is
gone), and changing a question's words (eval.near_miss) taught the abstainer that a mismatched word means
"decline", so it declined answerable paraphrases. Here the QUESTION stays as written and the corpus changes
(SQuAD-2.0-like, no phrase list): the sentence stating the answer is cut, its paragraph with its topic, entities
and neighbouring facts stays. A question is unanswerable after the cut only when NO document of the cut corpus
holds any of its answer texts (whitespace deleted); when some still does, it is dropped (the corpus may answer it).

- `cut_open_domain`: a SQuAD-format fitting set run open-domain (eval.public_qa, same withheld paragraphs): in a
  seeded share of the kept paragraphs, the sentence (ingest.zh.sentence_spans) holding one seeded question's
  answer is cut. Every question of a cut paragraph whose answer text is gone from the whole corpus is a cut
  question; one whose answer text is still in its paragraph stays answerable (and is not needed: the base set
  already holds it).
- `cut_reports`: the tune splits' answerable items over the shipped reports: the sentence(s) holding their
  evidence quotes are cut, in batches (one corpus, and one index, per batch); two questions of one batch never
  have their evidence in overlapping but different sentences, so a batch's cuts are each question's own.
Each cut question keeps the id of the question it was made from as `origin` (the fitting puts both in one fold).
Callers pass fitting sources only (DRCD dev, the `tune` splits): nothing here reads a report split.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ingest.zh import match_key, sentence_spans, strip_ws
from ingest.zh.text import CLAUSE_MARKS, SENTENCE_ENDS

from .dataset import EvalItem
from .public_qa import UNANSWERABLE_TYPE, SquadParagraph

CUT = ":cut"  # suffix of the source of a fitting source's cut questions (eval.train_answerer.CUT_WEIGHT)
CUT_SHARE = 0.9  # share of the kept paragraphs of a SQuAD-format set that lose one answer sentence
MAX_CUTS_PER_BATCH = 25  # distinct cuts per report batch: each batch's corpus keeps nearly all of its text
# What is cut: the sentence (sentence_spans' marks) or only the clause (also at commas and colons) holding the
# answer, which keeps the rest of its sentence (the indicator named, its other figures)
UNITS = {"sentence": SENTENCE_ENDS, "clause": SENTENCE_ENDS + CLAUSE_MARKS}


@dataclass(frozen=True)
class CutQuestion:
    item: EvalItem  # the unchanged question, unanswerable over its batch's corpus (answers [])
    origin: str  # id of the answerable item it was made from
    source: str = ""  # the fitting source of the origin (reports: `reports_dev:tune`)
    batch: int = 0  # which cut corpus it is unanswerable over


@dataclass
class CutSet:
    """Cut corpora and the questions unanswerable over them (`questions[i].batch` indexes `corpora`)."""

    corpora: list[dict[str, str]]  # per batch: document name -> text
    questions: list[CutQuestion]
    stats: dict[str, int] = field(default_factory=dict)


def _spans_over(text: str, start: int, end: int, unit: str = "sentence") -> list[tuple[int, int]]:
    """The sentence (or clause) spans of `text` that overlap [start, end)."""
    return [(s, e) for s, e in sentence_spans(text, UNITS[unit]) if s < end and e > start]


def _without(text: str, spans: Sequence[tuple[int, int]]) -> str:
    out, at = [], 0
    for s, e in sorted(set(spans)):
        out.append(text[at:s])
        at = max(at, e)
    out.append(text[at:])
    return "".join(out)


def _unanswerable(item: EvalItem, origin: str, source: str = "", batch: int = 0) -> CutQuestion:
    changed = replace(item, id=f"{item.id}~cut", answers=[], evidence=[], type=UNANSWERABLE_TYPE)
    return CutQuestion(changed, origin, source, batch)


def cut_open_domain(
    paragraphs: Sequence[SquadParagraph], withheld: set[str], share: float = CUT_SHARE, seed: int = 0,
    unit: str = "sentence",
) -> tuple[list[SquadParagraph], CutSet]:
    """The paragraphs with answer sentences cut from a seeded `share` of the kept ones, and the cut questions.

    The returned paragraphs are all of them (withheld ones unchanged, still withheld); `CutSet.corpora[0]` maps
    each kept paragraph's doc_name to its (cut) context."""
    rng = random.Random(seed)
    kept = [p for p in paragraphs if p.doc_name not in withheld]
    chosen = set(rng.sample([p.doc_name for p in kept], round(share * len(kept))))
    cut: dict[str, SquadParagraph] = {}
    for p in kept:
        if p.doc_name not in chosen:
            continue
        located = [q for q in p.questions if q.answers and q.question and q.answer_start >= 0]
        if not located:
            continue
        q = rng.choice(located)
        spans = _spans_over(p.context, q.answer_start, q.answer_start + len(q.answers[0]), unit)
        rest = _without(p.context, spans).strip()
        if rest:  # a one-sentence paragraph would vanish: that is the withheld-paragraph case, already fitted
            cut[p.doc_name] = replace(p, context=rest)
    out = [cut.get(p.doc_name, p) for p in paragraphs]
    docs = {p.doc_name: p.context for p in out if p.doc_name not in withheld}
    corpus = "\x00".join(strip_ws(t) for t in docs.values())
    questions: list[CutQuestion] = []
    stats = {"cut_paragraphs": len(cut), "still_answerable": 0, "dropped_answer_elsewhere": 0}
    for p in (cut[n] for n in sorted(cut)):
        own = strip_ws(p.context)
        for k, q in enumerate(p.questions):
            if not q.answers or not q.question:
                continue
            keys = [strip_ws(a) for a in q.answers]
            if any(a in own for a in keys):
                stats["still_answerable"] += 1
            elif any(a in corpus for a in keys):
                stats["dropped_answer_elsewhere"] += 1
            else:
                qid = q.id or f"{p.doc_name}-q{k}"
                item = EvalItem(qid, q.question, list(q.answers), [], "open", extra={"paragraph": p.doc_name})
                questions.append(_unanswerable(item, qid))
    stats["cut_questions"] = len(questions)
    return out, CutSet([docs], questions, stats)


def _locate(text: str, quote: str) -> list[tuple[int, int]]:
    """Every occurrence of `quote` in `text`, as (start, end) offsets of `text`; whitespace-blind when the exact
    quote is not there (the reports' text has spaces inside numbers that quotes do not)."""
    found, at = [], text.find(quote)
    while quote and at >= 0:
        found.append((at, at + len(quote)))
        at = text.find(quote, at + 1)
    if found or not strip_ws(quote):
        return found
    keep = [i for i, ch in enumerate(text) if not ch.isspace()]  # offsets of the non-space characters
    bare, key = "".join(text[i] for i in keep), strip_ws(quote)
    at = bare.find(key)
    while at >= 0:
        found.append((keep[at], keep[at + len(key) - 1] + 1))
        at = bare.find(key, at + 1)
    return found


def _cuts_of(texts: dict[str, str], item: EvalItem, unit: str = "sentence") -> frozenset[tuple[str, int, int]]:
    """The sentences (document, start, end) holding any of the item's evidence quotes; with unit `clause`, the
    clauses of each quote's occurrence that hold a gold answer text (its sentences when none is found there)."""
    out: set[tuple[str, int, int]] = set()
    for quote in item.evidence:
        for name, text in texts.items():
            for s, e in _locate(text, quote):
                golds = [(s + a, s + b) for g in item.answers or [] for a, b in _locate(text[s:e], g)]
                if unit == "clause" and golds:
                    out.update((name, a, b) for gs, ge in golds for a, b in _spans_over(text, gs, ge, unit))
                else:
                    out.update((name, a, b) for a, b in _spans_over(text, s, e))
    return frozenset(out)


def _batches(cuts: Sequence[frozenset], max_cuts: int) -> list[int]:
    """A batch per question (in order, greedy): a batch takes a question whose cut equals one of its cuts, or
    shares no sentence with any of them, while it holds fewer than `max_cuts` distinct cuts."""
    batches: list[list[frozenset]] = []
    out = []
    for cut in cuts:
        for b, held in enumerate(batches):
            if cut in held:
                break
            if len(held) < max_cuts and not any(cut & h for h in held):
                held.append(cut)
                break
        else:
            batches.append([cut])
            b = len(batches) - 1
        out.append(b)
    return out


def cut_reports(
    texts: dict[str, str], items: Sequence[tuple[str, EvalItem]], max_cuts: int = MAX_CUTS_PER_BATCH,
    unit: str = "sentence",
) -> CutSet:
    """Per batch, the reports' texts with the evidence sentences of its (source, item) pairs cut, and those items
    that no sentence of their batch's corpus answers any more (match_key of each gold text; others dropped)."""
    stats = {"answerable": 0, "evidence_not_found": 0, "dropped_answer_elsewhere": 0}
    located: list[tuple[str, EvalItem, frozenset]] = []
    for source, item in items:
        if not item.answers:
            continue
        stats["answerable"] += 1
        cut = _cuts_of(texts, item, unit)
        if cut:
            located.append((source, item, cut))
        else:
            stats["evidence_not_found"] += 1
    batch_of = _batches([c for _, _, c in located], max_cuts)
    corpora: list[dict[str, str]] = []
    for b in range(max(batch_of, default=-1) + 1):
        spans = [s for (_, _, c), k in zip(located, batch_of) if k == b for s in c]
        corpora.append({n: _without(t, [(a, e) for d, a, e in spans if d == n]) for n, t in texts.items()})
    keys = [match_key("\x00".join(c.values())) for c in corpora]
    questions = []
    for (source, item, _), b in zip(located, batch_of):
        if any(match_key(g) and match_key(g) in keys[b] for g in item.answers or []):
            stats["dropped_answer_elsewhere"] += 1
        else:
            questions.append(_unanswerable(item, item.id, source, b))
    stats |= {"batches": len(corpora), "cut_questions": len(questions)}
    return CutSet(corpora, questions, stats)
