"""The per-process cache of text vectors behind the answerer's semantic similarity."""

from __future__ import annotations

import numpy as np

from qa_service.vector_cache import VectorCache


class CountingEncoder:
    """A deterministic stand-in embedder that records which texts it was asked to encode."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], dtype=np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_vectors_are_unit_rows_in_the_order_asked_and_equal_to_a_direct_encoding():
    encode = CountingEncoder()
    texts = ["财政总收入", "同比下降13.2%", "财政总收入"]
    got = VectorCache(10).get(texts, encode)
    assert np.allclose(got, unit(CountingEncoder()(texts)))
    assert encode.calls == [["财政总收入", "同比下降13.2%"]]  # a repeated text is encoded once


def test_only_texts_not_yet_cached_are_encoded_in_one_call():
    encode = CountingEncoder()
    cache = VectorCache(10)
    cache.get(["a", "b"], encode)
    again = cache.get(["b", "c", "a"], encode)
    assert encode.calls == [["a", "b"], ["c"]]
    assert np.allclose(again, unit(CountingEncoder()(["b", "c", "a"])))


def test_least_recently_used_texts_are_dropped_past_the_size():
    encode = CountingEncoder()
    cache = VectorCache(2)
    cache.get(["a", "b"], encode)
    cache.get(["a"], encode)  # a is now more recent than b
    cache.get(["c"], encode)  # drops b
    assert len(cache) == 2
    cache.get(["a", "b"], encode)
    assert encode.calls[-1] == ["b"]
