"""The `best-sentence` baseline (issue 11): word BM25's top 3 passages, the sentence sharing the most character
bigrams with the question, answered whole and never withheld.

It is the 20-line recipe the issue measures reportqa against, run through reportqa's own pipeline so only the
retrieval and the answer choice differ: the retriever is word BM25 alone over reportqa's chunks (`bm25-only`'s
retriever, a new frozen config), the answerers are one BestSentenceAnswerer, and the condenser, the citation
verifier and the renderer are the very objects reportqa uses. It lives in eval because it is a yardstick, not
product code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ingest.models import Chunk
from ingest.zh import char_bigrams, split_sentences
from qa_service.answerers import AnswerContext
from qa_service.claims import Claim, DraftAnswer
from qa_service.extractive import abstain
from qa_service.pipeline import AnswerPipeline

from .systems import PipelineSystem

NAME = "best-sentence"
TOP_PASSAGES = 3  # "BM25 top 3"


def best_sentence(question: str, passages: Sequence[Chunk]) -> tuple[Chunk, str] | None:
    """The (passage, sentence) whose sentence shares the most character bigrams (whitespace deleted) with the
    question; on a tie the earlier passage, then the earlier sentence. None when no passage has a sentence."""
    asked = char_bigrams(question)
    best: tuple[int, Chunk, str] | None = None
    for chunk in passages:
        for sentence in split_sentences(chunk.text):
            sentence = sentence.strip()
            if not sentence:
                continue
            shared = len(asked & char_bigrams(sentence))
            if best is None or shared > best[0]:  # strictly more: the earlier one keeps a tie
                best = (shared, chunk, sentence)
    return None if best is None else (best[1], best[2])


class BestSentenceAnswerer:
    """Answers with the best sentence of the top passages, cited to its passage with the sentence as the quote.

    It never abstains on purpose; the one abstention left is when retrieval returned no passage at all, where
    there is no sentence to give (the pipeline needs its last answerer to return something)."""

    mode = "extractive"
    free_text = False  # the claim is a verbatim sentence of the passage it cites

    def __init__(self, top_passages: int = TOP_PASSAGES) -> None:
        self.top_passages = top_passages

    def answer(self, ctx: AnswerContext) -> DraftAnswer:
        found = best_sentence(ctx.analysis.text, ctx.passages[: self.top_passages])
        if found is None:
            return abstain(ctx.analysis.question)
        chunk, sentence = found
        return DraftAnswer(claims=[Claim(text=sentence, sources=[chunk], quotes=[sentence])])


def best_sentence_pipeline(bm25_pipeline: AnswerPipeline, top_passages: int = TOP_PASSAGES) -> AnswerPipeline:
    """`bm25_pipeline` (reportqa's pipeline with the word-BM25 retriever) with its answerers replaced by one
    BestSentenceAnswerer; every other step is the same object."""
    return dataclasses.replace(bm25_pipeline, answerers=(BestSentenceAnswerer(top_passages),))


def best_sentence_system(bm25_pipeline: AnswerPipeline, index_manifest: dict[str, Any]) -> PipelineSystem:
    """The `best-sentence` system: the answerer reads the top 3 passages whatever --top-k is."""
    cfg = bm25_pipeline.retriever.config  # type: ignore[attr-defined]  # a qa_service Retriever
    config = {
        "index": index_manifest,
        "fusion_weights": dict(cfg.weights),
        "scope": cfg.use_scope,
        "boosts": cfg.use_boosts,
        "answerer": "best-sentence: most question character bigrams among the sentences of the top passages, never abstains",
        "answer_top_k": TOP_PASSAGES,
    }
    return PipelineSystem(NAME, best_sentence_pipeline(bm25_pipeline), fixed_k=TOP_PASSAGES, config=config)
