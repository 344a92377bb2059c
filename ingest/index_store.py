"""The on-disk index: writing a build atomically, re-using what has not changed, and loading it for search.

Layout::

    DIR/manifest.json            names the current build; replaced atomically, LAST
    DIR/.build.lock              flock held while a build runs (a second concurrent build fails fast)
    DIR/builds/<build_id>/       one complete build:
        chunks.jsonl             Chunk.to_dict() per line (row i = chunk index i in every arm)
        documents.json           Document dicts (with text) + "outline" and "sections" per document
        glossary.json            GlossaryEntry dicts
        tokenizer/               Tokenizer.save(): user words + settings (query-time cut == index-time cut)
        bm25_word/ bm25_char/    bm25s indexes over Tokenizer.tokenize / char_tokens of the chunk search text
        dense.faiss              FAISS inner-product index over vectors.npy (absent with --model none)
        vectors.npy              float32 L2-normalised vectors, row i = chunk i (kept for incremental reuse)
        vector_keys.json         [chunk id, sha1 of its search text] per row of vectors.npy
        model/                   the offline model, when one is used (trained or carried over)
        manifest.json            a copy of the manifest (the build folder describes itself)

Atomicity: a build is written to ``builds/<id>.tmp/``, renamed to ``builds/<id>/`` and only then is
``manifest.json`` replaced (temp file + fsync + os.replace). Until that replace, the old manifest still names the
old, untouched build, so a SIGKILL at any moment leaves the previous index loadable. After the replace, every other
folder under ``builds/`` (older builds, stale ``.tmp`` folders, renamed-but-never-published builds of a killed run)
is deleted; the next build also sweeps them first.

Dense index choice: exact ``IndexFlatIP`` up to ``hnsw_threshold`` chunks (default 50,000: an exact scan of 50k
256/512-d vectors is a few ms), above it ``IndexHNSWFlat`` with inner product, M=32 (graph degree: ~256 B/vector
of links), efConstruction=200 (build-time beam) and efSearch=256 (query beam). Measured by `reportqa bench` on
100k synthetic chunks with the 256-d offline model: recall@10 against an exact scan 0.70 with 200/256 vs 0.43 with
the earlier 80/64, at 0.27 ms per query. The corpus-trained static embeddings have many near-ties, so the graph
needs the wider beams to find the true top 10; the query cost stays far below the BM25 arms'.

BM25 arms (ingest.bm25_build): tokens are turned into (token id, count) pairs one batch at a time and the CSC
score matrix is filled from spill files, so a build never holds the corpus's token strings; from
``PARALLEL_MIN_CHUNKS`` chunks on, tokenising runs in 2 spawned worker processes that re-create the tokenizer from
``tokenizer/``. Scores are bit-identical to ``bm25s.BM25().index(token_lists)``; token ids are in sorted token
order. At query time both arms are memory-mapped.

Incremental policy:
  * vectors are reused for a chunk when its file's sha256 is unchanged since the previous build, the chunk id and
    its search text are the same, and the embedding model's sha256 equals the previous manifest's (and not
    ``rebuild``);
  * ``auto`` with an offline model in the previous build and no ``rebuild``: the previous offline model is copied
    and reused, EVEN IF files were added/changed (new chunks are embedded with it), so the vectors of unchanged
    files stay valid. ``rebuild=True`` retrains the model and re-embeds everything. (A real pretrained model found
    on disk always wins over the offline model in ``auto``.)
  * the tokenizer dictionary and both BM25 arms are always rebuilt (≈ 1 s for the shipped corpus);
  * an offline model given by folder (``embed_model=<path>``) is copied into the build as ``model/``, like a
    trained one, so the index loads its dense arm from itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .bm25_build import build_bm25_arm
from .chunking import search_text as chunk_search_text
from .models import CHUNK_KINDS, Chunk, Document, Footnote, GlossaryEntry, ParsedCorpus, Section
from .tokenize import TOKENIZER_KIND, Tokenizer, corpus_terms

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
BUILDS_DIR = "builds"
LOCK_NAME = ".build.lock"
TMP_SUFFIX = ".tmp"

HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256
PARALLEL_MIN_CHUNKS = 20_000  # below this, tokenising in this process beats starting worker processes
TOKENIZE_WORKERS = 2  # the target machine has 2 cores; jieba is pure Python, so processes, not threads

# Test hooks: pause (and announce it by creating a file) when a named stage is reached, or slow every stage down,
# so a test can SIGKILL the build at a known or a random moment. Never set outside tests.
_PAUSE_AT_ENV = "REPORTQA_TEST_PAUSE_AT"
_PAUSE_FILE_ENV = "REPORTQA_TEST_PAUSE_FILE"
_PAUSE_SECONDS_ENV = "REPORTQA_TEST_PAUSE_SECONDS"
_STAGE_DELAY_ENV = "REPORTQA_TEST_STAGE_DELAY"  # sleep this long at every stage (spreads a build out in time)


class IndexNotFound(FileNotFoundError):
    def __init__(self, index_dir: str | Path, detail: str = "") -> None:
        msg = (
            f"no search index in {index_dir}{': ' + detail if detail else ''}. "
            f"Build it first: reportqa ingest --index {index_dir}"
        )
        super().__init__(msg)
        self.index_dir = str(index_dir)


class ModelMismatch(ValueError):
    """The query-time embedding model is not the one the index was built with."""


class IndexBusy(RuntimeError):
    """Another build holds the index directory's lock."""


