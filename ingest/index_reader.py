"""Loading the current build for search: `load_index(DIR)` -> `IndexReader`.

The reader holds the typed records (Chunk, Document, Section, GlossaryEntry), one ranking method per arm
(`rank_word`, `rank_char`, `rank_dense`: chunk rows best first, under an optional allowed-row mask), the BM25
statistics callers may need (`idf`, `has_word`) and lookups computed at load (`first_chunk`, `chunk_count`,
`heading_mask`, `docs_mentioning`). Nothing outside this module touches bm25s or FAISS search internals.

Both BM25 arms are memory-mapped: a query reads only its tokens' posting lists, so RSS does not grow with the
index (the page cache keeps hot lists; the files stay readable even after a later build deletes the folder).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .chunk_store import ChunkIds
from .dense_build import HNSW_EF_SEARCH
from .index_records import IndexRecords, read_records
from .integrity import verify_build
from .lookups import ChunkLookups, LookupMethods
from .postings import PostingLists, top_rows  # noqa: F401 - top_rows: imported from here by callers
from .manifest import BUILDS_DIR, MANIFEST_NAME, SCHEMA_VERSION, Manifest, parse_manifest, read_manifest
from .models import Chunk
from .tokenize import Tokenizer

log = logging.getLogger(__name__)


class IndexNotFound(FileNotFoundError):
    def __init__(self, index_dir: str | Path, detail: str = "") -> None:
        msg = (
            f"no search index in {index_dir}{': ' + detail if detail else ''}. "
            f"Build it first: reportqa ingest --index {index_dir}"
        )
        super().__init__(msg)
        self.index_dir = str(index_dir)
        self.detail = detail


class ModelMismatch(ValueError):
    """The query-time embedding model is not the one the index was built with."""


# Above this many allowed rows, a masked dense query on an HNSW index scores the allowed rows inside faiss (its flat
# storage searched with the mask as an IDSelectorBitmap: no copy of the rows) instead of gathering them into numpy:
# at 1M chunks a scoped question allows ~50k scattered rows (50 MB of vectors.npy). A filtered search of the
# HNSW graph itself was tried and dropped: on the synthetic corpora it came back short for most questions.
DENSE_EXACT_MAX = 4_096
DENSE_RESCORE_EXTRA = 32  # candidates beyond k that faiss returns, re-scored in numpy to order them as the scan


def _masked_flat_search(index: Any, vectors: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray) -> list[int] | None:
    """The k best allowed rows by an exact search inside faiss, re-scored and ordered as the numpy scan orders them
    (score, then lower row). None when a tie may straddle the candidates' end (then the caller scans in numpy)."""
    import faiss

    storage = faiss.downcast_index(index.storage)
    bits = np.packbits(mask, bitorder="little")  # faiss.IDSelectorBitmap: bit i & 7 of byte i >> 3
    params = faiss.SearchParameters()
    params.sel = faiss.IDSelectorBitmap(mask.size, faiss.swig_ptr(bits))
    _, found = storage.search(q, k + DENSE_RESCORE_EXTRA, params=params)
    rows = np.sort(found[0][found[0] >= 0])
    scores = np.asarray(vectors[rows] @ q[0], dtype=np.float32)
    order = np.lexsort((rows, -scores))
    if rows.size > k and scores[order[-1]] >= scores[order[k - 1]] - 1e-4:
        return None  # the last candidate is (nearly) tied with the k-th: rows beyond it might belong in the top k
    return rows[order[:k]].astype(np.int64).tolist()


class ChunksById(Mapping):
    """chunk id -> Chunk, read through the id -> row map (at 1M chunks a second dict would cost ~100 MB)."""

    def __init__(self, pos: Mapping[str, int], chunks: Sequence[Chunk]) -> None:
        self._pos, self._chunks = pos, chunks

    def __getitem__(self, chunk_id: str) -> Chunk:
        return self._chunks[self._pos[chunk_id]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pos)

    def __len__(self) -> int:
        return len(self._pos)


