"""The optional cross-encoder reranker, with a tiny random BERT cross-encoder built by the test."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> str:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    from conftest import REPORTS

    folder = tmp_path_factory.mktemp("tiny-ce")
    chars = sorted({ch for f in REPORTS.iterdir() for ch in f.read_text(encoding="utf-8") if not ch.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(folder / "vocab.txt"), tokenize_chinese_chars=True)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_reranker_reorders_by_cross_encoder_score(shipped_index, tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    from qa_service.config import Settings
    from qa_service.service import QAService

    plain = QAService(Settings(index=shipped_index))
    reranked = QAService(Settings(index=shipped_index, reranker=tiny_cross_encoder))
    assert reranked.loaded().retriever.reranker is not None
    question = "川沙新镇1-7月财政总收入是多少？"
    base = plain.search(question, 10).results
    got = reranked.search(question, 10).results
    assert got and len(got) == 10
    # Scores are the cross-encoder's, and the list is ordered by them.
    scorer = CrossEncoder(tiny_cross_encoder)
    expected = scorer.predict([(question, r.text) for r in got])
    assert [round(float(s), 4) for s in expected] == [round(r.score, 4) for r in got]
    assert [r.score for r in got] == sorted((r.score for r in got), reverse=True)
    # The reranker only reorders the fused candidates; it never invents passages.
    pool = {r.passage_id for r in plain.search(question, 50).results}
    assert {r.passage_id for r in got} <= pool
    assert base[0].passage_id in pool
