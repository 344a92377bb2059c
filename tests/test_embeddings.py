import os

os.environ["HF_HUB_OFFLINE"] = "1"

import time
from pathlib import Path

import numpy as np
import pytest

from ingest import embeddings as E
from ingest.models import Chunk, GlossaryEntry

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


def test_missing_hub_model_fails_fast_offline():
    if E.locate_model(E.DEFAULT_AUTO_MODEL) is not None:
        pytest.skip("bge is cached on this machine")
    t = time.perf_counter()
    assert E.try_load_pretrained(E.DEFAULT_AUTO_MODEL) is None
    with pytest.raises(E.EmbedderUnavailable):
        E.load_embedder("BAAI/bge-small-zh-v1.5")
    with pytest.raises(E.EmbedderUnavailable):
        E.load_embedder("/no/such/model/dir")
    assert time.perf_counter() - t < 5
    assert E.load_embedder("none") is None


def test_offline_model_is_deterministic(tmp_path, chunks):
    small = chunks[:40]
    gl = [GlossaryEntry(term="六稳", definition="稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期。", doc_id="d004", source="footnote")]
    recipe = E.OfflineRecipe(epochs=2)
    a = E.train_offline_model(small, tmp_path / "a", seed=0, glossary=gl, recipe=recipe)
    b = E.train_offline_model(small, tmp_path / "b", seed=0, glossary=gl, recipe=recipe)
    assert E.model_sha256(a) == E.model_sha256(b)
    ea, eb = E.load_offline_model(a), E.load_offline_model(b)
    assert ea.kind == E.KIND_OFFLINE and ea.dim == 256 and ea.name.startswith(E.OFFLINE_PREFIX)
    assert ea.info["pairs"] > len(small)
    texts = [c.text for c in small]
    va, vb = ea.encode(texts), eb.encode(texts)
    assert va.tobytes() == vb.tobytes()
    # saved like any model: plain SentenceTransformer(path) loads it
    from sentence_transformers import SentenceTransformer

    vc = SentenceTransformer(str(a), device="cpu").encode(texts[:3], normalize_embeddings=True)
    assert np.allclose(vc, va[:3], atol=1e-6)
    # it learned something: a sentence finds its own chunk among the 40
    q = ea.encode([small[5].text.split("。")[0]])
    assert 5 in np.argsort(-(va @ q[0]))[:5]


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