@dataclass(frozen=True)
class DenseArm:
    faiss_index: Any  # faiss.Index over vectors.npy (memory-mapped where faiss can)
    embedder: Any  # ingest.embeddings.Embedder: encodes the query
    vectors: np.ndarray | None  # vectors.npy memory-mapped: exact scores under a mask


class IndexReader(LookupMethods):
    """One loaded build: typed records, one ranking method per arm, and lookups precomputed at load
    (`first_chunk`, `doc_rows`, `chunk_count`, `heading_mask`, `docs_mentioning`: ingest.lookups.LookupMethods)."""

    def __init__(
        self,
        index_dir: Path,
        manifest: Manifest,
        records: IndexRecords,
        tokenizer: Tokenizer,
        bm25: tuple[Any, Any],
        dense: DenseArm | None = None,
        dense_error: str | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.build_dir = manifest.build_dir(index_dir)
        self.manifest = manifest
        self.chunks = records.chunks
        self.documents = records.documents  # doc_id -> Document, in corpus order
        self.outlines = records.outlines  # doc_id -> nested heading tree or None
        self.sections = records.sections  # doc_id -> its sections
        self.glossary = records.glossary
        self._lookups = ChunkLookups(self.chunks)  # one pass over the chunks; it also lists their ids
        # chunk id -> row in every arm: a dict for a small build, a sorted id array for a large one
        ids = self._lookups.ids
        self.chunk_pos: Mapping[str, int] = (
            {cid: i for i, cid in enumerate(ids)} if isinstance(self.chunks, list) else ChunkIds(ids)
        )
        self._lookups.ids = []
        self.chunk_by_id: Mapping[str, Chunk] = ChunksById(self.chunk_pos, self.chunks)  # a view: no second dict
        self.tokenizer = tokenizer
        self._bm25_word, self._bm25_char = bm25  # bm25s.BM25 (word, char), memory-mapped
        self._postings_word, self._postings_char = PostingLists(bm25[0]), PostingLists(bm25[1])
        # The dense arm's parts, None when it is off (the bench probes faiss_index and vectors directly).
        self.faiss_index = dense.faiss_index if dense else None
        self.embedder = dense.embedder if dense else None
        self.vectors = dense.vectors if dense else None
        self.dense_error = dense_error  # why the dense arm is off although the index has vectors
        self._word_df = np.diff(np.asarray(self._bm25_word.scores["indptr"]))

    @property
    def arms(self) -> list[str]:
        arms = [a for a in self.manifest.arms if a != "dense"]
        if self.faiss_index is not None and self.embedder is not None:
            arms.append("dense")
        return arms

    # ----- ranking: chunk rows best first; `mask` (bool per row) keeps only the allowed rows ------------------
    def rank_word(self, tokens: list[str], depth: int, mask: np.ndarray | None = None) -> list[int]:
        """BM25 over word tokens (`self.tokenizer.tokenize(query)`)."""
        return self._rank_bm25(self._postings_word, tokens, depth, mask)

    def rank_char(self, tokens: list[str], depth: int, mask: np.ndarray | None = None) -> list[int]:
        """BM25 over character 1–2-grams (`self.tokenizer.char_tokens(query)`)."""
        return self._rank_bm25(self._postings_char, tokens, depth, mask)

    def rank_dense(self, text: str, depth: int, mask: np.ndarray | None = None) -> list[int]:
        """Inner product with the embedded `text`; [] when the dense arm is off."""
        if self.embedder is None or self.faiss_index is None:
            return []
        return self._dense_rows(self.embedder.encode([text])[0], depth, mask)

    @staticmethod
    def _rank_bm25(arm: PostingLists, tokens: list[str], depth: int, mask: np.ndarray | None) -> list[int]:
        return arm.top(tokens, depth, mask)

    def _dense_rows(self, vector: np.ndarray, k: int, mask: np.ndarray | None) -> list[int]:
        n = self.faiss_index.ntotal
        if k <= 0 or n == 0:
            return []
        q = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        if mask is not None and self.vectors is not None:
            allowed = int(np.count_nonzero(mask))
            if allowed > DENSE_EXACT_MAX and hasattr(self.faiss_index, "storage"):
                found = _masked_flat_search(self.faiss_index, self.vectors, q, min(k, allowed), mask)
                if found is not None:
                    return found
            # Exact scores over the allowed rows only.
            rows = np.flatnonzero(mask)
            scores = np.asarray(self.vectors[rows] @ q[0], dtype=np.float32)
            return rows[np.lexsort((rows, -scores))[:k]].astype(np.int64).tolist()
        _, rows = self.faiss_index.search(q, min(k, n))
        return rows[0][rows[0] >= 0].astype(np.int64).tolist()

    # ----- word statistics --------------------------------------------------------------------------------------
    def has_word(self, term: str) -> bool:
        """Whether the word arm's vocabulary has `term` (words the reports never use do not count)."""
        return term in self._bm25_word.vocab_dict

    def idf(self, term: str) -> float:
        """BM25 (Lucene) idf of a word in the chunk collection; a word the index never saw has df 0 (the maximum)."""
        tid = self._bm25_word.vocab_dict.get(term)
        df = int(self._word_df[tid]) if tid is not None and tid < len(self._word_df) else 0
        n = len(self.chunks)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))


