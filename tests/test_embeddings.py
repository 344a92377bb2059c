import os

os.environ["HF_HUB_OFFLINE"] = "1"

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest import embeddings as E
from ingest.models import Chunk, GlossaryEntry
from ingest.static_embedding import StaticEmbeddingReader, UnsupportedLayout

REPORT = Path(__file__).resolve().parents[1] / "ingest" / "data" / "reports" / "004_1aa96ab411d029c6.txt"


def report_chunks(max_chars: int = 200) -> list[Chunk]:
    """Chunks cut from the small shipped report at line breaks (a stand-in for the real chunker)."""
    text = REPORT.read_text(encoding="utf-8")
    chunks: list[Chunk] = []
    heading: list[str] = []
    buf, start = "", 0
    pos = 0
    for line in text.split("\n"):
        if line.strip() and len(line.strip()) < 30 and not line.strip().endswith("。"):
            heading = [line.strip()]
        if buf and len(buf) + len(line) > max_chars:
            chunks.append(Chunk(id=f"c{len(chunks):03d}", doc_id="d004", doc_title="政府上半年工作情况报告",
                                heading_path=list(heading), kind="text", text=buf, start=start, end=start + len(buf)))
            buf, start = "", pos
        if line.strip():
            buf += line + "\n"
        pos += len(line) + 1
    if buf:
        chunks.append(Chunk(id=f"c{len(chunks):03d}", doc_id="d004", doc_title="政府上半年工作情况报告",
                            heading_path=list(heading), kind="text", text=buf, start=start, end=start + len(buf)))
    return chunks


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    return report_chunks()


GLOSSARY = [GlossaryEntry(term="六稳", definition="稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期。", doc_id="d004", source="footnote")]


@pytest.fixture(scope="module")
def offline_dir(chunks, tmp_path_factory) -> Path:
    """The offline model trained (2 epochs) on 40 chunks of the small report, as ingest trains it."""
    out = tmp_path_factory.mktemp("offline") / "model"
    return E.train_offline_model(chunks[:40], out, seed=0, glossary=GLOSSARY, recipe=E.OfflineRecipe(epochs=2))


# Texts that exercise the edges of the tokenizer: unseen characters, only punctuation (no tokens), empty, long.
EDGE_TEXTS = ["川沙新镇1-7月财政总收入是多少？", "", "。，！", "ＡＢＣ abc", "𠀀𠀁", "稳就业" * 300]


def _char_tokenizer(texts: list[str]):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    chars = sorted({ch for t in texts for ch in t if not ch.isspace()})
    vocab = {"[UNK]": 0, **{ch: i + 1 for i, ch in enumerate(chars)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"\s+|."), behavior="isolated")
    return tok


