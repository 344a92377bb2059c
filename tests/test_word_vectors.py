"""The word-vector model (ingest.word_vectors): segmentation, encoding, its folder, and an index built with it.
Built on hand-made 3-d vectors: no distilled model is needed."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import pytest

from ingest import embeddings as E
from ingest.index_build import build_index
from ingest.index_reader import load_index
from ingest.word_vectors import FORMAT, WordVectorEncoder, is_word_vector_dir, save_word_vectors, segment
from qa_service.config import Settings
from tests.tiny_index import tiny_corpus

WORDS = ["财政", "财政收入", "收入", "下降", "天气", "法院", "案件", "受理", "镇", "稳"]
VECTORS = np.array(
    [[1, 0, 0], [1, 0.2, 0], [0.8, 0.3, 0], [0.6, 0.4, 0], [0, 0, 1], [0, 1, 0], [0, 1, 0.1], [0.1, 0.9, 0],
     [0.3, 0.3, 0.3], [0.5, 0, 0.5]],
    dtype=np.float32,
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_word_vectors(tmp_path_factory.mktemp("wv") / "model", WORDS, VECTORS, {"dim": 3})


def test_segment_takes_the_longest_entry_and_skips_unknown_characters():
    vocab = {w: i for i, w in enumerate(WORDS)}
    assert segment("财政收入同比下降", vocab, 4) == [1, 3]  # 财政收入, (同, 比 unknown), 下降
    assert segment("12.4亿元 abc", vocab, 4) == []  # figures and Latin letters carry no vector
    assert segment("财政，收入", vocab, 4) == [0, 2]  # punctuation ends a run


def test_encoder_gives_unit_rows_and_a_zero_row_for_a_text_without_known_words(model_dir):
    enc = WordVectorEncoder.from_folder(model_dir)
    vecs = enc.encode(["财政收入下降", "法院受理案件", "今天", ""])
    assert vecs.shape == (4, 3) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs[:2], axis=1), 1.0, atol=1e-3)
    assert not vecs[2].any() and not vecs[3].any()
    assert enc.words("财政收入下降") == ["财政收入", "下降"]
    # texts about the same thing are closer than texts about different things
    fin, court = enc.encode(["财政收入"]), enc.encode(["法院案件"])
    assert float(vecs[0] @ fin[0]) > float(vecs[0] @ court[0])


def test_folder_is_recognised_and_a_broken_one_is_refused(model_dir, tmp_path):
    assert is_word_vector_dir(model_dir) and not is_word_vector_dir(tmp_path) and not is_word_vector_dir(None)
    assert FORMAT in (model_dir / "info.json").read_text(encoding="utf-8")
    with pytest.raises(ValueError):
        save_word_vectors(tmp_path / "bad", WORDS[:3], VECTORS, {})
    broken = save_word_vectors(tmp_path / "broken", WORDS, VECTORS, {})
    (broken / "vocab.txt").write_text("财政\n收入", encoding="utf-8")
    with pytest.raises(ValueError):
        WordVectorEncoder.from_folder(broken)


def test_load_embedder_by_path_gives_a_word_vector_embedder(model_dir):
    emb = E.load_embedder(str(model_dir))
    assert emb is not None and emb.kind == E.KIND_WORD_VECTORS and emb.dim == 3
    assert emb.encode("财政收入").shape == (1, 3)
    assert emb.manifest_entry()["kind"] == E.KIND_WORD_VECTORS


def test_an_index_built_with_word_vectors_ranks_with_them(model_dir, tmp_path):
    build_index(tiny_corpus(), Settings(index=tmp_path / "idx").build_config(embed_model=str(model_dir)))
    index = load_index(tmp_path / "idx")
    assert "dense" in index.arms
    court_rows = {i for i, c in enumerate(index.chunks) if c.doc_id == "b"}
    assert index.rank_dense("法院受理了多少案件", 1)[0] in court_rows
