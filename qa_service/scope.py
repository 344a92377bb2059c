"""Scope detection: which documents a question names, and what it asks once the naming words are gone.

Generic recipes fail when a question names a report (`青浦区人民法院2020年上半年工作报告中…`): its title
words match the contents and title chunks best. We match the question against each document's
*aliases* (title, reporter, and the short forms people use for the issuing body: `区法院`, `区政府`,
`人大常委会`, `财经委`), restrict retrieval to the named documents, and rank by the remaining words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from ingest.index_reader import IndexReader
from ingest.lookups import DocumentMentions
from ingest.models import Document
from ingest.zh import match_key
from ingest.zh.names import body_aliases
from ingest.zh.places import known_places, scope_place_names
from ingest.zh.question import COMPARE_RE, MENTION_SPLIT_RE, REPORT_NOUN_RE

from .config import ScopeConfig

PREAMBLE_CHARS = 120
PREAMBLE_WEIGHT = 0.5


@dataclass
class DocProfile:
    doc_id: str
    alias_text: str  # normalised, whitespace-free: title, reporter, short forms of the body
    preamble: str  # normalised opening lines, a weaker signal


@dataclass
class Scope:
    doc_ids: list[str] = field(default_factory=list)  # empty: no scope named
    groups: list[list[str]] = field(default_factory=list)  # >1 group: compare, one retrieval each
    residual_query: str = ""
    score: float = 0.0

    @property
    def is_comparison(self) -> bool:
        return len(self.groups) > 1


def documents_of(index: IndexReader) -> list[dict]:
    """What scope detection reads of each indexed document."""
    return [
        {"doc_id": d.doc_id, "title": d.title, "reporter": d.reporter, "text": d.text or ""}
        for d in index.documents.values()
    ]


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _mentions_of(documents: Sequence[dict]) -> DocumentMentions:
    return DocumentMentions(
        Document(doc_id=d["doc_id"], title=d["title"], source_file="", text=d.get("text", "")) for d in documents
    )


class ScopeDetector:
    """Finds the documents a question names. Built once per index from the document list
    (dicts with doc_id, title, reporter and text; see `documents_of`)."""

    @classmethod
    def for_index(cls, index: IndexReader, config: ScopeConfig) -> ScopeDetector:
        """The detector over an index's documents, sharing its place lookup (IndexReader.mentions)."""
        return cls(documents_of(index), config, mentions=index.mentions)

    def __init__(self, documents: Sequence[dict], config: ScopeConfig, mentions: DocumentMentions | None = None):
        self.config = config
        self.min_score = config.min_score
        self.mention_min_score = config.mention_min_score
        self.tie_ratio = config.tie_ratio
        self.extra_min = config.extra_min
        self.profiles = [
            DocProfile(
                doc_id=d["doc_id"],
                alias_text=match_key(body_aliases(d["title"], d.get("reporter"))),
                # The preamble (`──2020年8月18日在川沙新镇第二届人民代表大会…`) names the place and
                # body when the title does not (the town report is titled `政府上半年工作情况报告`).
                preamble=match_key(d.get("text", "")[:PREAMBLE_CHARS]),
            )
            for d in documents
        ]
        # Which documents mention a place: shared with the answerer (IndexReader.mentions), precomputed for the
        # places the reports name, so a question's place filter does not scan every document's text.
        self.mentions = mentions if mentions is not None else _mentions_of(documents)
        self._position = {p.doc_id: i for i, p in enumerate(self.profiles)}
        self._strong = [_bigrams(p.alias_text) for p in self.profiles]
        self._bigram_sets = [strong | _bigrams(p.preamble) for strong, p in zip(self._strong, self.profiles)]
        self._known_places = known_places(self.mentions.keys[p.doc_id] for p in self.profiles)
        self.mentions.precompute(self._known_places)
        n = max(len(self.profiles), 1)
        df: dict[str, int] = {}
        for bs in self._bigram_sets:
            for b in bs:
                df[b] = df.get(b, 0) + 1
        # Bigrams shared by every document (青浦, 报告) say nothing about scope; idf gives them ~0.
        self._idf = {b: math.log((n + 1) / (c + 0.5)) for b, c in df.items()}

    def detect(self, question: str) -> Scope:
        if not self.profiles:
            return Scope(residual_query=question)
        compared = self._compared_documents(question)
        if compared is not None:
            return compared
        return self._detect(question)

    def _compared_documents(self, question: str) -> Scope | None:
        """`区政府工作报告和计划执行情况报告…分别是多少？`: each named report is scoped on its own."""
        if not COMPARE_RE.search(question):
            return None
        mentions = [m for m in MENTION_SPLIT_RE.split(question) if REPORT_NOUN_RE.search(m)]
        if len(mentions) < 2:
            return None
        groups: list[list[str]] = []
        for mention in mentions:
            scope = self._detect(mention, min_score=self.mention_min_score, single=True)
            if scope.doc_ids and scope.doc_ids not in groups:
                groups.append(scope.doc_ids)
        if len(groups) < 2:
            return None
        doc_ids = [d for g in groups for d in g]
        aliases = [p.alias_text for p in self.profiles if p.doc_id in doc_ids]
        return Scope(doc_ids=doc_ids, groups=groups, residual_query=self._residual(question, aliases), score=0.0)

    def _detect(self, question: str, min_score: float | None = None, single: bool = False) -> Scope:
        q = match_key(question)
        qb = _bigrams(q)
        allowed = self._place_filter(q)
        matched = [qb & bs if i in allowed else set() for i, bs in enumerate(self._bigram_sets)]
        # fsum: a set's order changes with the interpreter's hash seed, and a plain float sum with it, so two
        # documents matching equally would win by the seed (the same question scoped to -16 in one process, -02 in
        # another); fsum's sum is exact whatever the order, and ties break by document order.
        scores = [
            math.fsum(self._idf.get(b, 0.0) * (1.0 if b in strong else PREAMBLE_WEIGHT) for b in m)
            for m, strong in zip(matched, self._strong)
        ]
        best = max(range(len(scores)), key=lambda i: scores[i])
        if scores[best] < (self.min_score if min_score is None else min_score):
            return Scope(residual_query=question)
        # Documents that tie with the best (e.g. two 履职报告 with the same title) form the first group.
        first = [i for i, s in enumerate(scores) if s >= self.tie_ratio * scores[best]]
        if single:
            ids = [self.profiles[i].doc_id for i in first]
            return Scope(doc_ids=ids, groups=[ids], residual_query=question, score=scores[best])
        groups = [first]
        covered = set().union(*(matched[i] for i in first))
        # Greedy cover: another document joins only if it matches distinctive words the others don't
        # (法院 *and* 检察院), not merely a subset of the same title words.
        while True:
            extras = [
                (math.fsum(self._idf.get(b, 0.0) for b in matched[i] - covered), i)
                for i in range(len(scores))
                if i not in {j for g in groups for j in g}
            ]
            if not extras:
                break
            gain, i = max(extras)
            if gain < self.extra_min:
                break
            groups.append([i])
            covered |= matched[i]
        doc_groups = [[self.profiles[i].doc_id for i in g] for g in groups]
        doc_ids = [d for g in doc_groups for d in g]
        compare = len(doc_groups) > 1 and bool(COMPARE_RE.search(question))
        residual = self._residual(question, [self.profiles[i].alias_text for g in groups for i in g])
        return Scope(
            doc_ids=doc_ids,
            groups=doc_groups if compare else [doc_ids],
            residual_query=residual,
            score=scores[best],
        )

    def _place_filter(self, q: str) -> set[int]:
        """Documents that never mention a place the question names are out of scope (川沙 vs 青浦).

        A place is named with its suffix (`川沙新镇`, `嘉定区`) or, for places the reports themselves
        name, without it (`青浦上半年…`). A phrase taken for a place name (`财政决算报告中2019年全区…`: 年全) filters
        nothing.
        """
        places = scope_place_names(q) | {p for p in self._known_places if p in q}
        allowed = set(range(len(self.profiles)))
        for place in places:
            holders = {self._position[doc_id] for doc_id in self.mentions.docs_mentioning(place)}
            if holders:  # a place no document mentions is not a scope signal at all
                allowed &= holders
        return allowed

    @staticmethod
    def _residual(question: str, aliases: list[str]) -> str:
        """The question without the runs of 3+ characters it shares with the named documents' aliases."""
        q = match_key(question)
        drop = [False] * len(q)
        for alias in aliases:
            for block in SequenceMatcher(None, q, alias, autojunk=False).get_matching_blocks():
                if block.size >= 3:
                    for k in range(block.a, block.a + block.size):
                        drop[k] = True
        residual = "".join(ch for ch, d in zip(q, drop) if not d)
        # Keep the original question when stripping would leave nothing to rank by.
        return residual if len(residual) >= 2 else question
