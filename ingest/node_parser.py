"""`ReportSectionParser`: our section-aware chunking as a llama-index `NodeParser`.

    from llama_index.core import Document
    from ingest.node_parser import ReportSectionParser

    parser = ReportSectionParser(chunk_size=500, chunk_overlap=80)  # Settings().chunk_size, chunk_overlap
    nodes = parser.get_nodes_from_documents(
        [Document(text=report_text, metadata={"doc_id": "qp2020_04", "title": "履职报告", "page": 4})]
    )
    nodes[0].id_            # the chunk id, e.g. "qp2020_04.t3f9a…" (stable across runs)
    nodes[0].metadata       # doc_id, doc_title, heading_path, kind, start, end, page, prev_id, next_id, …

Each node is one `Chunk` (text / table / table_row / definition), `id_` = chunk id. `heading_path` is stored as
one string joined by " > " because most vector stores only accept flat metadata (str/int/float/None).
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from llama_index.core.bridge.pydantic import Field
from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, Document as LIDocument, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.utils import get_tqdm_iterable

from ingest.chunking import HEADING_SEP, chunk_document, safe_id
from ingest.config import ChunkingConfig
from ingest.models import Chunk, Document, Footnote
from ingest.sections import parse_sections

logger = logging.getLogger(__name__)

# Offsets and ids mean nothing to an embedding model or an LLM; doc_title and heading_path are context words
# (`title`, copied from the input document's metadata, would only repeat doc_title).
EMBED_EXCLUDED_KEYS = ["title", "doc_id", "kind", "start", "end", "page", "prev_id", "next_id", "parent_id", "section_id"]
LLM_EXCLUDED_KEYS = ["title", "doc_id", "start", "end", "prev_id", "next_id", "parent_id", "section_id"]


def chunk_to_node(chunk: Chunk, source_id: str | None = None) -> TextNode:
    """Our Chunk -> a llama-index TextNode (id_ = chunk id, chunk fields in metadata)."""
    node = TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata={
            "doc_id": chunk.doc_id,
            "doc_title": chunk.doc_title,
            "heading_path": HEADING_SEP.join(chunk.heading_path),
            "kind": chunk.kind,
            "start": chunk.start,
            "end": chunk.end,
            "page": chunk.page,
            "prev_id": chunk.prev_id,
            "next_id": chunk.next_id,
            "parent_id": chunk.parent_id,
            "section_id": chunk.section_id,
        },
        excluded_embed_metadata_keys=list(EMBED_EXCLUDED_KEYS),
        excluded_llm_metadata_keys=list(LLM_EXCLUDED_KEYS),
    )
    if chunk.kind != "table_row":  # a rendered row is not a span of the text
        node.start_char_idx, node.end_char_idx = chunk.start, chunk.end
    if source_id:
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=source_id)
    if chunk.prev_id:
        node.relationships[NodeRelationship.PREVIOUS] = RelatedNodeInfo(node_id=chunk.prev_id)
    if chunk.next_id:
        node.relationships[NodeRelationship.NEXT] = RelatedNodeInfo(node_id=chunk.next_id)
    if chunk.parent_id:
        node.relationships[NodeRelationship.PARENT] = RelatedNodeInfo(node_id=chunk.parent_id)
    return node


def node_to_chunk(node: BaseNode) -> Chunk:
    """A TextNode made by `chunk_to_node` (or read back from a store) -> our Chunk."""
    md = node.metadata
    path = md.get("heading_path") or []
    if isinstance(path, str):
        path = path.split(HEADING_SEP) if path else []
    return Chunk(
        id=node.node_id,
        doc_id=md.get("doc_id", ""),
        doc_title=md.get("doc_title", ""),
        heading_path=list(path),
        kind=md.get("kind", "text"),
        text=node.get_content(),
        start=int(md.get("start", 0)),
        end=int(md.get("end", 0)),
        page=md.get("page"),
        prev_id=md.get("prev_id"),
        next_id=md.get("next_id"),
        parent_id=md.get("parent_id"),
        section_id=md.get("section_id"),
    )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def to_report_document(node: BaseNode) -> Document:
    """A llama-index Document (metadata doc_id/title/page optional) -> our Document."""
    md = node.metadata or {}
    text = node.get_content()
    footnotes = [Footnote(**f) if isinstance(f, dict) else f for f in md.get("footnotes", []) or []]
    return Document(
        doc_id=safe_id(str(md.get("doc_id") or node.node_id)),
        title=str(md.get("title") or _first_line(text)),
        source_file=str(md.get("source_file") or md.get("file_path") or ""),
        text=text,
        page=md.get("page"),
        footnotes=footnotes,
    )


class ReportSectionParser(NodeParser):
    """Section-aware chunking of Chinese reports, one TextNode per chunk (text, table, table_row, definition).

    Usage: `ReportSectionParser(chunk_size=500, chunk_overlap=80).get_nodes_from_documents(docs)`.
    """

    # No defaults: the values in effect come from qa_service.config.Settings (chunk_size / chunk_overlap).
    chunk_size: int = Field(gt=0, description="Most characters in a text chunk.")
    chunk_overlap: int = Field(ge=0, description="Characters of whole sentences repeated.")

    @classmethod
    def class_name(cls) -> str:
        return "ReportSectionParser"

    def model_post_init(self, __context: Any) -> None:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap must be smaller than chunk_size. Currently, chunk_overlap is "
                f"{self.chunk_overlap} and chunk_size is {self.chunk_size}"
            )

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        out: list[BaseNode] = []
        for node in get_tqdm_iterable(nodes, show_progress, "Parsing report sections"):
            doc = to_report_document(node)
            chunks, _ = chunk_document(doc, parse_sections(doc), ChunkingConfig(self.chunk_size, self.chunk_overlap))
            out.extend(chunk_to_node(c, source_id=node.node_id) for c in chunks)
        return out

    def _postprocess_parsed_nodes(self, nodes: list[BaseNode], parent_doc_map: dict[str, LIDocument]) -> list[BaseNode]:
        """Keep our own offsets and prev/next links: the base class re-finds text and links list neighbours,
        which would chain table rows into the reading order and mis-place overlapping pieces."""
        saved = {
            n.node_id: (getattr(n, "start_char_idx", None), getattr(n, "end_char_idx", None), dict(n.relationships))
            for n in nodes
        }
        nodes = super()._postprocess_parsed_nodes(nodes, parent_doc_map)
        for n in nodes:
            start, end, rels = saved[n.node_id]
            if isinstance(n, TextNode):
                n.start_char_idx, n.end_char_idx = start, end
            n.metadata.pop("footnotes", None)  # input-only; a list would break flat-metadata vector stores
            source = n.relationships.get(NodeRelationship.SOURCE)
            n.relationships = rels
            if source is not None:
                n.relationships[NodeRelationship.SOURCE] = source
        return nodes
