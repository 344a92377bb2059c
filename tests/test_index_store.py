"""Building the index: the manifest it writes, atomic publication (SIGKILL at any moment), incremental reuse,
the streaming BM25 arms and progress reporting."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import dataclasses
import hashlib
import io
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from ingest import embeddings as E
from ingest.bm25_build import arm_tokens, build_bm25_arm
from ingest.chunking import make_search_text
from ingest.config import BuildConfig
from ingest.index_build import build_index
from ingest.index_reader import IndexNotFound, ModelMismatch, load_index, read_store
from ingest.manifest import read_manifest
from ingest.models import Chunk, Document, GlossaryEntry, ParsedCorpus, RawFile, Section
from ingest.publish import PUBLISH_STAGE, write_json_atomic
from ingest.tokenize import Tokenizer, corpus_terms
from qa_service.config import Settings
from reportqa.progress import stage_progress

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "ingest" / "data" / "reports"
_HEADING_RE = re.compile(r"^(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+，)")
_FOOTNOTE_RE = re.compile(r"\[(\d+): 、([^：\]]+)：([^\]]+)\]")


def build_config(index_dir: str | Path, **overrides) -> BuildConfig:
    """The build `reportqa ingest` runs (from Settings), lexical-only unless `embed_model` is given."""
    config = Settings(index=Path(index_dir)).build_config(embed_model="none")
    return dataclasses.replace(config, **overrides)


def make_corpus(files: dict[str, str], max_chars: int = 300) -> ParsedCorpus:
    """A ParsedCorpus cut by hand: one document per file, chunks of whole lines, headings 一、/第一，, footnotes."""
    docs, sections, chunks, glossary, raw = [], [], [], [], []
    for path, text in files.items():
        doc_id = Path(path).stem
        title = text.split("\n", 1)[0].strip()
        docs.append(Document(doc_id=doc_id, title=title, source_file=path, text=text))
        raw.append(RawFile(path=path, text=text, format="txt", encoding="utf-8",
                           sha256=hashlib.sha256(text.encode("utf-8")).hexdigest()))
        heading: list[str] = []
        buf, start, pos = "", 0, 0

        def flush(end: int) -> None:
            chunks.append(Chunk(id=f"{doc_id}-{len([c for c in chunks if c.doc_id == doc_id]):04d}", doc_id=doc_id,
                                doc_title=title, heading_path=list(heading), kind="text", text=buf,
                                start=start, end=end))

        for line in text.split("\n"):
            s = line.strip()
            if _HEADING_RE.match(s):
                if buf:
                    flush(pos)
                    buf, start = "", pos
                head = re.split(r"[。，]", s, maxsplit=2)
                h = head[0] + ("，" + head[1] if s.startswith("第") and len(head) > 1 else "")
                heading = [h[:40]]
                sections.append(Section(section_id=f"{doc_id}-s{len(sections)}", doc_id=doc_id, heading=h[:40],
                                        level=1, family="cn_num", start=pos, end=pos + len(line)))
            elif buf and len(buf) + len(line) > max_chars:
                flush(pos)
                buf, start = "", pos
            if s:
                buf += line + "\n"
            pos += len(line) + 1
        if buf:
            flush(pos)
        for m in _FOOTNOTE_RE.finditer(text):
            glossary.append(GlossaryEntry(term=m.group(2), definition=m.group(3), doc_id=doc_id, source="footnote"))
    return ParsedCorpus(documents=docs, sections=sections, chunks=chunks, glossary=glossary, files=raw)


def shipped_files(extra: str = "") -> dict[str, str]:
    small = (REPORTS / "004_1aa96ab411d029c6.txt").read_text(encoding="utf-8")
    big = (REPORTS / "000_20d7c97a3767f276.txt").read_text(encoding="utf-8")[:12000]
    return {"reports/004.txt": small, "reports/000.txt": big + extra}


FAST = E.OfflineRecipe(epochs=2)


@pytest.fixture(autouse=True)
def _fast_offline_model(monkeypatch):
    monkeypatch.setattr(E, "OfflineRecipe", lambda: FAST)  # train_offline_model's default recipe in these tests


@pytest.fixture(scope="module")
def corpus() -> ParsedCorpus:
    return make_corpus(shipped_files())


def test_write_json_atomic(tmp_path):
    p = write_json_atomic(tmp_path / "m.json", {"a": "六稳"})
    assert json.loads(p.read_text(encoding="utf-8")) == {"a": "六稳"}
    write_json_atomic(p, {"a": 2})
    assert json.loads(p.read_text(encoding="utf-8")) == {"a": 2}
    assert [x.name for x in tmp_path.iterdir()] == ["m.json"]


def test_index_not_found(tmp_path):
    with pytest.raises(IndexNotFound) as ei:
        load_index(tmp_path / "nowhere")
    assert f"reportqa ingest --index {tmp_path / 'nowhere'}" in str(ei.value)


def _target(corpus: ParsedCorpus) -> int:
    return next(i for i, c in enumerate(corpus.chunks) if "三问三登记" in c.text and "封闭管理" in c.text)


def test_lexical_only_index(tmp_path, corpus):
    res = build_index(corpus, build_config(tmp_path / "ix", chunking=Settings(chunk_size=300, chunk_overlap=0).chunking_config()))
    m = res.manifest.to_dict()
    assert m["arms"] == ["word", "char"] and res.embedding_model is None
    assert m["schema_version"] == 1 and m["build_path"] == f"builds/{m['build_id']}"
    assert m["counts"]["chunks"] == len(corpus.chunks) and m["counts"]["text"] == len(corpus.chunks)
    assert m["counts"]["documents"] == 2 and m["tokenizer"]["kind"] == "jieba-search"
    assert m["tokenizer"]["user_words"] > 0 and {f["path"] for f in m["files"]} == set(shipped_files())
    assert m["search_text"] == {"with_heading": True} and m["chunking"] == {"chunk_size": 300, "overlap": 0}
    assert m["embedding"] == {"model": None, "dim": None, "kind": None, "sha256": None} and m["dense"] is None
    assert {"tokenizer", "bm25_word", "bm25_char", "total_index"} <= set(m["stage_seconds"])
    assert read_manifest(tmp_path / "ix") == res.manifest
    # the JSON on disk is the manifest's JSON, in the index folder and in the build folder
    on_disk = json.loads((tmp_path / "ix" / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == m == json.loads((res.build_dir / "manifest.json").read_text(encoding="utf-8"))

    ix = load_index(tmp_path / "ix")
    assert ix.arms == ["word", "char"] and ix.embedder is None and ix.faiss_index is None
    assert [c.id for c in ix.chunks] == [c.id for c in corpus.chunks]
    assert ix.chunk_by_id[corpus.chunks[3].id].text == corpus.chunks[3].text
    assert ix.documents["004"].text == corpus.documents[0].text and ix.glossary[0].term == "六稳"
    target = _target(corpus)
    q = "全镇共封闭管理多少个居村出入通道"
    assert ix.rank_word(ix.tokenizer.tokenize(q), 5)[0] == target
    assert ix.rank_char(ix.tokenizer.char_tokens(q), 5)[0] == target
    assert ix.rank_word([], 5) == [] and ix.rank_word(["不存在的词语xyz"], 5) == []
    mask = np.zeros(len(ix.chunks), dtype=bool)
    mask[target] = True
    assert ix.rank_word(ix.tokenizer.tokenize(q), 10, mask) == [target]
    assert ix.idf("三问三登记") > ix.idf("工作")
    assert ix.rank_dense(q, 5) == []  # no dense arm: an empty ranking, not an error
    with pytest.raises(ModelMismatch):
        load_index(tmp_path / "ix", query_model="some-org/some-model")
    store = read_store(tmp_path / "ix")
    assert list(store.documents) == ["004", "000"] and store.sections["004"]


@pytest.mark.slow
def test_dense_incremental_rebuild_and_mismatch(tmp_path, corpus):
    ix_dir = tmp_path / "ix"
    r1 = build_index(corpus, build_config(ix_dir, embed_model="auto", hnsw_threshold=10))
    m1 = r1.manifest
    if r1.embedding_source == "pretrained":
        pytest.skip("a pretrained model is on disk; this test covers the offline model")
    assert r1.embedding_source == "trained" and m1.arms == ["word", "char", "dense"]
    assert m1.embedding.kind == "offline-static" and m1.embedding.model.startswith("offline:")
    assert m1.embedding.dim == 256 and m1.embedding.path == "model" and m1.embedding.source == "trained"
    assert m1.to_dict()["dense"] == {
        "index": "hnsw-ip", "M": 32, "efConstruction": 200, "efSearch": 256, "hnsw_threshold": 10}
    b1 = m1.build_dir(ix_dir)
    assert (b1 / "model" / "modules.json").is_file() and (b1 / "dense.faiss").is_file()
    v1 = np.load(b1 / "vectors.npy")

    ix = load_index(ix_dir)
    assert ix.arms == ["word", "char", "dense"] and ix.embedder.sha256 == m1.embedding.sha256
    assert ix.faiss_index.hnsw.efSearch == 256
    target = _target(corpus)
    sentence = corpus.chunks[target].text.split("。")[1]
    assert target in ix.rank_dense(sentence, 5)
    assert load_index(ix_dir, query_model="offline").embedder is not None
    assert load_index(ix_dir, query_model=m1.embedding.model).embedder is not None
    assert load_index(ix_dir, query_model="none").arms == ["word", "char"]
    with pytest.raises(ModelMismatch) as ei:
        load_index(ix_dir, query_model="BAAI/bge-small-zh-v1.5")
    assert "offline:" in str(ei.value)

    # re-ingest with 000 changed: the offline model is carried over, 004's vectors are reused
    corpus2 = make_corpus(shipped_files(extra="\n第九，新增一段用于测试增量更新的文字。\n"))
    r2 = build_index(corpus2, build_config(ix_dir, embed_model="auto", hnsw_threshold=10))
    m2 = r2.manifest
    assert r2.embedding_source == "reused" and m2.embedding.sha256 == m1.embedding.sha256
    assert r2.reused_files == ["reports/004.txt"] and r2.reused_vectors >= sum(c.doc_id == "004" for c in corpus.chunks)
    assert m2.incremental.reused_files == r2.reused_files and m2.incremental.reused_vectors == r2.reused_vectors
    v2 = np.load(m2.build_dir(ix_dir) / "vectors.npy")
    n004 = sum(c.doc_id == "004" for c in corpus.chunks)
    assert corpus.chunks[0].doc_id == "004" and np.array_equal(v1[:n004], v2[:n004])
    assert sorted(p.name for p in (ix_dir / "builds").iterdir()) == sorted([m1.build_id, m2.build_id])  # + last good

    # rebuild: retrain, reuse nothing (the same corpus retrains to the same model: deterministic)
    r3 = build_index(corpus2, build_config(ix_dir, embed_model="auto", rebuild=True))
    assert r3.embedding_source == "trained" and r3.reused_files == [] and r3.manifest.dense.index == "flat-ip"


# ----- progress reporting ------------------------------------------------------------------------------------------
def test_progress_reports_every_stage_and_publication_step(tmp_path, corpus):
    calls: list[tuple[str, int, int]] = []
    build_index(corpus, build_config(tmp_path / "ix"), lambda stage, done, total: calls.append((stage, done, total)))
    stages = ["write_records", "tokenizer", "bm25_word", "bm25_char", "embed_model"]
    assert calls == [(s, d, 1) for s in stages for d in (0, 1)] + [(PUBLISH_STAGE, d, 2) for d in (0, 1, 2)]


def test_the_cli_progress_bars_show_the_build_stages(tmp_path, corpus):
    screen = io.StringIO()
    with stage_progress(Console(file=screen, force_terminal=True, width=120)) as progress:
        build_index(corpus, build_config(tmp_path / "ix"), progress)
    shown = screen.getvalue()
    assert all(stage in shown for stage in ("write_records", "bm25_word", "bm25_char", PUBLISH_STAGE))


def test_a_failing_progress_callback_stops_the_build_and_keeps_the_index(tmp_path, corpus):
    ix_dir = tmp_path / "ix"
    m0 = build_index(corpus, build_config(ix_dir)).manifest

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "bm25_char":
            raise RuntimeError("progress display broke")

    with pytest.raises(RuntimeError, match="progress display broke"):
        build_index(corpus, build_config(ix_dir), progress)
    # a callback with the wrong signature is a visible error, not a silently missing progress bar
    with pytest.raises(TypeError):
        build_index(corpus, build_config(ix_dir), lambda stage: None)  # type: ignore[arg-type, misc]
    assert read_manifest(ix_dir) == m0
    assert sorted(p.name for p in (ix_dir / "builds").iterdir()) == [m0.build_id]  # the failed build's folder is gone
    assert load_index(ix_dir).manifest == m0


# ----- SIGKILL at any moment ---------------------------------------------------------------------------------------
# The child builds with a progress callback that sleeps `delay` at every report and, at `pause_at` (stage, done),
# announces itself by creating `marker` and waits to be killed.
def _queries(corpus: ParsedCorpus) -> list[str]:
    """Sentences of the chunks plus a few questions and an all-unknown query."""
    qs = [s for c in corpus.chunks[::3] for s in c.text.split("。")[:2] if s.strip()]
    return qs + ["全镇共封闭管理多少个居村出入通道", "区级财政收入12.42亿元，同比增长13.2%", "xyzxyz"]


def _scores(retriever, tokens: list[str]) -> np.ndarray | None:
    ids = retriever.get_tokens_ids(tokens)
    return retriever.get_scores_from_ids(ids) if ids else None


def test_streaming_bm25_matches_bm25s_reference(tmp_path, corpus):
    import bm25s

    tok = Tokenizer()
    tok.add_words(corpus_terms(corpus, tok))
    texts = [make_search_text(True)(c) for c in corpus.chunks]
    for arm in ("word", "char"):
        tokens = arm_tokens(tok, arm)
        ref = bm25s.BM25()
        ref.index([tokens(t) for t in texts], show_progress=False)
        # batch_docs=7: many batches, so the spill/scatter path crosses batch boundaries
        new, stats = build_bm25_arm(texts, arm, tok, tmp_path / arm, batch_docs=7)
        loaded = bm25s.BM25.load(str(tmp_path / arm), mmap=True, show_progress=False)
        assert stats.docs == len(texts) and stats.vocab == len(ref.vocab_dict) - 1
        assert set(new.vocab_dict) == set(loaded.vocab_dict) == set(ref.vocab_dict)
        assert new.vocab_dict[""] == len(new.vocab_dict) - 1 and loaded.scores["num_docs"] == len(texts)
        # the same posting list (documents and float32 scores, bit for bit) for every token
        R, N = ref.scores, loaded.scores
        for token, i in ref.vocab_dict.items():
            if token:
                j = new.vocab_dict[token]
                a, b = slice(R["indptr"][i], R["indptr"][i + 1]), slice(N["indptr"][j], N["indptr"][j + 1])
                assert np.array_equal(R["indices"][a], N["indices"][b]), token
                assert np.array_equal(R["data"][a], N["data"][b]), token
        for q in _queries(corpus):
            want = _scores(ref, tokens(q))
            for got in (_scores(new, tokens(q)), _scores(loaded, tokens(q))):
                assert (want is None) == (got is None)
                if want is not None:
                    assert got.dtype == want.dtype and np.array_equal(got, want), q
    # the rest of the index files round-trip through bm25s
    assert sorted(p.name for p in (tmp_path / "word").iterdir()) == sorted(
        ["data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy", "vocab.index.json", "params.index.json"]
    )
    assert not list(tmp_path.glob(".bm25-*"))  # spill folders removed


def _bm25_files(ix_dir: Path, arm: str) -> dict[str, bytes]:
    folder = read_manifest(ix_dir).build_dir(ix_dir) / f"bm25_{arm}"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_parallel_tokenisation_gives_the_same_index(tmp_path, corpus):
    serial = build_index(corpus, build_config(tmp_path / "serial"))
    # parallel_min_chunks=0 forces 2 spawned workers on this small corpus
    parallel = build_index(corpus, build_config(tmp_path / "parallel", parallel_min_chunks=0, tokenize_workers=2))
    assert serial.manifest.tokenizer == parallel.manifest.tokenizer
    for arm in ("word", "char"):
        # token ids are in sorted token order, so even the files are identical
        assert _bm25_files(tmp_path / "serial", arm) == _bm25_files(tmp_path / "parallel", arm)
    a, b = load_index(tmp_path / "serial"), load_index(tmp_path / "parallel")
    for q in _queries(corpus):
        wt, ct = a.tokenizer.tokenize(q), a.tokenizer.char_tokens(q)
        assert wt == b.tokenizer.tokenize(q) and ct == b.tokenizer.char_tokens(q)
        assert a.rank_word(wt, 50) == b.rank_word(wt, 50) and a.rank_char(ct, 50) == b.rank_char(ct, 50)
    assert [p.name for p in parallel.build_dir.glob(".bm25-*")] == []


def test_build_with_an_offline_model_path_is_self_contained(tmp_path, corpus):
    model = E.train_offline_model(corpus.chunks, tmp_path / "external_model", glossary=corpus.glossary)
    ix_dir = tmp_path / "ix"
    res = build_index(corpus, build_config(ix_dir, embed_model=str(model)))
    emb = res.manifest.embedding
    assert emb.kind == "offline-static" and emb.path == "model" and res.embedding_source == "named"
    assert (res.build_dir / "model" / "modules.json").is_file()
    (tmp_path / "external_model").rename(tmp_path / "moved_away")  # the index must not need the original folder
    ix = load_index(ix_dir)
    assert ix.dense_error is None and ix.arms == ["word", "char", "dense"]
    assert ix.embedder.sha256 == emb.sha256
    target = _target(corpus)
    assert target in ix.rank_dense(corpus.chunks[target].text.split("。")[1], 5)
    assert load_index(ix_dir, query_model="offline").embedder is not None
    # re-ingest with the copy inside the index (a folder the next build sweeps away): every vector is reused
    again = build_index(corpus, build_config(ix_dir, embed_model=str(res.build_dir / "model")))
    assert again.reused_vectors == len(corpus.chunks) and again.manifest.previous_build == res.manifest.build_id
    res.build_dir.rename(tmp_path / "moved_build")  # kept as the last good build; the new one must not need it
    assert len(load_index(ix_dir).rank_dense(corpus.chunks[target].text.split("。")[1], 5)) == 5