# ----------------------------------------------------------------------------------------------------------------
# load
# ----------------------------------------------------------------------------------------------------------------
def load_index(index_dir: str | Path, *, query_model: str | None = None, load_dense: bool = True) -> IndexReader:
    """Load the current build named by DIR/manifest.json.

    query_model: None/"auto" = the model the index was built with; "none" = no dense arm; a name/path must equal
    the manifest's model (else ModelMismatch). The loaded model's sha256 must equal the manifest's (else
    ModelMismatch: the model files changed since ingest). When the index's model cannot be loaded and none was
    asked for explicitly, the dense arm is off and `dense_error` says why. Every file of the build is checked
    against the manifest's sizes and sha256s first: ingest.integrity.IndexDamaged names the first bad one.
    """
    index_dir = Path(index_dir)
    for attempt in range(3):  # a concurrent build may publish and sweep between reading the manifest and the files
        manifest = read_manifest(index_dir)
        if manifest is None:
            detail = "manifest.json is missing" if not (index_dir / MANIFEST_NAME).exists() else "manifest.json is invalid"
            raise IndexNotFound(index_dir, detail)
        if manifest.schema_version != SCHEMA_VERSION:
            raise IndexNotFound(index_dir, f"schema_version {manifest.schema_version} != {SCHEMA_VERSION}")
        try:
            return _load_build(index_dir, manifest, query_model, load_dense)
        except FileNotFoundError:
            if attempt == 2:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def load_previous_build(index_dir: str | Path) -> IndexReader | None:
    """The build the current one replaced (`Manifest.previous_build`, kept on disk), verified and loaded: what a
    server starting on a damaged newest build serves. None when there is none or it is damaged too."""
    index_dir = Path(index_dir)
    current = read_manifest(index_dir)
    if current is None or not current.previous_build:
        return None
    build = index_dir / BUILDS_DIR / current.previous_build
    try:
        previous = parse_manifest(json.loads((build / MANIFEST_NAME).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
    if previous is None or previous.build_dir(index_dir) != build or previous.schema_version != SCHEMA_VERSION:
        return None
    try:
        return _load_build(index_dir, previous, None, True)
    except Exception as exc:  # noqa: BLE001 - a damaged previous build is no fallback, whatever the error
        log.warning("the previous build %s cannot be served either: %s", previous.build_id, exc)
        return None


def read_store(index_dir: str | Path) -> IndexReader:
    """The index without its embedding model (documents, chunks, lexical arms): quick, for listing commands."""
    return load_index(index_dir, load_dense=False)


def _load_build(index_dir: Path, manifest: Manifest, query_model: str | None, load_dense: bool) -> IndexReader:
    import bm25s

    build = manifest.build_dir(index_dir)
    if not verify_build(index_dir, manifest):
        log.warning("index %s: build %s has no checksums (built before they were recorded); loading it unverified",
                    index_dir, manifest.build_id)
    qm = (query_model or "").strip() or None
    if qm not in (None, "auto", "none"):
        _check_query_model(index_dir, manifest, qm)
    records = read_records(build)
    tokenizer = Tokenizer.load(build / "tokenizer")
    word, char = (bm25s.BM25.load(str(build / f"bm25_{arm}"), show_progress=False, mmap=True) for arm in ("word", "char"))
    dense, dense_error = None, None
    if "dense" in manifest.arms and load_dense and qm != "none":
        dense, dense_error = _load_dense(index_dir, manifest, qm)
    return IndexReader(index_dir, manifest, records, tokenizer, (word, char), dense, dense_error)


def _check_query_model(index_dir: Path, manifest: Manifest, qm: str) -> None:
    emb = manifest.embedding
    if emb.model is None:
        raise ModelMismatch(
            f"the index in {index_dir} has no dense vectors (built with --model none); "
            f"re-ingest with --model {qm} or query without a model"
        )
    if not _model_matches(qm, manifest):
        raise ModelMismatch(
            f"query model {qm!r} differs from the index's embedding model {emb.model!r}; "
            f"query with --model {emb.model} or re-ingest with --model {qm}"
        )


def _model_matches(query_model: str, manifest: Manifest) -> bool:
    from .embeddings import KIND_OFFLINE, OFFLINE_PREFIX, locate_model

    name = manifest.embedding.model
    if name is None:
        return False
    if query_model == name:
        return True
    if manifest.embedding.kind == KIND_OFFLINE and (query_model == "offline" or query_model.startswith(OFFLINE_PREFIX)):
        return query_model in ("offline", name)
    a, b = locate_model(query_model), locate_model(name)
    return a is not None and b is not None and a.resolve() == b.resolve()


def _load_dense(index_dir: Path, manifest: Manifest, qm: str | None) -> tuple[DenseArm | None, str | None]:
    """(the dense arm or None, why it is off)."""
    from .embeddings import EmbedderUnavailable

    build = manifest.build_dir(index_dir)
    faiss_index = _read_faiss(build / "dense.faiss")
    if manifest.dense is not None and manifest.dense.index == "hnsw-ip":
        faiss_index.hnsw.efSearch = manifest.dense.efSearch or HNSW_EF_SEARCH
    try:
        embedder = _load_embedder_for(manifest, build, qm)
    except EmbedderUnavailable as exc:
        if qm not in (None, "auto"):
            raise
        log.warning("dense arm off: %s", exc)
        return None, f"dense arm off: {exc}"
    expected = manifest.embedding.sha256
    if embedder is not None and expected and embedder.sha256 != expected:
        raise ModelMismatch(
            f"embedding model {manifest.embedding.model!r} on disk (sha256 {embedder.sha256[:12]}) is not the one "
            f"the index was built with (sha256 {expected[:12]}); re-ingest: reportqa ingest --index {index_dir}"
        )
    if embedder is None:
        return None, None
    vectors = np.load(build / "vectors.npy", mmap_mode="r") if (build / "vectors.npy").is_file() else None
    return DenseArm(faiss_index, embedder, vectors), None


def _read_faiss(path: Path) -> Any:
    """The dense index with its vectors and graph memory-mapped where this faiss can (IO_FLAG_MMAP_IFC, faiss
    ≥ 1.10: ~1 GB of vectors at 1M chunks stays in the page cache instead of the heap); else read into memory."""
    import faiss

    flag = getattr(faiss, "IO_FLAG_MMAP_IFC", 0)
    if flag:
        try:
            return faiss.read_index(str(path), flag)
        except RuntimeError as exc:  # an index type this faiss cannot map
            log.debug("faiss mmap of %s failed (%s); reading it into memory", path, exc)
    return faiss.read_index(str(path))


def _load_embedder_for(manifest: Manifest, build_dir: Path, query_model: str | None) -> Any:
    from . import embeddings as E

    emb = manifest.embedding
    if emb.kind == E.KIND_OFFLINE:
        return E.load_offline_model(build_dir / (emb.path or "model"))
    return E.load_embedder(query_model if query_model not in (None, "auto") else emb.model)
