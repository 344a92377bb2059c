"""Baseline systems for `reportqa eval --baseline NAME`: the same documents and embedder, other retrieval.

* `llamaindex-default`: llama-index's defaults. `SentenceSplitter(chunk_size=1024, chunk_overlap=200)` (tokens of
  its default tiktoken tokenizer, which llama-index ships offline) over each document's cleaned text, a
  `VectorStoreIndex` embedded with the index's own embedder, `similarity_top_k` = --top-k.
* `chatchat-style`: Langchain-Chatchat's knowledge-base recipe. 750-character chunks with 150 overlap, split
  recursively on Chinese separators; word BM25 (bm25s over the index's jieba Tokenizer) and FAISS inner product
  with the index's embedder, fused by reciprocal rank with weights 0.5/0.5 (langchain's EnsembleRetriever, c=60);
  the answerer gets the top 3 (Chatchat's VECTOR_SEARCH_TOP_K).
* `bm25-only`: reportqa's own chunks, word BM25 alone (weights word=1, char=0, dense=0), scope and boosts off.
* `best-sentence` (eval.best_sentence): `bm25-only`'s retriever, and instead of reportqa's answerers the sentence
  of the top 3 passages with the most question character bigrams, never abstaining. It is the one baseline that
  also swaps the answerer; the condenser, citation check and rendering are still reportqa's.

Every other baseline answers through reportqa's own answer pipeline with only the retriever swapped
(`AnswerPipeline.with_retriever`): the same query analysis, answerers (reporter, place filter, extractive),
citation check and rendering, so the comparison isolates retrieval. Baseline chunks are ingest.models.Chunk
objects with ids `li-000123` / `cc-000123`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ingest.index_reader import IndexReader
from ingest.models import Chunk
from qa_service.fusion import weighted_rrf
from qa_service.pipeline import AnswerPipeline
from qa_service.retriever import Retriever

from .best_sentence import best_sentence_system
from .systems import ChunkRankingSystem, PipelineSystem, ReportQASystem

log = logging.getLogger(__name__)

BASELINES: tuple[str, ...] = ("llamaindex-default", "chatchat-style", "bm25-only", "best-sentence")
CHATCHAT_SEPARATORS: tuple[str, ...] = ("\n\n", "\n", "。", "！", "？", "；", "，", " ")
CHATCHAT_CHUNK, CHATCHAT_OVERLAP, CHATCHAT_TOP_K = 750, 150, 3
LLAMAINDEX_CHUNK, LLAMAINDEX_OVERLAP = 1024, 200
RRF_C = 60
CANDIDATES = 50  # each arm's list before fusion: deeper than the depth-10 ranking the metrics read


class BaselineError(ValueError):
    """An unknown baseline name, or an index a baseline cannot run on (e.g. no dense arm)."""


# -- the recursive character splitter (pure) ----------------------------------------------------------------


def _split_keep(text: str, sep: str) -> list[str]:
    """Split after each separator, keeping it at the end of its piece: Chinese end marks belong to the sentence."""
    if sep == "":
        return list(text)
    parts = text.split(sep)
    out = [p + sep for p in parts[:-1]] + [parts[-1]]
    return [p for p in out if p]


def _merge(pieces: Sequence[str], size: int, overlap: int) -> list[str]:
    """Greedily pack pieces into chunks of <= size characters; each new chunk starts with the previous chunk's
    trailing pieces up to `overlap` characters (langchain's `_merge_splits`)."""
    chunks: list[str] = []
    window: list[str] = []
    total = 0
    for piece in pieces:
        if window and total + len(piece) > size:
            chunks.append("".join(window))
            while window and (total > overlap or total + len(piece) > size):
                total -= len(window[0])
                window.pop(0)
        window.append(piece)
        total += len(piece)
    if window:
        chunks.append("".join(window))
    return chunks


def recursive_split(text: str, size: int = CHATCHAT_CHUNK, overlap: int = CHATCHAT_OVERLAP,
                    separators: Sequence[str] = CHATCHAT_SEPARATORS) -> list[str]:
    """RecursiveCharacterTextSplitter in characters: split on the first separator the text contains, pack the
    pieces up to `size` with `overlap`, and split any piece still too long on the next separators."""
    if len(text) <= size:
        return [text] if text.strip() else []
    seps = list(separators)
    sep, rest = "", []
    for i, s in enumerate(seps):
        if s in text:
            sep, rest = s, seps[i + 1:]
            break
    pieces: list[str] = []
    for piece in _split_keep(text, sep):
        if len(piece) <= size:
            pieces.append(piece)
        elif rest:
            pieces.extend(recursive_split(piece, size, overlap, rest))
        else:  # no separator left: hard cut
            pieces.extend(piece[i:i + size] for i in range(0, len(piece), size))
    return [c for c in _merge(pieces, size, overlap) if c.strip()]


def spans_of(text: str, pieces: Sequence[str]) -> list[tuple[int, int]]:
    """Offsets of consecutive (possibly overlapping) pieces of `text`, found left to right."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for p in pieces:
        start = text.find(p, cursor)
        if start < 0:
            start = text.find(p)
        start = max(start, 0)
        spans.append((start, start + len(p)))
        cursor = start + 1
    return spans


# -- helpers over a loaded reportqa index -------------------------------------------------------------------


def index_documents(index: IndexReader) -> list[tuple[str, str, str]]:
    """(doc_id, title, cleaned text) of every indexed document, in index order."""
    return [(d.doc_id, d.title, d.text) for d in index.documents.values()]


def _embedder(index: IndexReader, name: str):
    emb = index.embedder
    if emb is None:
        raise BaselineError(f"{name} needs the index's embedding model, and this index has no dense arm")
    return emb


@contextlib.contextmanager
def _stdout_to_stderr():
    """llama-index and its helpers may print; stdout belongs to the CLI's JSON output."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def make_chunks(prefix: str, pieces: Sequence[tuple[str, str, str, int, int]]) -> list[Chunk]:
    """Chunk records for baseline passages: (doc_id, title, text, start, end) -> ids `<prefix>-000001`…"""
    chunks = [
        Chunk(id=f"{prefix}-{i:06d}", doc_id=doc_id, doc_title=title, heading_path=[title], kind="text", text=text, start=s, end=e)
        for i, (doc_id, title, text, s, e) in enumerate(pieces, start=1)
    ]
    for a, b in zip(chunks, chunks[1:]):
        if a.doc_id == b.doc_id:
            a.next_id, b.prev_id = b.id, a.id
    return chunks


# -- llamaindex-default -------------------------------------------------------------------------------------


def wrap_embedder(embedder: Any):
    """The index's Embedder as a llama-index BaseEmbedding (queries and texts encoded alike, as the index does)."""
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class ReportQAEmbedding(BaseEmbedding):
        _embedder: Any = PrivateAttr()

        def __init__(self, inner: Any) -> None:
            super().__init__(model_name=str(getattr(inner, "name", "reportqa")), embed_batch_size=64)
            self._embedder = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.encode([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.encode([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.encode(texts).tolist()

    return ReportQAEmbedding(embedder)


def llamaindex_default(index: IndexReader, top_k: int, base: AnswerPipeline) -> ChunkRankingSystem:
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    embed = wrap_embedder(_embedder(index, "llamaindex-default"))
    with _stdout_to_stderr():
        Settings.embed_model = embed  # set explicitly: llama-index would otherwise reach for OpenAI
        splitter = SentenceSplitter(chunk_size=LLAMAINDEX_CHUNK, chunk_overlap=LLAMAINDEX_OVERLAP)
        docs = [Document(text=text, id_=doc_id) for doc_id, _, text in index_documents(index)]
        nodes = splitter.get_nodes_from_documents(docs)
        titles = {doc_id: title for doc_id, title, _ in index_documents(index)}
        pieces = [
            (n.ref_doc_id or "", titles.get(n.ref_doc_id or "", ""), n.get_content(), n.start_char_idx or 0, n.end_char_idx or 0)
            for n in nodes
        ]
        chunks = make_chunks("li", pieces)
        row_of = {n.node_id: i for i, n in enumerate(nodes)}
        vindex = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
    log.info("llamaindex-default: %d nodes", len(nodes))

    def ranker(question: str, depth: int) -> tuple[list[int], list[float]]:
        with _stdout_to_stderr():
            hits = vindex.as_retriever(similarity_top_k=depth).retrieve(question)
        return [row_of[h.node.node_id] for h in hits], [float(h.score or 0.0) for h in hits]

    config = {"splitter": "SentenceSplitter", "chunk_size": LLAMAINDEX_CHUNK, "chunk_overlap": LLAMAINDEX_OVERLAP,
              "embedding": getattr(_embedder(index, "llamaindex-default"), "name", None), "similarity_top_k": top_k}
    return ChunkRankingSystem("llamaindex-default", chunks, ranker, base, config=config)


# -- chatchat-style -----------------------------------------------------------------------------------------


def chatchat_chunks(documents: Sequence[tuple[str, str, str]]) -> list[Chunk]:
    pieces = []
    for doc_id, title, text in documents:
        parts = recursive_split(text)
        for part, (s, e) in zip(parts, spans_of(text, parts)):
            pieces.append((doc_id, title, part, s, e))
    return make_chunks("cc", pieces)


def rrf_ranker(
    arms: dict[str, Callable[[str, int], list[int]]], weights: dict[str, float], candidates: int = CANDIDATES
) -> Callable[[str, int], tuple[list[int], list[float]]]:
    """Weighted reciprocal-rank fusion of per-arm row rankings (qa_service.fusion, c=60)."""

    def ranker(question: str, depth: int) -> tuple[list[int], list[float]]:
        rankings = {arm: fn(question, max(candidates, depth)) for arm, fn in arms.items()}
        order, scores, _ = weighted_rrf(rankings, weights, RRF_C)
        order = order[:depth]
        return order, [scores[i] for i in order]

    return ranker


def chatchat_style(index: IndexReader, top_k: int, base: AnswerPipeline) -> ChunkRankingSystem:
    import bm25s
    import faiss

    embedder = _embedder(index, "chatchat-style")
    tokenize = index.tokenizer.tokenize
    chunks = chatchat_chunks(index_documents(index))
    bm25 = bm25s.BM25()
    bm25.index([tokenize(c.text) for c in chunks], show_progress=False)
    vectors = np.ascontiguousarray(embedder.encode([c.text for c in chunks]), dtype=np.float32)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)

    def word(question: str, k: int) -> list[int]:
        ids = bm25.get_tokens_ids(tokenize(question))
        if not ids:
            return []
        scores = bm25.get_scores_from_ids(ids)
        order = np.argsort(-scores, kind="stable")[:k]
        return [int(i) for i in order if scores[i] > 0]

    def dense(question: str, k: int) -> list[int]:
        q = np.ascontiguousarray(embedder.encode([question]), dtype=np.float32)
        _, rows = flat.search(q, min(k, len(chunks)))
        return [int(i) for i in rows[0] if i >= 0]

    weights = {"word": 0.5, "dense": 0.5}
    config = {"splitter": "recursive-character", "chunk_size": CHATCHAT_CHUNK, "chunk_overlap": CHATCHAT_OVERLAP,
              "separators": list(CHATCHAT_SEPARATORS), "fusion": "rrf", "fusion_weights": weights,
              "embedding": getattr(embedder, "name", None), "answer_top_k": CHATCHAT_TOP_K}
    log.info("chatchat-style: %d chunks", len(chunks))
    return ChunkRankingSystem("chatchat-style", chunks, rrf_ranker({"word": word, "dense": dense}, weights),
                              base, fixed_k=CHATCHAT_TOP_K, config=config)


# -- bm25-only ----------------------------------------------------------------------------------------------


def ablated(
    service: Any,
    *,
    weights: Mapping[str, float] | None = None,
    use_scope: bool | None = None,
    use_boosts: bool | None = None,
    name: str = "reportqa",
) -> ReportQASystem:
    """reportqa with its retriever's config changed for this system only: a new frozen config and a new
    Retriever over the same index; the service's live retriever is left alone."""
    live = service.loaded().retriever
    changes: dict[str, Any] = {}
    if weights:
        changes["weights"] = {**live.config.weights, **weights}
    if use_scope is not None:
        changes["use_scope"] = use_scope
    if use_boosts is not None:
        changes["use_boosts"] = use_boosts
    if not changes:
        return ReportQASystem(service, name=name)
    retriever = Retriever(live.index, dataclasses.replace(live.config, **changes), live.reranker)
    return ReportQASystem(service, name=name, pipeline=service.pipeline().with_retriever(retriever))


def bm25_only(service: Any) -> ReportQASystem:
    """reportqa with the retriever reduced to word BM25: scope and boosts off."""
    return ablated(service, weights={"word": 1.0, "char": 0.0, "dense": 0.0}, use_scope=False, use_boosts=False, name="bm25-only")


def best_sentence(service: Any) -> PipelineSystem:
    """`bm25-only`'s pipeline (a new frozen retriever config) answered by the best-sentence answerer."""
    return best_sentence_system(bm25_only(service).pipeline, service.loaded().index.manifest.to_dict())


def build_baseline(name: str, service: Any, top_k: int) -> Any:
    """The named baseline over the service's loaded index."""
    if name not in BASELINES:
        raise BaselineError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")
    if name == "bm25-only":
        return bm25_only(service)
    if name == "best-sentence":
        return best_sentence(service)
    index = service.loaded().index
    build = llamaindex_default if name == "llamaindex-default" else chatchat_style
    system = build(index, top_k, service.pipeline())
    # the documents and the embedder came from this index: the run records which build
    system.config = {"index": index.manifest.to_dict(), "fusion_weights": None, **system.config}
    return system
