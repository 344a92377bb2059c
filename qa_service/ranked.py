"""The learned extractive answerer: candidates ranked by a logistic model, one calibrated decision to abstain.

    passages -> units (qa_service.candidates) -> features (qa_service.answer_features)
             -> ranker: the best unit -> trimmer: its best clause window when the unit is long
             -> runner-up: the second unit shown too when the `second` model finds the ranker unsure
             -> note: the document's own definition of a term the question and the shown unit both name
             -> abstainer: P(wrong or unanswerable) from question-level evidence (qa_service.answerability)
             -> an answer with its citation, or an abstention; both carry abstain_probability

The models are fitted by `reportqa train-answerer` (eval.train_answerer) on DRCD dev and the tune splits,
never on a report split. No gate vetoes an answer: every former gate is a feature of the abstainer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ingest.models import Chunk
from ingest.zh import match_key
from ingest.zh.text import without_quotes

from .answer_features import (
    UNIT_FEATURES, Featurized, Similarity, add_similarity, defines, evidence, features, question_view, runner_up,
    second_features,
)
from .answer_model import AnswerModel
from .answerability import NO_PASSAGE_REASON, abstain_reason, question_features
from .candidates import AnswerCandidate, clause_windows, names_its_heading, roll_of, units
from . import messages
from .claims import Claim, DraftAnswer, display_quote
from .config import RankedConfig
from .extractive import abstain, legacy_gates

if TYPE_CHECKING:
    from .answerers import AnswerContext

_COV = UNIT_FEATURES.index("cov_ctx")
_GROUP_MIN_COVERAGE = 0.5  # a document's candidate must cover this much of the question to answer for it
_GROUP_COVERAGE_SLACK = 0.05  # ...and be within this of the document's best-covering candidate
# Answer types a roll of names answers: a counted label (`因事因病请假：6 人`) is shown with the names after it.
_ROLL_TYPES = frozenset({"person", "list"})
# Answer types a definition does not answer: a figure, date, person or place is stated by the unit itself.
_STATED_TYPES = frozenset({"number", "date", "person", "place"})
PlaceDocs = Callable[[str], "set[str] | frozenset[str]"]


class RankedAnswerer:
    """The last answerer of the pipeline: it always answers or abstains."""

    mode = "extractive"
    free_text = False

    def __init__(self, model: AnswerModel, config: RankedConfig, place_docs: PlaceDocs | None, similarity: Similarity | None):
        self.model = model
        self.config = config
        self.place_docs = place_docs
        self.similarity = similarity

    def featurize(self, ctx: AnswerContext) -> Featurized | None:
        passages = self.read(ctx)
        qv = question_view(ctx.analysis.question)
        cands = units(passages)
        if not cands:
            return None
        by_id = {p.chunk.id: p for p in ctx.retrieved.passages}
        scores = [by_id[c.id].score if c.id in by_id else 0.0 for c in passages]
        arm_ranks = [by_id[c.id].ranks if c.id in by_id else {} for c in passages]
        ev = evidence(qv, passages, scores, ctx.corpus.opening, self.place_docs, arm_ranks)
        add_similarity(qv, cands, ev, self.similarity)
        top = by_id.get(passages[0].id)
        ranks = dict(top.ranks) if top is not None else {}
        gates = legacy_gates(ctx.analysis.question, passages, self.config.legacy, self.place_docs)
        return Featurized(qv, cands, features(qv, cands, ev), ev, scores, ranks, gates)

    def read(self, ctx: AnswerContext) -> list[Chunk]:
        """The passages whose candidates are scored: the request's top passages, continued down the retrieved
        ranking to `max_passages` (the fused order often puts the answer's paragraph just below the top 5)."""
        seen = {c.id for c in ctx.passages}
        more = [p.chunk for p in ctx.retrieved.passages if p.chunk.id not in seen]
        return [*ctx.passages, *more][: self.config.max_passages]

    def windows(self, f: Featurized, unit: AnswerCandidate) -> tuple[list[AnswerCandidate], np.ndarray]:
        """The clause windows of a unit and their features."""
        wins = clause_windows(unit)
        if not wins:
            return [], np.zeros((0, f.x.shape[1]))
        add_similarity(f.qv, wins, f.ev, self.similarity)
        return wins, features(f.qv, wins, f.ev)

    def decide(self, f: Featurized) -> tuple[int, float, np.ndarray]:
        """The best unit, P(wrong or unanswerable), and the question features it was computed from."""
        logits = self.model.ranker.logit(f.x)
        best = int(np.argmax(logits))
        qx = question_features(f, logits, best)
        return best, float(self.model.abstainer.probability(qx)[0]), qx

    def second(self, f: Featurized, best: int) -> int | None:
        """The ranker's runner-up when the `second` model gives it at least `second_at` of holding the answer the
        best unit does not (the ranker is unsure between them; `second_other_at` when it is in another passage), else
        None."""
        if self.model.second is None or min(self.config.second_at, self.config.second_other_at) >= 1.0:
            return None
        logits = self.model.ranker.logit(f.x)
        other = runner_up(f.units, logits, best)
        if other is None:
            return None
        p = float(self.model.second.probability(second_features(f.units, logits, best, other))[0])
        same = f.units[other].chunk.id == f.units[best].chunk.id
        return other if p >= (self.config.second_at if same else self.config.second_other_at) else None

    def answer(self, ctx: AnswerContext) -> DraftAnswer:
        q = ctx.analysis.question
        f = self.featurize(ctx)
        if f is None:
            return _abstained(abstain(q), 1.0, NO_PASSAGE_REASON)
        best, p, qx = self.decide(f)
        threshold = self.model.threshold if self.config.abstain_at is None else self.config.abstain_at
        if p >= threshold:
            return _abstained(abstain(q), p, abstain_reason(self.model.abstainer, qx))
        scope = ctx.analysis.scope
        # Figures asked of two named documents: each document's own figure (as the rule-based answerer gave them).
        claims = self._per_group(f, scope.groups) if scope.is_comparison and f.qv.atype == "number" else []
        shown = self._shown_units(f, best)
        draft = DraftAnswer(claims=claims or [self._claim(f, u) for u in [*shown, *self._notes(f, shown)]])
        draft.abstain_probability = round(p, 4)
        return draft

    def _shown_units(self, f: Featurized, best: int) -> list[AnswerCandidate]:
        """The best unit, and the runner-up when the ranker is unsure; two units of one passage in text order.
        A line naming its passage's heading is no answer: the other is shown alone, or, when it was the only one,
        the ranker's best unit that is not such a line."""
        other = self.second(f, best)
        picked = [best] if other is None else [best, other]
        kept = [i for i in picked if not names_its_heading(f.units[i])]
        if not kept:
            logits = self.model.ranker.logit(f.x)
            rest = [i for i in range(len(f.units)) if not names_its_heading(f.units[i])]
            kept = [max(rest, key=lambda i: logits[i])] if rest else picked
        if len(kept) == 1:
            return [f.units[kept[0]]]
        a, b = f.units[kept[0]], f.units[kept[1]]
        return [b, a] if a.chunk.id == b.chunk.id and b.start < a.start else [a, b]

    def _notes(self, f: Featurized, shown: list[AnswerCandidate]) -> list[AnswerCandidate]:
        """The document's own definition of a term that the question asks about and a shown unit names, when the
        question asks for no figure, date, person or place. `“五大工作法”是哪五种方法？` ranks the sentence that uses the
        term with the question's context first (`探索无证无照食品经营治理“五大工作法”⁷，…`); its footnote
        (`“五大工作法”：即组织发动法、…`) holds what was asked, so both are shown, each cited."""
        if f.qv.atype in _STATED_TYPES:
            return []
        docs = {u.chunk.doc_id for u in shown}
        named = [match_key(without_quotes(u.text)) for u in shown]
        notes: list[AnswerCandidate] = []
        for u in f.units:
            if u.kind != "definition" or u.chunk.doc_id not in docs or any(u.chunk.id == s.chunk.id for s in shown):
                continue
            term = defines(u.text, f.qv.unquoted)
            if term and any(term in key for key in named) and all(n.chunk.id != u.chunk.id for n in notes):
                notes.append(u)
        return notes

    def _claim(self, f: Featurized, unit: AnswerCandidate, prefix: str = "", trim_above: int | None = None) -> Claim:
        shown = self.shown(f, unit, trim_above)
        quote = shown.text.strip()
        return Claim(text=display_quote(quote), sources=[shown.chunk], quotes=[quote], prefix=prefix)

    def _per_group(self, f: Featurized, groups: list[list[str]]) -> list[Claim]:
        """A question comparing named documents: the best unit of each, with its document (two claims or none)."""
        logits = self.model.ranker.logit(f.x)
        claims = []
        for group in groups:
            in_group = [i for i, u in enumerate(f.units) if u.chunk.doc_id in group and f.x[i, _COV] >= _GROUP_MIN_COVERAGE]
            if in_group:
                # The retrieval ranks were earned by the whole two-document question, not by this document's half:
                # within a document, the candidates covering the most of the question come first.
                most = max(f.x[k, _COV] for k in in_group)
                in_group = [k for k in in_group if f.x[k, _COV] >= most - _GROUP_COVERAGE_SLACK]
                i = max(in_group, key=lambda k: logits[k])
                # Two documents' sentences side by side are long: each is shown as its best clause window.
                claims.append(self._claim(f, f.units[i], messages.document_prefix(f.units[i].chunk.doc_title), 0))
        return claims if len(claims) > 1 else []

    def shown(self, f: Featurized, unit: AnswerCandidate, trim_above: int | None = None) -> AnswerCandidate:
        """The unit, or its best clause window when it is a sentence longer than `trim_above` and the trimmer
        gives that window at least `trim_confidence` of holding the answer (else the sentence is shown whole);
        a counted label, for a who or which question, is shown as the roll it heads."""
        if f.qv.atype in _ROLL_TYPES and (roll := roll_of(unit, f.units)) is not None:
            return roll
        limit = self.config.trim_above if trim_above is None else trim_above
        if unit.kind != "sentence" or len(unit.text.strip()) <= limit:
            return unit
        wins, x = self.windows(f, unit)
        if not wins:
            return unit
        logits = self.model.trimmer.logit(x)
        # On a tie the shorter window wins.
        i = max(range(len(wins)), key=lambda k: (round(float(logits[k]), 6), -len(wins[k].text)))
        confident = 1.0 / (1.0 + np.exp(-logits[i])) >= self.config.trim_confidence
        return wins[i] if confident else unit


def _abstained(draft: DraftAnswer, p: float, reason: str) -> DraftAnswer:
    draft.abstain_probability = round(p, 4)
    draft.abstain_reason = reason
    return draft
