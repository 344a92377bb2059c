"""llama-index faces of reportqa: its retrieval (query analysis + Retriever) as a `BaseRetriever`, chunks as `TextNode`s.

    >>> from llama_index.core.query_engine import RetrieverQueryEngine
    >>> engine = RetrieverQueryEngine.from_args(LlamaIndexRetriever(service.pipeline(), top_k=5), llm=my_llm)
"""

from __future__ import annotations

from typing import Any

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ingest.models import Chunk

from .pipeline import AnswerPipeline
from .retriever import RetrievalQuery

_META_EXCLUDED = ["start", "end", "prev_id", "next_id", "parent_id", "section_id", "page"]


def chunk_to_node(chunk: Chunk) -> TextNode:
    meta: dict[str, Any] = {k: v for k, v in chunk.to_dict().items() if k not in ("id", "text")}
    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=meta,
        excluded_embed_metadata_keys=_META_EXCLUDED + ["doc_id", "kind"],
        excluded_llm_metadata_keys=_META_EXCLUDED + ["doc_id"],
    )


class LlamaIndexRetriever(BaseRetriever):
    """reportqa's hybrid, scope-aware Retriever usable anywhere llama-index takes a retriever."""

    def __init__(self, pipeline: AnswerPipeline, top_k: int = 10, doc_ids: list[str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._pipeline = pipeline
        self._top_k = top_k
        self._doc_ids = doc_ids

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self._pipeline.search(RetrievalQuery(query=query_bundle.query_str, top_k=self._top_k, doc_ids=self._doc_ids))
        return [NodeWithScore(node=chunk_to_node(p.chunk), score=p.score) for p in result.passages]
