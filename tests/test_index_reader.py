"""IndexReader: one ranking method per arm (best first, ties by lower row, masks), word statistics, and the
lookups computed at load (first_chunk, chunk_count, heading_mask, docs_mentioning)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

from ingest.chunking import make_search_text
from ingest.index_reader import IndexReader, load_index, top_rows
from ingest.zh import match_key, strip_ws
from tiny_index import build_tiny_index

QUERIES = ["审结率", "全院共受理各类案件", "川沙新镇财政总收入", "上半年工作", "六稳六保", "青浦区", "xyz", ""]


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> IndexReader:
    return load_index(build_tiny_index(tmp_path_factory.mktemp("tiny") / "ix"))


def reference_ranking(token_lists: list[list[str]], query: list[str], depth: int, mask=None) -> list[int]:
    """bm25s's own index over the same tokens: rows with a positive score, best first, ties by lower row."""
    import bm25s

    ref = bm25s.BM25()
    ref.index(token_lists, show_progress=False)
    ids = ref.get_tokens_ids(query) if query else []
    if not ids:
        return []
    scores = ref.get_scores_from_ids(ids)
    rows = [i for i in range(len(scores)) if scores[i] > 0 and (mask is None or mask[i])]
    return sorted(rows, key=lambda i: (-scores[i], i))[:depth]


@pytest.mark.parametrize("arm", ["word", "char"])
def test_bm25_rankings_match_a_reference_index(reader, arm):
    tok = reader.tokenizer
    cut = tok.tokenize if arm == "word" else tok.char_tokens
    rank = reader.rank_word if arm == "word" else reader.rank_char
    texts = [make_search_text(True)(c) for c in reader.chunks]
    token_lists = [cut(t) for t in texts]
    only_b = np.array([c.doc_id == "b" for c in reader.chunks])
    for q in QUERIES:
        for depth in (1, 3, 10):
            assert rank(cut(q), depth) == reference_ranking(token_lists, cut(q), depth), (q, depth)
            assert rank(cut(q), depth, only_b) == reference_ranking(token_lists, cut(q), depth, only_b), (q, depth)


@pytest.mark.parametrize("sparse_from", [0, 10**9])  # the sparse product, and the loop per token
@pytest.mark.parametrize("arm", ["word", "char"])
def test_posting_list_scores_are_bm25s_scores_bit_for_bit(reader, arm, sparse_from, monkeypatch):
    """The reader scores straight from the CSC arrays; bm25s's own get_scores_from_ids gives the same float32s."""
    monkeypatch.setattr("ingest.postings.SPARSE_MIN_POSTINGS", sparse_from)
    tok = reader.tokenizer
    cut = tok.tokenize if arm == "word" else tok.char_tokens
    bm25, postings = (reader._bm25_word, reader._postings_word) if arm == "word" else (reader._bm25_char, reader._postings_char)
    for q in QUERIES + ["审结率审结率", "全院全院共受理"]:  # repeated tokens count again
        ids = bm25.get_tokens_ids(cut(q))
        ours = postings.scores(cut(q))
        if not ids:
            assert ours is None
            continue
        ref = bm25.get_scores_from_ids(ids)
        assert ours.dtype == ref.dtype and np.array_equal(ours, ref), q


def test_doc_rows_list_each_documents_rows(reader):
    for doc_id in reader.documents:
        assert reader.doc_rows(doc_id).tolist() == [i for i, c in enumerate(reader.chunks) if c.doc_id == doc_id]
    assert reader.doc_rows("no-such-doc").tolist() == []


def test_ties_go_to_the_lower_row(reader):
    tokens = reader.tokenizer.tokenize("全院共受理各类案件一万余件，审结率明显提高")
    assert reader.rank_word(tokens, 10)[:2] == [5, 6]  # rows 5 and 6 are the same passage
    assert reader.rank_word(tokens, 1) == [5]
    mask = np.zeros(len(reader.chunks), dtype=bool)
    mask[6] = True
    assert reader.rank_word(tokens, 10, mask) == [6]
    assert reader.rank_word(tokens, 10, np.zeros(len(reader.chunks), dtype=bool)) == []
    assert reader.rank_word(tokens, 0) == []


def test_top_rows():
    scores = np.array([0.0, 2.0, 1.0, 2.0, -1.0, 1.0, 3.0], dtype=np.float32)
    assert top_rows(scores, 10).tolist() == [6, 1, 3, 2, 5]  # positives only, ties by row
    assert top_rows(scores, 3).tolist() == [6, 1, 3]
    assert top_rows(scores, 4).tolist() == [6, 1, 3, 2]  # the tie at the cut keeps the lower row
    assert top_rows(scores, 0).tolist() == [] and top_rows(np.zeros(0), 3).tolist() == []