def test_named_model_static_by_path(tmp_path, chunks):
    """A tiny sentence-transformers model built here, saved, and loaded back by path (the named-model path)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    torch.manual_seed(0)
    tok = _char_tokenizer([c.text for c in chunks])
    SentenceTransformer(modules=[StaticEmbedding(tok, embedding_dim=16)], device="cpu").save(str(tmp_path / "tiny"))
    emb = E.load_embedder(str(tmp_path / "tiny"))
    assert emb.kind == E.KIND_ST and emb.dim == 16 and emb.name == str(tmp_path / "tiny")
    assert isinstance(emb.encoder, E.SentenceTransformerEncoder)  # not the offline model: the real loader
    assert emb.sha256 == E.model_sha256(tmp_path / "tiny") and len(emb.sha256) == 64
    v = emb.encode(["川沙新镇财政收入", "疫情防控"])
    assert v.shape == (2, 16) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert emb.encode([]).shape == (0, 16)
    assert emb.manifest_entry() == {"model": str(tmp_path / "tiny"), "dim": 16, "kind": E.KIND_ST, "sha256": emb.sha256}


def test_named_model_tiny_bert_by_path(tmp_path, chunks):
    """A random 1-layer BERT + mean pooling: the Transformer code path a downloaded model (bge) takes."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    chars = sorted({ch for c in chunks for ch in c.text if not ch.isspace()})
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n", encoding="utf-8")
    bert_dir = tmp_path / "bert"
    cfg = BertConfig(vocab_size=len(chars) + 5, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(bert_dir)
    BertTokenizerFast(vocab_file=str(vocab_file)).save_pretrained(bert_dir)
    st = SentenceTransformer(modules=[Transformer(str(bert_dir), max_seq_length=128), Pooling(32, "mean")], device="cpu")
    st.save(str(tmp_path / "st_bert"))

    emb = E.load_embedder(str(tmp_path / "st_bert"))
    assert emb.kind == E.KIND_ST and emb.dim == 32
    v = emb.encode(["川沙新镇财政收入"])
    assert v.shape == (1, 32) and np.isclose(np.linalg.norm(v), 1.0, atol=1e-5)
    assert E.load_embedder(str(tmp_path / "st_bert")).sha256 == emb.sha256


def test_missing_hub_model_is_unavailable_offline():
    if E.locate_model(E.DEFAULT_AUTO_MODEL) is not None:
        pytest.skip("bge is cached on this machine")
    assert E.try_load_pretrained(E.DEFAULT_AUTO_MODEL) is None
    with pytest.raises(E.EmbedderUnavailable, match="not on disk"):
        E.load_embedder("BAAI/bge-small-zh-v1.5")
    with pytest.raises(E.EmbedderUnavailable, match="not on disk"):
        E.load_embedder("/no/such/model/dir")
    with pytest.raises(E.EmbedderUnavailable, match="index's model folder"):
        E.load_embedder("offline")
    assert E.load_embedder("none") is None


def test_offline_model_is_deterministic(tmp_path, chunks, offline_dir):
    small = chunks[:40]
    b = E.train_offline_model(small, tmp_path / "b", seed=0, glossary=GLOSSARY, recipe=E.OfflineRecipe(epochs=2))
    assert E.model_sha256(offline_dir) == E.model_sha256(b)
    ea, eb = E.load_offline_model(offline_dir), E.load_offline_model(b)
    assert ea.kind == E.KIND_OFFLINE and ea.dim == 256 and ea.name.startswith(E.OFFLINE_PREFIX)
    assert ea.info["pairs"] > len(small)
    texts = [c.text for c in small]
    va, vb = ea.encode(texts), eb.encode(texts)
    assert va.tobytes() == vb.tobytes()
    # it learned something: a sentence finds its own chunk among the 40
    q = ea.encode([small[5].text.split("。")[0]])
    assert 5 in np.argsort(-(va @ q[0]))[:5]


def test_offline_model_without_torch_matches_sentence_transformers(chunks, offline_dir):
    """The numpy reader gives the vectors SentenceTransformer(folder).encode gives, for every batch size."""
    from sentence_transformers import SentenceTransformer

    emb = E.load_offline_model(offline_dir)
    assert isinstance(emb.encoder, E.StaticEncoder) and emb.encoder.reader.normalize
    texts = [c.text for c in chunks] + EDGE_TEXTS
    st = SentenceTransformer(str(offline_dir), device="cpu")
    expected = st.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    for batch_size in (1, 7, 64):
        got = emb.encode(texts, batch_size=batch_size)
        assert got.shape == expected.shape == (len(texts), 256) and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    # no tokens (empty, punctuation only, characters the tokenizer never saw): a zero vector, as EmbeddingBag gives
    assert not emb.encode(["", "。，！", "𠀀𠀁"]).any()
    norms = np.linalg.norm(emb.encode([EDGE_TEXTS[0], EDGE_TEXTS[3], EDGE_TEXTS[5]]), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)


def test_offline_model_query_path_does_not_import_torch(offline_dir):
    """Loading the offline model from an index folder and encoding a query imports neither torch nor
    sentence-transformers (a fresh interpreter: this one has imported them)."""
    script = (
        "import sys\n"
        "from ingest import embeddings as E\n"
        f"emb = E.load_embedder('offline', index_model_dir=__import__('pathlib').Path({str(offline_dir)!r}))\n"
        "v = emb.encode('川沙新镇1-7月财政总收入是多少？')\n"
        "assert v.shape == (1, 256), v.shape\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sentence_transformers', 'transformers'})\n"
        "print(','.join(heavy))\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_reader_runs_static_embedding_without_normalize(tmp_path, chunks):
    """A StaticEmbedding saved without Normalize: the reader returns the raw bag means, as the model does."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    torch.manual_seed(0)
    tok = _char_tokenizer([c.text for c in chunks])
    st = SentenceTransformer(modules=[StaticEmbedding(tok, embedding_dim=16)], device="cpu")
    st.save(str(tmp_path / "raw"))
    reader = StaticEmbeddingReader.from_folder(tmp_path / "raw")
    assert not reader.normalize and reader.dim == 16
    texts = [c.text for c in chunks[:20]] + EDGE_TEXTS
    expected = st.encode(texts, convert_to_numpy=True, normalize_embeddings=False, show_progress_bar=False)
    np.testing.assert_allclose(reader.encode(texts, batch_size=8), expected, rtol=0, atol=1e-6)
    assert np.abs(np.linalg.norm(expected[:20], axis=1) - 1).max() > 1e-3  # so the test can tell normalised apart


def test_reader_refuses_other_layouts_and_offline_falls_back(tmp_path, chunks):
    """A folder that is not StaticEmbedding [+ Normalize] is UnsupportedLayout; if such a folder is marked as an
    offline model, the embedder loads it with sentence-transformers instead of failing."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, StaticEmbedding

    tok = _char_tokenizer([c.text for c in chunks])
    folder = tmp_path / "dense"
    modules = [StaticEmbedding(tok, embedding_dim=16), Dense(16, 8), Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    with pytest.raises(UnsupportedLayout, match="not StaticEmbedding"):
        StaticEmbeddingReader.from_folder(folder)
    (folder / E.OFFLINE_INFO_FILE).write_text('{"name": "offline:test"}', encoding="utf-8")
    emb = E.load_offline_model(folder)
    assert emb.kind == E.KIND_OFFLINE and emb.dim == 8
    assert isinstance(emb.encoder, E.SentenceTransformerEncoder)
    assert emb.encode(["川沙新镇"]).shape == (1, 8)


def test_resolve_auto_trains_then_reuses(tmp_path, chunks):
    small = chunks[:30]
    recipe = E.OfflineRecipe(epochs=1)
    emb, how = E.resolve_auto(small, tmp_path / "m1", candidates=("no-such-org/no-such-model",), recipe=recipe)
    assert how == "trained" and emb.kind == E.KIND_OFFLINE
    emb2, how2 = E.resolve_auto(small, tmp_path / "m2", previous_model_dir=tmp_path / "m1", candidates=(), recipe=recipe)
    assert how2 == "reused" and emb2.sha256 == emb.sha256
    emb3, how3 = E.resolve_auto(small, tmp_path / "m3", previous_model_dir=tmp_path / "m1", rebuild=True,
                                candidates=(), recipe=recipe)
    assert how3 == "trained"


def test_static_reader_token_ids_are_the_same_remembered_or_not():
    """StaticEmbeddingReader remembers short texts' token ids; a mixed batch gives what a fresh reader gives."""
    from tokenizers import Tokenizer as HFTokenizer, models, pre_tokenizers

    from ingest.static_embedding import StaticEmbeddingReader

    tok = HFTokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    reader = StaticEmbeddingReader(np.eye(3, dtype=np.float32), tok, True)
    fresh = StaticEmbeddingReader(np.eye(3, dtype=np.float32), tok, True)
    assert reader.token_ids(["a b", "b"]) == [[1, 2], [2]]
    ids = reader.token_ids(["b", "x a", "a b"])
    ids[0].append(9)  # a caller's change does not leak into the remembered ids
    assert reader.token_ids(["b", "x a", "a b"]) == fresh.token_ids(["b", "x a", "a b"]) == [[2], [0, 1], [1, 2]]
