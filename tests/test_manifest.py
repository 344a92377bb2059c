"""The typed Manifest reads the manifest.json the builder wrote before it was typed, and writes the same JSON."""

from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from ingest.manifest import MANIFEST_NAME, Manifest, parse_manifest, read_manifest

# Written by the dict-based ingest/index_store.py (reportqa ingest of the shipped reports, default settings).
DENSE_FLAT = json.loads("""{
  "schema_version": 1,
  "build_id": "20261202T062520-45ec80",
  "build_path": "builds/20261202T062520-45ec80",
  "created_at": "2026-12-02T06:25:36+00:00",
  "embedding": {"model": "offline:static-bpe8k-d256", "dim": 256, "kind": "offline-static",
                "sha256": "4d3bfe6929133b3295c4657e712eadbf79af05353584317b82cb7ae1eeffee97",
                "path": "model", "source": "trained"},
  "tokenizer": {"kind": "jieba-search", "user_words": 422,
                "sha256": "c676a98bd8caebd5074661b3590d113dcf84edc6758502615eaf134c1e78dc8a"},
  "files": [{"path": "ingest/data/reports/000_20d7c97a3767f276.txt",
             "sha256": "020e730b61e05aedff4724476b06185a6706d752a0ff709f0f37021c79ba0965"},
            {"path": "ingest/data/reports/004_1aa96ab411d029c6.txt",
             "sha256": "2afaa4ace11b939ad27569a2c287338ba459e6c8a6197fb91ddd238d2e766d88"}],
  "counts": {"documents": 21, "sections": 306, "chunks": 425, "text": 315, "table": 3, "table_row": 48,
             "definition": 59, "glossary": 59, "files": 2, "skipped": 0},
  "arms": ["word", "char", "dense"],
  "search_text": {"with_heading": true},
  "chunking": {"chunk_size": 500, "overlap": 80},
  "bm25": {"method": "lucene", "k1": 1.5, "b": 0.75},
  "dense": {"index": "flat-ip", "hnsw_threshold": 50000},
  "incremental": {"reused_files": [], "reused_vectors": 0},
  "stage_seconds": {"write_records": 0.059, "tokenizer": 1.9224, "bm25_word": 0.5169, "bm25_char": 0.4499,
                    "embed_model": 13.2544, "embed": 0.1288, "faiss": 0.0288, "total_index": 16.3626}
}""")


def lexical_only() -> dict:
    """The same build with --model none (and a bench build's extra chunking keys)."""
    m = copy.deepcopy(DENSE_FLAT)
    m["embedding"] = {"model": None, "dim": None, "kind": None, "sha256": None}
    m["arms"] = ["word", "char"]
    m["dense"] = None
    m["chunking"] = {"chunk_size": 500, "overlap": 80, "synthetic": 10000, "seed": 0}
    return m


def hnsw() -> dict:
    m = copy.deepcopy(DENSE_FLAT)
    m["dense"] = {"index": "hnsw-ip", "M": 32, "efConstruction": 200, "efSearch": 256, "hnsw_threshold": 10}
    m["embedding"]["source"] = "reused"
    m["incremental"] = {"reused_files": ["ingest/data/reports/004_1aa96ab411d029c6.txt"], "reused_vectors": 57}
    return m


@pytest.mark.parametrize("raw", [DENSE_FLAT, lexical_only(), hnsw()], ids=["flat", "lexical", "hnsw"])
def test_old_manifest_json_round_trips(raw):
    m = Manifest.model_validate(raw)
    assert m.to_dict() == raw
    assert json.loads(m.to_json()) == raw
    assert Manifest.model_validate_json(m.to_json()) == m


def test_typed_fields():
    m = Manifest.model_validate(hnsw())
    assert m.embedding.model == "offline:static-bpe8k-d256" and m.embedding.path == "model"
    assert m.dense is not None and m.dense.index == "hnsw-ip" and m.dense.efSearch == 256
    assert m.counts["chunks"] == 425 and m.chunking.chunk_size == 500 and m.search_text.with_heading is True
    assert m.file_shas["ingest/data/reports/004_1aa96ab411d029c6.txt"].startswith("2afaa4")
    flat = Manifest.model_validate(DENSE_FLAT)
    assert flat.dense.efSearch is None and "efSearch" not in flat.to_dict()["dense"]
    lexical = Manifest.model_validate(lexical_only())
    assert lexical.dense is None and lexical.embedding.model is None and lexical.embedding.path is None


def test_manifest_is_frozen():
    m = Manifest.model_validate(DENSE_FLAT)
    with pytest.raises(ValidationError):
        m.build_id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        m.embedding.model = "other"  # type: ignore[misc]


def test_read_manifest(tmp_path):
    assert read_manifest(tmp_path) is None  # no manifest.json
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(DENSE_FLAT), encoding="utf-8")
    assert read_manifest(tmp_path) is None  # names a build folder that does not exist
    (tmp_path / DENSE_FLAT["build_path"]).mkdir(parents=True)
    m = read_manifest(tmp_path)
    assert m is not None and m.to_dict() == DENSE_FLAT
    assert m.build_dir(tmp_path) == tmp_path / "builds" / DENSE_FLAT["build_id"]
    (tmp_path / MANIFEST_NAME).write_text("{not json", encoding="utf-8")
    assert read_manifest(tmp_path) is None
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"build_path": DENSE_FLAT["build_path"]}), encoding="utf-8")
    assert read_manifest(tmp_path) is None  # not a manifest


def test_parse_manifest_rejects_non_manifests():
    assert parse_manifest([1, 2]) is None
    broken = copy.deepcopy(DENSE_FLAT)
    del broken["embedding"]
    assert parse_manifest(broken) is None
