"""`reportqa ingest / documents / chunks`: the CLI contracts, exit codes and the shipped corpus checks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import CLI, REPORTS, run_cli

KEYS = {"id", "doc_id", "doc_title", "heading_path", "kind", "text", "start", "end", "page", "prev_id", "next_id", "parent_id"}


def _manifest(index: Path) -> str:
    return (index / "manifest.json").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def chunks(shipped_index) -> list[dict]:
    result = run_cli("chunks", "--index", str(shipped_index), "--jsonl")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def doc_texts(shipped_index) -> dict[str, str]:
    # The cleaned texts `reportqa documents DOC_ID --json` prints (that command is checked below).
    from ingest.index_reader import read_store

    return {doc_id: doc.text for doc_id, doc in read_store(shipped_index).documents.items()}


def test_ingest_json_summary(tmp_path):
    result = run_cli("ingest", "--index", str(tmp_path / "idx"), "--embed-model", "none", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # stdout holds only JSON
    assert {"documents", "sections", "chunks", "glossary_terms", "seconds", "skipped", "index", "embedding_model"} <= set(summary)
    assert summary["documents"] == 21
    assert set(summary["chunks"]) == {"text", "table", "table_row", "definition"}
    assert summary["skipped"] == []
    assert summary["embedding_model"] is None


def test_documents_listing(shipped_index):
    result = run_cli("documents", "--index", str(shipped_index), "--json")
    docs = json.loads(result.stdout)
    assert len(docs) == 21
    assert set(docs[0]) == {"id", "title", "source_file", "page", "date", "reporter", "n_sections", "n_chunks"}
    gazette = [d for d in docs if d["id"].startswith("000_20d7c97a3767f276-")]
    assert [d["page"] for d in gazette] == [1, 4, 18, 34, 35, 49, 60, 68, 75, 76, 87, 96, 100, 106, 109, 128, 129, 130, 131, 132]
    town = next(d for d in docs if d["id"] == "004_1aa96ab411d029c6")
    assert town["title"] == "政府上半年工作情况报告"
    duty = [d for d in gazette if d["title"] == "履职报告"]
    assert len(duty) == 2 and duty[0]["reporter"] != duty[1]["reporter"]


def test_document_detail_has_outline_and_text(shipped_index):
    detail = json.loads(run_cli("documents", "004_1aa96ab411d029c6", "--index", str(shipped_index), "--json").stdout)
    assert detail["outline"] and "注释" in detail["text"]
    missing = run_cli("documents", "nope", "--index", str(shipped_index), "--json")
    assert missing.returncode == 1 and "unknown document id" in missing.stderr


def test_chunk_fields_and_offsets(chunks, doc_texts):
    assert chunks and all(set(c) >= KEYS for c in chunks)
    for c in chunks:
        assert not any(ch in c["id"] for ch in "/?# \t\n")
        assert isinstance(c["heading_path"], list) and c["heading_path"][0] == c["doc_title"]
        if c["kind"] in ("text", "definition"):
            assert doc_texts[c["doc_id"]][c["start"]:c["end"]] == c["text"]


def test_shipped_corpus_quality(chunks):
    definitions = [c for c in chunks if c["kind"] == "definition"]
    town_defs = [c for c in definitions if c["doc_id"] == "004_1aa96ab411d029c6"]
    assert len(town_defs) == 19  # every footnote definition
    glossary = [c for c in definitions if "名词解释" in c["heading_path"]]
    assert len(glossary) == 25  # every 名词解释 item
    for c in chunks:
        assert "footnoteRef" not in c["text"] and "bookmark" not in c["text"]
        assert "上海市青浦区人民代表大会常务委员会公报" not in c["text"]
        assert "公报第四号" not in c["text"].replace(" ", "")
    rows = [c for c in chunks if c["kind"] == "table_row"]
    assert any("指标名称：合同外资" in r["text"] and "8 亿美元" in r["text"] for r in rows)


def test_chunks_filter_by_doc(shipped_index):
    result = run_cli("chunks", "--index", str(shipped_index), "--doc", "004_1aa96ab411d029c6", "--jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and {r["doc_id"] for r in rows} == {"004_1aa96ab411d029c6"}


def test_some_skipped_exit_3(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text("一、总体情况\n今年财政收入12亿元。\n", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    result = run_cli("ingest", str(folder), "--index", str(tmp_path / "idx"), "--embed-model", "none", "--json")
    assert result.returncode == 3, result.stderr
    summary = json.loads(result.stdout)
    assert {Path(s["path"]).name for s in summary["skipped"]} == {"empty.txt", "blob.txt"}
    assert all(s["reason"] for s in summary["skipped"])
    assert summary["documents"] == 1


def test_missing_path_exit_1_writes_nothing(tmp_path):
    index = tmp_path / "idx"
    result = run_cli("ingest", str(tmp_path / "nope.txt"), "--index", str(index))
    assert result.returncode == 1
    assert "no such file" in result.stderr and "Traceback" not in result.stderr
    assert not index.exists()


def test_nothing_ingestable_exit_1(tmp_path):
    bad = tmp_path / "report.xyz"
    bad.write_text("不是支持的格式", encoding="utf-8")
    index = tmp_path / "idx"
    result = run_cli("ingest", str(bad), "--index", str(index), "--json")
    assert result.returncode == 1
    assert not (index / "manifest.json").exists()


def test_strict_exit_4_keeps_index(tmp_path):
    index = tmp_path / "idx"
    assert run_cli("ingest", str(REPORTS / "004_1aa96ab411d029c6.txt"), "--index", str(index), "--embed-model", "none").returncode == 0
    before = _manifest(index)
    (tmp_path / "empty.txt").write_bytes(b"")
    result = run_cli("ingest", str(REPORTS), str(tmp_path / "empty.txt"), "--index", str(index), "--strict", "--embed-model", "none")
    assert result.returncode == 4
    assert "empty.txt" in result.stderr
    assert _manifest(index) == before


def test_query_commands_without_index(tmp_path):
    result = run_cli("search", "财政", "--index", str(tmp_path / "none"))
    assert result.returncode == 1 and "reportqa ingest" in result.stderr and "Traceback" not in result.stderr


# -- output a user pipes, copies from or watches ---------------------------------------------------------------


def test_closed_pipe_exits_quietly(shipped_index, chunks):
    """`reportqa chunks | head`: the reader goes away after one line; exit 0 and nothing on stderr."""
    assert sum(len(json.dumps(c, ensure_ascii=False)) for c in chunks) > 4 * 65536  # more than a pipe holds
    proc = subprocess.Popen([*CLI, "chunks", "--index", str(shipped_index), "--jsonl"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # the writer is blocked on a full pipe: its next write fails with EPIPE
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, stderr
    assert json.loads(first)["id"] and stderr == b""


def test_pipe_closed_before_any_output_exits_quietly(shipped_index):
    """Output smaller than a pipe's buffer (a rich table), the reader already gone: still exit 0, quiet."""
    proc = subprocess.Popen([*CLI, "documents", "--index", str(shipped_index)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 0 and stderr == b""


def test_tables_are_not_cut_off_a_terminal(shipped_index):
    """stdout is a pipe and COLUMNS is narrow: every id (and every title) is printed whole, on one line."""
    docs = json.loads(run_cli("documents", "--index", str(shipped_index), "--json").stdout)
    table = run_cli("documents", "--index", str(shipped_index), env={"COLUMNS": "40"})
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    for d in docs:
        assert any(d["id"] in line and d["title"] in line for line in lines), d["id"]
    hits = json.loads(run_cli("search", "财政总收入", "--index", str(shipped_index), "--json").stdout)["results"]
    shown = run_cli("search", "财政总收入", "--index", str(shipped_index), env={"COLUMNS": "40"}).stdout
    assert hits and all(h["passage_id"] in shown for h in hits)


def test_ingest_reports_progress_stages(tmp_path):
    """The build stages reach the progress callback (stage, done, total): with --verbose off a terminal they are
    logged to stderr; without it stderr stays quiet."""
    result = run_cli("-v", "ingest", str(REPORTS / "004_1aa96ab411d029c6.txt"), "--index", str(tmp_path / "idx"),
                     "--embed-model", "none", "--json")
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if "reportqa.progress" in line]
    for stage in ("parse", "tokenizer", "bm25_word", "bm25_char"):
        assert any(f" {stage}: " in line and line.endswith("done") for line in progress), stage
    assert json.loads(result.stdout)["documents"] == 1  # stdout still holds only JSON
    quiet = run_cli("ingest", str(REPORTS / "004_1aa96ab411d029c6.txt"), "--index", str(tmp_path / "idx2"),
                    "--embed-model", "none", "--json")
    assert quiet.returncode == 0 and "reportqa.progress" not in quiet.stderr
