"""The peer in `reportqa bench`: llama-index's default `VectorStoreIndex` retriever over the same chunks.

Same chunks (one TextNode per indexed chunk, text = the chunk's search text), same embedding model (the index's
Embedder wrapped as a llama-index BaseEmbedding and set as `Settings.embed_model`, so llama-index never reaches
for OpenAI), `as_retriever(similarity_top_k=10)`. The nodes carry the vectors already in the index (vectors.npy,
computed by that same model from that same text), so the build does not re-embed 100k chunks and the timing
compares only the retrieval machinery: a query is embedded by the same model in both systems.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from .bench_load import latency_summary

log = logging.getLogger(__name__)

PEER_NAME = "llama-index VectorStoreIndex (SimpleVectorStore), default retriever"


@contextlib.contextmanager
def _stdout_to_stderr():
    """llama-index may print (e.g. 'Some nodes are missing content'); stdout is not ours to write."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def build_peer(index: Any, search_text: Any, top_k: int = 10) -> tuple[Any, float]:
    """(llama-index retriever, build seconds) over every chunk of a loaded index that has a dense arm."""
    from llama_index.core import Settings, VectorStoreIndex
    from llama_index.core.schema import TextNode

    from .baselines import wrap_embedder

    if index.embedder is None or index.vectors is None:
        raise ValueError("the peer needs the index's dense arm (vectors and embedding model)")
    started = time.perf_counter()
    with _stdout_to_stderr():
        embed = wrap_embedder(index.embedder)
        Settings.embed_model = embed  # explicit: the default would be OpenAI
        vectors = index.vectors
        nodes = [
            TextNode(id_=c.id, text=search_text(c), embedding=vectors[i].tolist())
            for i, c in enumerate(index.chunks)
        ]
        vindex = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
        retriever = vindex.as_retriever(similarity_top_k=top_k)
    return retriever, time.perf_counter() - started


def time_peer(retriever: Any, questions: Sequence[str], warmup: int = 1) -> dict[str, Any]:
    """Latency summary of `retriever.retrieve(q)` over the questions (after `warmup` untimed queries)."""
    latencies: list[float] = []
    with _stdout_to_stderr():
        for q in questions[:warmup]:
            retriever.retrieve(q)
        for q in questions:
            t = time.perf_counter()
            retriever.retrieve(q)
            latencies.append((time.perf_counter() - t) * 1000)
    return latency_summary(latencies)