# ----------------------------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------------------------
def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write JSON so readers see the old file or the new one, never a partial one (temp + fsync + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(path.parent)
    return path


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _maybe_pause(stage: str) -> None:
    delay = os.environ.get(_STAGE_DELAY_ENV)
    if delay:
        time.sleep(float(delay))
    if os.environ.get(_PAUSE_AT_ENV) != stage:
        return
    marker = os.environ.get(_PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(stage, encoding="utf-8")
    time.sleep(float(os.environ.get(_PAUSE_SECONDS_ENV, "30")))


def make_search_text(with_heading: bool = True) -> Callable[[Chunk], str]:
    """The default chunk search text: the heading path (joined by spaces) on a line above the chunk text."""

    def search_text(chunk: Chunk) -> str:
        return chunk_search_text(chunk, with_heading=with_heading)

    search_text.with_heading = with_heading  # type: ignore[attr-defined]
    return search_text


default_search_text = make_search_text(True)


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def read_manifest(index_dir: str | Path) -> dict[str, Any] | None:
    """The current manifest, or None when there is none (or it is unreadable / points nowhere)."""
    p = Path(index_dir) / MANIFEST_NAME
    try:
        manifest = json.loads(p.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(manifest, dict) or "build_path" not in manifest:
        return None
    if not (Path(index_dir) / manifest["build_path"]).is_dir():
        return None
    return manifest


def _topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the k best positive scores, best first, ties by lower index (no Python loops)."""
    scores = np.asarray(scores)
    if k <= 0 or scores.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    pos = np.flatnonzero(scores > 0)
    if pos.size > k:
        vals = scores[pos]
        kth = np.partition(vals, vals.size - k)[vals.size - k]
        above = pos[vals > kth]
        equal = pos[vals == kth][: k - above.size]
        pos = np.concatenate([above, equal])
    order = np.lexsort((pos, -scores[pos]))
    sel = pos[order].astype(np.int64)
    return sel, scores[sel].astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------
# build
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class BuildResult:
    manifest: dict[str, Any]
    stage_seconds: dict[str, float]
    embedding_model: str | None
    reused_files: list[str] = field(default_factory=list)
    build_dir: Path | None = None
    reused_vectors: int = 0
    embedding_source: str | None = None  # pretrained | named | trained | reused | None


class _Stages:
    def __init__(self, progress: Callable[[str, int, int], Any] | None) -> None:
        self.seconds: dict[str, float] = {}
        self.progress = progress

    @contextlib.contextmanager
    def __call__(self, name: str):
        self._report(name, 0)
        _maybe_pause(name)
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t, 4)
        self._report(name, 1)

    def _report(self, name: str, done: int) -> None:
        if self.progress is not None:
            with contextlib.suppress(Exception):
                self.progress(name, done, 1)


@contextlib.contextmanager
def _build_lock(index_dir: Path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fh = open(index_dir / LOCK_NAME, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusy(f"another ingest is building {index_dir} right now") from exc
        yield
    finally:
        fh.close()  # releases the lock (a killed process releases it too)


def _sweep_builds(index_dir: Path, keep: str | None) -> None:
    """Delete every folder under builds/ except `keep` (older builds, stale .tmp, never-published builds)."""
    builds = index_dir / BUILDS_DIR
    if not builds.is_dir():
        return
    for p in builds.iterdir():
        if p.name != keep:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()


def _new_build_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _file_shas(corpus: ParsedCorpus) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in corpus.files:
        out[f.path] = f.sha256 or hashlib.sha256((f.text or "").encode("utf-8")).hexdigest()
    return out


def _tokenize_workers(n_chunks: int, parallel_min_chunks: int, workers: int | None) -> int:
    """Processes to tokenise in: 1 below `parallel_min_chunks` (spawning costs ~1 s per worker), else up to 2."""
    if n_chunks < parallel_min_chunks:
        return 1
    return max(1, min(workers or TOKENIZE_WORKERS, os.cpu_count() or 1))


def _faiss_index(vectors: np.ndarray, hnsw_threshold: int):
    import faiss

    n, dim = vectors.shape
    if n <= hnsw_threshold:
        index = faiss.IndexFlatIP(dim)
        info = {"index": "flat-ip"}
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        info = {"index": "hnsw-ip", "M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    info["hnsw_threshold"] = hnsw_threshold
    return index, info


def _documents_payload(
    corpus: ParsedCorpus, outlines: dict[str, list] | None, sections: Sequence[Section] | None
) -> list[dict[str, Any]]:
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for s in sections if sections is not None else corpus.sections:
        by_doc.setdefault(s.doc_id, []).append(asdict(s))
    docs = []
    for d in corpus.documents:
        row = d.to_dict()
        row["outline"] = (outlines or {}).get(d.doc_id)
        row["sections"] = by_doc.get(d.doc_id, [])
        docs.append(row)
    return docs


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False))
            f.write("\n")


def _resolve_embedder(
    embed_model: str, corpus: ParsedCorpus, model_dir: Path, prev_build: Path | None, rebuild: bool
):
    """(embedder or None, source) for the embed_model setting."""
    from . import embeddings as E

    spec = (embed_model or "none").strip()
    if spec.lower() == "none":
        return None, None
    prev_model = prev_build / "model" if prev_build is not None else None
    if spec == "auto" or spec == "offline" or spec.startswith(E.OFFLINE_PREFIX):
        candidates = (E.DEFAULT_AUTO_MODEL,) if spec == "auto" else ()
        return E.resolve_auto(
            corpus.chunks,
            model_dir,
            glossary=corpus.glossary,
            previous_model_dir=prev_model,
            rebuild=rebuild,
            candidates=candidates,
        )
    embedder = E.load_embedder(spec)
    if embedder is not None and embedder.kind == E.KIND_OFFLINE and embedder.path is not None:
        # load_index looks for an offline model only inside the build (build/model): copy it there, so the index
        # is self-contained (the folder given may be another index's build, which a later ingest deletes).
        if model_dir.exists():
            shutil.rmtree(model_dir)
        shutil.copytree(embedder.path, model_dir)
        embedder.path = model_dir
    return embedder, "named"


def build_index(
    corpus: ParsedCorpus,
    index_dir: str | Path,
    *,
    embed_model: str = "auto",
    rebuild: bool = False,
    chunking: dict[str, Any] | None = None,
    hnsw_threshold: int = HNSW_THRESHOLD,
    search_text: Callable[[Chunk], str] | None = None,
    with_heading: bool | None = None,
    outlines: dict[str, list] | None = None,
    sections: Sequence[Section] | None = None,
    progress: Callable[[str, int, int], Any] | None = None,
    extra_stage_seconds: dict[str, float] | None = None,
    parallel_min_chunks: int = PARALLEL_MIN_CHUNKS,
    tokenize_workers: int | None = None,
) -> BuildResult:
    """Build (or incrementally rebuild) the index for `corpus` in `index_dir`; see the module doc for the policy.

    embed_model: "auto" (pretrained bge if on disk, else the corpus-trained offline model), "offline" (always the
    offline model), "none" (lexical arms only), or a sentence-transformers model name / local path.
    `search_text(chunk)` gives the text all arms index (default: heading path + text; `with_heading=False` drops
    the heading path). `progress(stage, done, total)` (qa_service.progress.ProgressFn) is called as each stage starts (0, 1) and ends (1, 1). `extra_stage_seconds` (e.g. parse time measured by the
    caller) is merged into the manifest's stage_seconds. From `parallel_min_chunks` chunks on, the BM25 arms are
    tokenised in `tokenize_workers` (default 2, at most the CPU count) spawned processes.
    """
    if not corpus.chunks:
        raise ValueError("build_index: the corpus has no chunks (nothing to index)")
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    if search_text is None:
        search_text = make_search_text(True if with_heading is None else bool(with_heading))
    stage = _Stages(progress)
    t_all = time.perf_counter()

    with _build_lock(index_dir):
        prev = read_manifest(index_dir)
        prev_build = index_dir / prev["build_path"] if prev else None
        _sweep_builds(index_dir, keep=Path(prev["build_path"]).name if prev else None)

        build_id = _new_build_id()
        builds = index_dir / BUILDS_DIR
        builds.mkdir(exist_ok=True)
        tmp = builds / (build_id + TMP_SUFFIX)
        tmp.mkdir()

        chunks = corpus.chunks
        texts = [search_text(c) for c in chunks]

        with stage("write_records"):
            _write_jsonl(tmp / "chunks.jsonl", (c.to_dict() for c in chunks))
            (tmp / "documents.json").write_text(
                json.dumps(_documents_payload(corpus, outlines, sections), ensure_ascii=False), encoding="utf-8"
            )
            (tmp / "glossary.json").write_text(
                json.dumps([g.to_dict() for g in corpus.glossary], ensure_ascii=False, indent=1), encoding="utf-8"
            )

        with stage("tokenizer"):
            tokenizer = Tokenizer()
            tokenizer.add_words(corpus_terms(corpus, tokenizer))
            tokenizer.save(tmp / "tokenizer")
        # Streamed: token strings of a batch become (id, count) pairs at once, never the whole corpus's strings.
        workers = _tokenize_workers(len(chunks), parallel_min_chunks, tokenize_workers)
        for arm in ("word", "char"):
            with stage(f"bm25_{arm}"):
                build_bm25_arm(texts, arm, tokenizer, tmp / f"bm25_{arm}", tokenizer_dir=tmp / "tokenizer",
                               workers=workers)

        with stage("embed_model"):
            embedder, emb_source = _resolve_embedder(embed_model, corpus, tmp / "model", prev_build, rebuild)

        arms = ["word", "char"]
        reused_files: list[str] = []
        reused_vectors = 0
        dense_info: dict[str, Any] | None = None
        if embedder is not None:
            with stage("embed"):
                vectors, reused_files, reused_vectors = _embed_with_reuse(
                    embedder, chunks, texts, corpus, prev, prev_build, rebuild
                )
                np.save(tmp / "vectors.npy", vectors)
                (tmp / "vector_keys.json").write_text(
                    json.dumps([[c.id, _text_key(t)] for c, t in zip(chunks, texts)], ensure_ascii=False),
                    encoding="utf-8",
                )
            with stage("faiss"):
                import faiss

                index, dense_info = _faiss_index(vectors, hnsw_threshold)
                faiss.write_index(index, str(tmp / "dense.faiss"))
            arms.append("dense")

        kinds = {k: 0 for k in CHUNK_KINDS}
        for c in chunks:
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        stage_seconds = dict(extra_stage_seconds or {}) | stage.seconds
        stage_seconds["total_index"] = round(time.perf_counter() - t_all, 4)
        files = _file_shas(corpus)
        emb_entry = None
        if embedder is not None:
            emb_entry = embedder.manifest_entry() | {
                "path": "model" if (tmp / "model").is_dir() else None,
                "source": emb_source,
            }
        manifest: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "build_id": build_id,
            "build_path": f"{BUILDS_DIR}/{build_id}",
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "embedding": emb_entry
            or {"model": None, "dim": None, "kind": None, "sha256": None},
            "tokenizer": {"kind": TOKENIZER_KIND, "user_words": len(tokenizer.user_words), "sha256": tokenizer.sha256},
            "files": [{"path": p, "sha256": s} for p, s in files.items()],
            "counts": {
                "documents": len(corpus.documents),
                "sections": len(sections if sections is not None else corpus.sections),
                "chunks": len(chunks),
                **kinds,
                "glossary": len(corpus.glossary),
                "files": len(files),
                "skipped": len(corpus.skipped),
            },
            "arms": arms,
            "search_text": {"with_heading": getattr(search_text, "with_heading", None)},
            "chunking": dict(chunking or {}),
            "bm25": {"method": "lucene", "k1": 1.5, "b": 0.75},
            "dense": dense_info,
            "incremental": {"reused_files": reused_files, "reused_vectors": reused_vectors},
            "stage_seconds": stage_seconds,
        }
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")

        _maybe_pause("publish")
        final = builds / build_id
        os.replace(tmp, final)
        _fsync_dir(builds)
        _maybe_pause("before_manifest")
        write_json_atomic(index_dir / MANIFEST_NAME, manifest)
        _maybe_pause("after_manifest")
        _sweep_builds(index_dir, keep=build_id)

    return BuildResult(
        manifest=manifest,
        stage_seconds=stage_seconds,
        embedding_model=emb_entry["model"] if emb_entry else None,
        reused_files=reused_files,
        build_dir=final,
        reused_vectors=reused_vectors,
        embedding_source=emb_source,
    )


def _embed_with_reuse(
    embedder,
    chunks: list[Chunk],
    texts: list[str],
    corpus: ParsedCorpus,
    prev: dict[str, Any] | None,
    prev_build: Path | None,
    rebuild: bool,
) -> tuple[np.ndarray, list[str], int]:
    n = len(chunks)
    dim = embedder.dim
    vectors = np.zeros((n, dim), dtype=np.float32)
    todo = np.ones(n, dtype=bool)
    reused_files: list[str] = []

    prev_emb = (prev or {}).get("embedding") or {}
    can_reuse = (
        not rebuild
        and prev_build is not None
        and prev_emb.get("sha256") == embedder.sha256
        and prev_emb.get("dim") == dim
        and (prev_build / "vectors.npy").is_file()
        and (prev_build / "vector_keys.json").is_file()
    )
    if can_reuse:
        try:
            old_vecs = np.load(prev_build / "vectors.npy")
            old_keys = json.loads((prev_build / "vector_keys.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old_vecs, old_keys = None, None
        if old_vecs is not None and len(old_keys) == len(old_vecs) and old_vecs.shape[1:] == (dim,):
            old_row = {cid: (i, key) for i, (cid, key) in enumerate(old_keys)}
            old_files = {f["path"]: f["sha256"] for f in prev.get("files", [])}  # type: ignore[union-attr]
            new_files = _file_shas(corpus)
            doc_file = {d.doc_id: d.source_file for d in corpus.documents}
            unchanged = {p for p, s in new_files.items() if old_files.get(p) == s}
            # A document's source_file may be spelled differently from RawFile.path; fall back to the base name.
            base = {Path(p).name: p for p in new_files}
            file_of = [
                (lambda f: f if f in new_files else base.get(Path(f).name, f))(doc_file.get(c.doc_id, "")) for c in chunks
            ]
            src_rows, dst_rows = [], []
            per_file_total: dict[str, int] = {}
            per_file_reused: dict[str, int] = {}
            for i, (c, t) in enumerate(zip(chunks, texts)):
                f = file_of[i]
                per_file_total[f] = per_file_total.get(f, 0) + 1
                hit = old_row.get(c.id)
                if f in unchanged and hit is not None and hit[1] == _text_key(t):
                    src_rows.append(hit[0])
                    dst_rows.append(i)
                    per_file_reused[f] = per_file_reused.get(f, 0) + 1
            if dst_rows:
                vectors[dst_rows] = old_vecs[src_rows]
                todo[dst_rows] = False
            reused_files = sorted(f for f, k in per_file_reused.items() if k == per_file_total.get(f))
    idx = np.flatnonzero(todo)
    if idx.size:
        vectors[idx] = embedder.encode([texts[i] for i in idx])
    return vectors, reused_files, int(n - idx.size)


# ----------------------------------------------------------------------------------------------------------------
# load
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class LoadedIndex:
    index_dir: Path
    build_dir: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    chunk_by_id: dict[str, Chunk]
    chunk_pos: dict[str, int]  # chunk id -> row in every arm
    documents: dict[str, Document]
    outlines: dict[str, Any]
    sections: dict[str, list[Section]]  # doc_id -> its sections
    glossary: list[GlossaryEntry]
    tokenizer: Tokenizer
    bm25_word: Any
    bm25_char: Any
    faiss_index: Any = None
    embedder: Any = None
    dense_error: str | None = None  # why the dense arm is off although the index has vectors
    vectors: np.ndarray | None = None  # vectors.npy (memory-mapped) when the dense arm is on
    _word_df: np.ndarray | None = field(default=None, repr=False)
    _chunks_per_doc: dict[str, int] | None = field(default=None, repr=False)

    @property
    def arms(self) -> list[str]:
        arms = [a for a in self.manifest.get("arms", []) if a != "dense"]
        if self.faiss_index is not None and self.embedder is not None:
            arms.append("dense")
        return arms

    def search_word(self, query_tokens: list[str], k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """BM25 over word tokens (use `self.tokenizer.tokenize(query)`); (chunk rows, scores), best first."""
        return self._bm25(self.bm25_word, query_tokens, k)

    def search_char(self, query_tokens: list[str], k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """BM25 over character 1–2-grams (use `self.tokenizer.char_tokens(query)`)."""
        return self._bm25(self.bm25_char, query_tokens, k)

    @staticmethod
    def _bm25(retriever, query_tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        ids = retriever.get_tokens_ids(list(query_tokens)) if query_tokens else []
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return _topk(retriever.get_scores_from_ids(ids), k)

    def search_dense(self, query_text: str, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        if self.embedder is None or self.faiss_index is None:
            raise RuntimeError(self.dense_error or "this index has no dense arm (built with --model none)")
        return self.search_dense_vector(self.embedder.encode([query_text])[0], k)

    def search_dense_vector(
        self, vector: np.ndarray, k: int = 10, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = self.faiss_index.ntotal
        if k <= 0 or n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        if mask is not None and self.vectors is not None:
            # Exact scores over the allowed rows only (a filtered ANN search could come back short).
            rows = np.flatnonzero(mask)
            scores = np.asarray(self.vectors[rows] @ q[0], dtype=np.float32)
            top = np.lexsort((rows, -scores))[:k]
            return rows[top].astype(np.int64), scores[top]
        scores, rows = self.faiss_index.search(q, min(k, n))
        keep = rows[0] >= 0
        return rows[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    # ----- adapters used by qa_service (rankings as lists of chunk rows, an optional allowed-row mask) ----------
    def rank_word(self, query_tokens: list[str], depth: int, mask: np.ndarray | None = None) -> list[int]:
        return self._rank_bm25(self.bm25_word, query_tokens, depth, mask)

    def rank_char(self, query_tokens: list[str], depth: int, mask: np.ndarray | None = None) -> list[int]:
        return self._rank_bm25(self.bm25_char, query_tokens, depth, mask)

    def rank_dense(self, query_text: str, depth: int, mask: np.ndarray | None = None) -> list[int]:
        if self.embedder is None or self.faiss_index is None:
            return []
        rows, _ = self.search_dense_vector(self.embedder.encode([query_text])[0], depth, mask)
        return rows.tolist()

    @staticmethod
    def _rank_bm25(retriever, query_tokens: list[str], depth: int, mask: np.ndarray | None) -> list[int]:
        ids = retriever.get_tokens_ids(list(query_tokens)) if query_tokens else []
        if not ids:
            return []
        scores = retriever.get_scores_from_ids(ids)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        return _topk(scores, depth)[0].tolist()

    def idf(self, token: str) -> float:
        """BM25 (Lucene) idf of a word token in the chunk collection; unseen tokens get the maximum."""
        if self._word_df is None:
            self._word_df = np.diff(np.asarray(self.bm25_word.scores["indptr"]))
        n = len(self.chunks)
        tid = self.bm25_word.vocab_dict.get(token)
        df = int(self._word_df[tid]) if tid is not None and tid < len(self._word_df) else 0
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    # ----- documents and glossary as plain dicts -------------------------------------------------------------
    @property
    def documents_by_id(self) -> dict[str, Document]:
        return self.documents

    def document_dicts(self) -> list[dict[str, Any]]:
        return [d.to_dict() for d in self.documents.values()]

    def glossary_dicts(self) -> list[dict[str, Any]]:
        return [g.to_dict() for g in self.glossary]

    def _doc_summary(self, d: Document) -> dict[str, Any]:
        if self._chunks_per_doc is None:
            counts: dict[str, int] = {}
            for c in self.chunks:
                counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
            self._chunks_per_doc = counts
        return {
            "id": d.doc_id,
            "title": d.title,
            "source_file": d.source_file,
            "page": d.page,
            "date": d.date,
            "reporter": d.reporter,
            "n_sections": sum(1 for s in self.sections.get(d.doc_id, []) if s.level > 0),
            "n_chunks": self._chunks_per_doc.get(d.doc_id, 0),
        }

    def document_list(self) -> list[dict[str, Any]]:
        return [self._doc_summary(d) for d in self.documents.values()]

    def document_detail(self, doc_id: str, with_text: bool = False) -> dict[str, Any] | None:
        d = self.documents.get(doc_id)
        if d is None:
            return None
        outline = self.outlines.get(doc_id)
        if outline is None:
            outline = [
                {"section_id": s.section_id, "heading": s.heading, "level": s.level, "start": s.start,
                 "end": s.end, "parent_id": s.parent_id}
                for s in self.sections.get(doc_id, []) if s.level > 0
            ]
        return self._doc_summary(d) | {"outline": outline, "text": d.text if with_text else None}


def _model_matches(query_model: str, emb: dict[str, Any]) -> bool:
    from .embeddings import OFFLINE_PREFIX, locate_model

    name = emb.get("model")
    if name is None:
        return False
    if query_model == name:
        return True
    if emb.get("kind") == "offline-static" and (query_model == "offline" or query_model.startswith(OFFLINE_PREFIX)):
        return query_model in ("offline", name)
    a, b = locate_model(query_model), locate_model(name)
    return a is not None and b is not None and a.resolve() == b.resolve()


def _read_faiss(path: Path):
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


def _load_embedder_for(manifest: dict[str, Any], build_dir: Path, query_model: str | None):
    from . import embeddings as E

    emb = manifest.get("embedding") or {}
    if emb.get("kind") == E.KIND_OFFLINE:
        return E.load_offline_model(build_dir / (emb.get("path") or "model"))
    return E.load_embedder(query_model if query_model not in (None, "auto") else emb["model"])


def load_index(
    index_dir: str | Path, *, query_model: str | None = None, load_dense: bool = True
) -> LoadedIndex:
    """Load the current build named by DIR/manifest.json.

    query_model: None/"auto" = the model the index was built with; "none" = no dense arm; a name/path must equal
    the manifest's model (else ModelMismatch). The loaded model's sha256 must equal the manifest's (else
    ModelMismatch: the model files changed since ingest). When the index's model cannot be loaded and none was
    asked for explicitly, the dense arm is off and `dense_error` says why.
    """
    index_dir = Path(index_dir)
    for attempt in range(3):  # a concurrent build may publish and sweep between reading the manifest and the files
        manifest = read_manifest(index_dir)
        if manifest is None:
            detail = "manifest.json is missing" if not (index_dir / MANIFEST_NAME).exists() else "manifest.json is invalid"
            raise IndexNotFound(index_dir, detail)
        if manifest.get("schema_version") != SCHEMA_VERSION:
            raise IndexNotFound(index_dir, f"schema_version {manifest.get('schema_version')} != {SCHEMA_VERSION}")
        try:
            return _load_build(index_dir, manifest, query_model, load_dense)
        except FileNotFoundError:
            if attempt == 2:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def _load_build(index_dir: Path, manifest: dict[str, Any], query_model: str | None, load_dense: bool) -> LoadedIndex:
    import bm25s

    from .embeddings import EmbedderUnavailable

    build = index_dir / manifest["build_path"]
    emb = manifest.get("embedding") or {}
    qm = (query_model or "").strip() or None
    if qm not in (None, "auto", "none"):
        if emb.get("model") is None:
            raise ModelMismatch(
                f"the index in {index_dir} has no dense vectors (built with --model none); "
                f"re-ingest with --model {qm} or query without a model"
            )
        if not _model_matches(qm, emb):
            raise ModelMismatch(
                f"query model {qm!r} differs from the index's embedding model {emb.get('model')!r}; "
                f"query with --model {emb.get('model')} or re-ingest with --model {qm}"
            )

    with open(build / "chunks.jsonl", encoding="utf-8") as f:
        chunks = [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]
    docs_raw = json.loads((build / "documents.json").read_text(encoding="utf-8"))
    documents: dict[str, Document] = {}
    outlines: dict[str, Any] = {}
    sections: dict[str, list[Section]] = {}
    doc_fields = set(Document.__dataclass_fields__)
    sec_fields = set(Section.__dataclass_fields__)
    for row in docs_raw:
        d = {k: v for k, v in row.items() if k in doc_fields}
        d["footnotes"] = [Footnote(**fn) for fn in d.get("footnotes") or []]
        doc = Document(**d)
        documents[doc.doc_id] = doc
        outlines[doc.doc_id] = row.get("outline")
        sections[doc.doc_id] = [Section(**{k: v for k, v in s.items() if k in sec_fields}) for s in row.get("sections") or []]
    gl_fields = set(GlossaryEntry.__dataclass_fields__)
    glossary = [
        GlossaryEntry(**{k: v for k, v in g.items() if k in gl_fields})
        for g in json.loads((build / "glossary.json").read_text(encoding="utf-8"))
    ]
    tokenizer = Tokenizer.load(build / "tokenizer")
    # Memory-mapped: a query reads only its tokens' posting lists, so RSS does not grow with the index (the page
    # cache keeps hot lists; the files stay readable even after a later build deletes this folder).
    bm25_word = bm25s.BM25.load(str(build / "bm25_word"), show_progress=False, mmap=True)
    bm25_char = bm25s.BM25.load(str(build / "bm25_char"), show_progress=False, mmap=True)

    faiss_index = None
    embedder = None
    dense_error = None
    vectors = None
    if "dense" in manifest.get("arms", []) and load_dense and qm != "none":
        faiss_index = _read_faiss(build / "dense.faiss")
        if (manifest.get("dense") or {}).get("index") == "hnsw-ip":
            faiss_index.hnsw.efSearch = (manifest.get("dense") or {}).get("efSearch", HNSW_EF_SEARCH)
        try:
            embedder = _load_embedder_for(manifest, build, qm)
        except EmbedderUnavailable as exc:
            if qm not in (None, "auto"):
                raise
            dense_error = f"dense arm off: {exc}"
            log.warning("%s", dense_error)
        if embedder is not None and emb.get("sha256") and embedder.sha256 != emb["sha256"]:
            raise ModelMismatch(
                f"embedding model {emb.get('model')!r} on disk (sha256 {embedder.sha256[:12]}) is not the one the "
                f"index was built with (sha256 {emb['sha256'][:12]}); re-ingest: reportqa ingest --index {index_dir}"
            )
        if embedder is None:
            faiss_index = None
        elif (build / "vectors.npy").is_file():
            vectors = np.load(build / "vectors.npy", mmap_mode="r")

    return LoadedIndex(
        index_dir=index_dir,
        build_dir=build,
        manifest=manifest,
        chunks=chunks,
        chunk_by_id={c.id: c for c in chunks},
        chunk_pos={c.id: i for i, c in enumerate(chunks)},
        documents=documents,
        outlines=outlines,
        sections=sections,
        glossary=glossary,
        tokenizer=tokenizer,
        bm25_word=bm25_word,
        bm25_char=bm25_char,
        faiss_index=faiss_index,
        embedder=embedder,
        dense_error=dense_error,
        vectors=vectors,
    )


def read_store(index_dir: str | Path) -> LoadedIndex:
    """The index without its embedding model (documents, chunks, lexical arms): quick, for listing commands."""
    return load_index(index_dir, load_dense=False)
