"""Index integrity: every file of a build is checked against the manifest's sizes and sha256s at load.

A damaged file of each kind gives 503 on /readyz and the data endpoints, naming the file (relative to the index
directory) and the rebuild command, never 500; a damaged newer build leaves the last good one in service.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import qa_service.store as store_module
from ingest.index_build import build_index
from ingest.integrity import REBUILD_COMMAND, IndexDamaged, verify_build
from ingest.manifest import read_manifest
from qa_service.app import create_app
from qa_service.config import Settings
from qa_service.service import QAService
from asgi import request
from tiny_index import build_tiny_index, tiny_corpus

# One file of each kind a build holds (relative to the build folder).
DAMAGEABLE = {
    "chunks": "chunks.jsonl",
    "documents": "documents.json",
    "faiss": "dense.faiss",
    "vectors": "vectors.npy",
    "bm25 array": "bm25_word/data.csc.index.npy",
    "vocabulary": "bm25_char/vocab.index.json",
    "user words": "tokenizer/user_words.txt",
    "model": "model/model.safetensors",
}
DATA_CALLS = [
    ("GET", "/readyz", {}),
    ("GET", "/v1/search", {"params": {"q": "财政总收入"}}),
    ("GET", "/v1/documents", {}),
    ("GET", "/v1/passages/a.0", {}),
    ("POST", "/v1/ask", {"json": {"question": "川沙新镇财政总收入是多少"}}),
]


@pytest.fixture(scope="module")
def dense_tiny(tmp_path_factory) -> Path:
    """The tiny corpus with the offline model: chunks, documents, BM25, tokenizer, FAISS, vectors and model."""
    return build_tiny_index(tmp_path_factory.mktemp("tiny") / "index", embed_model="offline")


def _copy(index: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "index"
    shutil.copytree(index, dst)
    return dst


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_the_manifest_lists_every_file_of_the_build(dense_tiny):
    manifest = read_manifest(dense_tiny)
    listed = {f.path for f in manifest.index_files}
    assert set(DAMAGEABLE.values()) <= listed
    on_disk = {p.relative_to(manifest.build_dir(dense_tiny)).as_posix()
               for p in manifest.build_dir(dense_tiny).rglob("*") if p.is_file()}
    assert listed == on_disk - {"manifest.json"}
    assert verify_build(dense_tiny, manifest) is True


@pytest.mark.parametrize("damage", [_truncate, _flip_byte], ids=["truncated", "same size, altered"])
@pytest.mark.parametrize("kind", list(DAMAGEABLE))
def test_a_damaged_file_gives_503_naming_it(dense_tiny, tmp_path, kind, damage):
    index = _copy(dense_tiny, tmp_path)
    manifest = read_manifest(index)
    damage(manifest.build_dir(index) / DAMAGEABLE[kind])
    with pytest.raises(IndexDamaged) as ei:
        verify_build(index, manifest)
    assert ei.value.file == f"{manifest.build_path}/{DAMAGEABLE[kind]}"
    app = create_app(Settings(index=index))
    assert request(app, "GET", "/healthz").status_code == 200
    for method, path, kwargs in DATA_CALLS:
        r = request(app, method, path, **kwargs)
        assert r.status_code == 503, (path, r.text)
        message = r.json()["error"]["message"]
        assert f"{manifest.build_path}/{DAMAGEABLE[kind]}" in message and REBUILD_COMMAND in message
        assert str(tmp_path) not in message  # no server path


def test_a_failed_load_is_not_retried_on_every_request(tmp_path, monkeypatch):
    index = build_tiny_index(tmp_path / "index")
    manifest = read_manifest(index)
    _truncate(manifest.build_dir(index) / "chunks.jsonl")
    calls = []
    real = store_module.load_index
    monkeypatch.setattr(store_module, "load_index", lambda *a, **k: calls.append(1) or real(*a, **k))
    app = create_app(Settings(index=index))
    for _ in range(3):
        assert request(app, "GET", "/v1/documents").status_code == 503
    assert len(calls) == 1
    # a new manifest (a rebuild) is tried again, and serves
    build_tiny_index(index)
    assert request(app, "GET", "/v1/documents").status_code == 200
    assert len(calls) == 2


def test_the_last_good_build_serves_while_a_newer_one_is_damaged(tmp_path):
    index = build_tiny_index(tmp_path / "index")
    good = read_manifest(index)
    service = QAService(Settings(index=index))
    app = create_app(service=service)
    assert request(app, "GET", "/readyz").json()["build_id"] == good.build_id

    newer = build_index(tiny_corpus(), Settings(index=index).build_config(embed_model="none")).manifest
    assert newer.previous_build == good.build_id and good.build_dir(index).is_dir()  # the previous build is kept
    _truncate(newer.build_dir(index) / "bm25_char" / "vocab.index.json")
    ready = request(app, "GET", "/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded" and body["build_id"] == good.build_id
    assert f"{newer.build_path}/bm25_char/vocab.index.json" in body["damage"] and REBUILD_COMMAND in body["damage"]
    r = request(app, "GET", "/v1/search", params={"q": "财政总收入"})
    assert r.status_code == 200 and r.json()["results"]
    assert request(app, "POST", "/v1/ask", json={"question": "川沙新镇财政总收入是多少"}).status_code == 200

    # the next good build replaces both; its own predecessor (the damaged one) lends it nothing
    fixed = build_index(tiny_corpus(), Settings(index=index).build_config(embed_model="none")).manifest
    body = request(app, "GET", "/readyz").json()
    assert body["status"] == "ready" and body["build_id"] == fixed.build_id and body["damage"] is None
    assert not good.build_dir(index).exists()  # swept: only the newest and the one it replaced are kept


def test_a_server_starting_on_a_damaged_build_serves_the_one_it_replaced(tmp_path):
    index = build_tiny_index(tmp_path / "index")
    good = read_manifest(index)
    newer = build_index(tiny_corpus(), Settings(index=index).build_config(embed_model="none")).manifest
    _flip_byte(newer.build_dir(index) / "documents.json")
    app = create_app(Settings(index=index))  # a fresh process: nothing loaded yet
    body = request(app, "GET", "/readyz").json()
    assert body["status"] == "degraded" and body["build_id"] == good.build_id
    assert f"{newer.build_path}/documents.json" in body["damage"]
    assert request(app, "GET", "/v1/search", params={"q": "财政总收入"}).json()["results"]
    # with the previous build damaged too there is nothing to serve: 503 naming the newest build's file
    _flip_byte(good.build_dir(index) / "chunks.jsonl")
    r = request(create_app(Settings(index=index)), "GET", "/v1/documents")
    assert r.status_code == 503 and f"{newer.build_path}/documents.json" in r.json()["error"]["message"]