class _FixedEmbedder:
    """Encodes any text as one fixed vector: the ranking depends on the stored vectors alone."""

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.tile(self.vector, (len(texts), 1))


def test_rank_dense_with_and_without_mask(tmp_path):
    import faiss

    reader = load_index(build_tiny_index(tmp_path / "ix"))
    assert reader.arms == ["word", "char"] and reader.rank_dense("任何问题", 5) == []
    vectors = np.array([[0.1, 0], [0.9, 0], [0.5, 0], [0.7, 0], [0.3, 0], [0.7, 0], [0.2, 0]], dtype=np.float32)
    flat = faiss.IndexFlatIP(2)
    flat.add(vectors)
    reader.faiss_index, reader.embedder, reader.vectors = flat, _FixedEmbedder(np.array([1.0, 0.0], np.float32)), vectors
    assert reader.arms == ["word", "char", "dense"]
    top = reader.rank_dense("任何问题", 3)
    assert top[0] == 1 and set(top[1:]) == {3, 5}  # faiss may order the 0.7 tie either way
    mask = np.array([c.doc_id == "b" for c in reader.chunks])
    assert reader.rank_dense("任何问题", 10, mask) == [5, 4, 6]  # exact scores over the allowed rows
    assert reader.rank_dense("任何问题", 10, np.array([False, False, False, True, False, True, False])) == [3, 5]
    assert reader.rank_dense("任何问题", 0) == []


def test_idf_and_has_word(reader):
    n = len(reader.chunks)
    common = reader.tokenizer.tokenize("全院共受理各类案件")[0]
    assert reader.has_word(common) and not reader.has_word("从未出现的词")
    df = sum(common in reader.tokenizer.tokenize(make_search_text(True)(c)) for c in reader.chunks)
    assert reader.idf(common) == pytest.approx(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
    assert reader.idf("从未出现的词") == pytest.approx(np.log(1.0 + (n + 0.5) / 0.5))  # df 0: the maximum


def test_first_chunk_and_chunk_count(reader):
    def scanned(doc_id):  # what QAService computed per question before the lookup
        return min((c for c in reader.chunks if c.doc_id == doc_id and c.kind == "text"), key=lambda c: c.start,
                   default=None)

    assert reader.first_chunk("a") is scanned("a") and reader.first_chunk("a").id == "a.2"  # row 2 beats tied row 3
    assert reader.first_chunk("b") is scanned("b") and reader.first_chunk("b").id == "b.5"
    assert reader.first_chunk("nope") is None
    assert reader.chunk_count("a") == 4 and reader.chunk_count("b") == 3 and reader.chunk_count("nope") == 0


def _heading_matches(path: list[str], prefix: str) -> bool:
    """The per-chunk test the retriever ran over every chunk for each query before heading keys were precomputed."""
    joined = "".join(strip_ws(h) for h in path[1:])
    return joined.startswith(prefix) or any(strip_ws(h).startswith(prefix) for h in path)


@pytest.mark.parametrize(
    "prefix", ["一、上半年", "一、 上半年工作回顾", "二、", "一、审判", "川沙新镇", "名词解释", "青浦区人民法院工作报告", "三、", "一、"]
)
def test_heading_mask(reader, prefix):
    want = [_heading_matches(c.heading_path, strip_ws(prefix)) for c in reader.chunks]
    got = reader.heading_mask(prefix)
    assert got.dtype == bool and got.tolist() == want
    assert any(want) or prefix == "三、"


def test_docs_mentioning(reader):
    docs = {d.doc_id: match_key(d.text) for d in reader.documents.values()}

    def scanned(text):
        return {doc_id for doc_id, key in docs.items() if match_key(text) in key}

    assert reader.docs_mentioning("川沙新镇") == {"a", "b"}  # b writes 川　沙 新镇: whitespace is ignored
    assert reader.docs_mentioning("法院") == {"b"} and reader.docs_mentioning("不存在的地名") == frozenset()
    reader.mentions.precompute(["川沙", "青浦"])
    for text in ["川沙", "青浦", " 川 沙 ", "川沙新镇", "人民政府", "法院", "ＸＹ", "不存在的地名", "1200"]:
        assert reader.docs_mentioning(text) == scanned(text), text
        assert reader.docs_mentioning(text) == scanned(text), text  # the cached answer is the same
