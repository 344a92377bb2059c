"""`reportqa bench`: the quick run as a user runs it (real CLI in a subprocess), plus its pure parts.

Timings are never asserted: they depend on the machine. Structure, error counts and determinism are.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import free_port, run_cli
from eval import bench as B
from eval.bench_config import BenchConfig
from eval.bench_markdown import _growth_md
from eval.bench_steps import projection, skip_reason
from eval.bench_load import latency_summary, run_load
from eval.bench_synth import SOURCE_PERSONS, SOURCE_PLACES, perturb_text, synthetic_chunks, synthetic_corpus
from ingest.models import Chunk, Document

LATENCY_KEYS = {"n", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms"}


# -- the quick run, end to end ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, shipped_index) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("bench") / "out"
    result = run_cli("bench", "--quick", "--index", str(shipped_index), "--out", str(out), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, json.loads((out / "bench.json").read_text(encoding="utf-8")), result.stdout


@pytest.mark.slow
def test_quick_writes_json_and_markdown(quick_run):
    out, data, stdout = quick_run
    assert (out / "bench.md").is_file()
    md = (out / "bench.md").read_text(encoding="utf-8")
    for heading in ("## Ingest", "## Retrieval in-process", "## Service", "## Growth", "## Peer"):
        assert heading in md
    assert "reportqa bench --quick" in md  # the exact command
    assert "## Service" in stdout  # the table is printed too
    assert data["quick"] is True
    assert {"schema", "command", "machine", "config", "ingest", "retrieval", "service", "growth", "peer", "errors"} <= set(data)
    assert data["machine"]["logical_cores"] >= 1 and data["machine"]["memory_bytes"] > 0


@pytest.mark.slow
def test_quick_ingest_stages(quick_run):
    ingest = quick_run[1]["ingest"]
    for run in ("first_build", "reingest"):
        stages = ingest[run]["stage_seconds"]
        assert {"parse", "tokenizer", "bm25_word", "bm25_char", "total_index"} <= set(stages)
        assert ingest[run]["chunks"] > 0
    assert "embed" in ingest["first_build"]["stage_seconds"]  # auto -> the offline model: a dense arm
    assert ingest["reingest"]["reused_files"] >= 1  # the second run reused the unchanged files' vectors


@pytest.mark.slow
def test_quick_retrieval_and_peer(quick_run):
    ret = quick_run[1]["retrieval"]
    assert LATENCY_KEYS <= set(ret["retrieval"]) and ret["retrieval"]["n"] > 0
    assert set(ret["arm_ms"]) >= {"word", "char"}
    assert ret["rss_bytes"] > 0
    assert ret["peer"]["status"] == "ok" and ret["peer"]["ratio_p50"] is not None


@pytest.mark.slow
def test_quick_service_has_no_errors(quick_run):
    svc = quick_run[1]["service"]
    seen = {(m["endpoint"], m["concurrency"]) for m in svc["measurements"]}
    assert seen == {(e, c) for e in ("ask", "search") for c in (1, 8)}
    for m in svc["measurements"]:
        assert isinstance(m["errors"], int) and m["errors"] == 0, m.get("error_samples")
        assert LATENCY_KEYS <= set(m) and m["n"] == m["requests"]
        assert m["rps"] > 0 and m["peak_rss_bytes"] > 0
    assert svc["peak_rss_bytes"] > 0
    assert quick_run[1]["errors"] == 0


@pytest.mark.slow
def test_quick_growth(quick_run):
    growth = quick_run[1]["growth"]
    assert [g["n"] for g in growth] == [2000]
    g = growth[0]
    assert g["status"] == "ok"
    assert g["build"]["index_bytes"] > 0 and g["build"]["build_peak_rss_bytes"] > 0
    assert g["query"]["chunks"] == 2000 and "dense" in g["query"]["arms"]  # the shipped model's dense arm loads
    assert LATENCY_KEYS <= set(g["query"]["retrieval"])
    assert [p["n"] for p in quick_run[1]["peer"]] == ["shipped", 2000]


# -- the synthetic corpus -----------------------------------------------------------------------------------


def _chunk(i: int, text: str) -> Chunk:
    return Chunk(id=f"c{i}", doc_id="d1", doc_title="青浦区报告", heading_path=["青浦区报告", "一、财政"], kind="text",
                 text=text, start=0, end=len(text), prev_id="x", parent_id="p")


BASE = [
    _chunk(0, "青浦区1-7月财政总收入12.42亿元，同比下降13.2%。朱要武同志作报告。川沙新镇完成目标。"),
    _chunk(1, "浦东新区推进项目建设；重点工作有序开展。"),
]


def test_synthetic_chunks_are_deterministic_and_unique():
    a = synthetic_chunks(BASE, 50, seed=3)
    b = synthetic_chunks(BASE, 50, seed=3)
    assert [c.text for c in a] == [c.text for c in b]
    assert len({c.id for c in a}) == 50
    assert [c.text for c in synthetic_chunks(BASE, 10, seed=3)] == [c.text for c in a[:10]]  # prefix-stable
    assert [c.text for c in synthetic_chunks(BASE, 10, seed=4)] != [c.text for c in a[:10]]
    assert all(c.prev_id is None and c.parent_id is None for c in a)  # no links to real chunks


def test_perturb_changes_names_and_digits_but_keeps_shape():
    text = BASE[0].text
    out = perturb_text(text, random.Random(1))
    assert not any(n in out for n in SOURCE_PLACES + SOURCE_PERSONS)
    assert sum(ch.isdigit() for ch in out) == sum(ch.isdigit() for ch in text)  # figures keep their shape
    assert "." in out and "%" in out and "亿元" in out


def test_synthetic_corpus_keeps_documents():
    docs = [Document(doc_id="d1", title="青浦区报告", source_file="a.txt", text="青浦区")]
    corpus = synthetic_corpus(BASE, docs, 7)
    assert len(corpus.chunks) == 7 and corpus.documents == docs and corpus.files == []


# -- the load generator and the report ----------------------------------------------------------------------


def test_load_generator_counts_exceptions_as_errors():
    port = free_port()  # nothing listens there
    r = run_load(f"http://127.0.0.1:{port}", "search", ["问题"], concurrency=2, requests=4, timeout=2)
    assert r["errors"] == 4 and r["n"] == 0 and r["error_samples"]


def test_latency_summary():
    s = latency_summary([1.0, 2.0, 3.0, 4.0])
    assert set(s) == LATENCY_KEYS and s["n"] == 4 and s["p50_ms"] == 2.5
    assert latency_summary([])["p50_ms"] is None


def test_projection_skips_sizes_that_would_not_fit():
    done = [{"n": 10_000, "status": "ok", "build": {"build_seconds": 40.0, "build_peak_rss_bytes": 2**30}}]
    cfg = BenchConfig(out_dir=Path("x"), command="c", cli=("reportqa",), max_build_seconds=900)
    proj = projection(1_000_000, done)
    assert proj["build_seconds"] == 4000.0 and proj["build_peak_rss_bytes"] == 100 * 2**30
    reason = skip_reason(proj, cfg)
    assert "budget" in reason and "RSS" in reason
    assert skip_reason(projection(20_000, done), cfg) is None


def test_markdown_renders_skipped_growth_rows():
    row = {"n": 1_000_000, "status": "skipped", "reason": "projected build 4000 s > the 900 s budget",
           "projected": {"from_n": 100_000, "build_seconds": 4000.0, "build_peak_rss_bytes": 2**35}}
    md = _growth_md([row])
    assert "1,000,000" in "\n".join(md) and "skipped" in "\n".join(md)


def test_synthetic_sizes_follow_the_option(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from reportqa.cli import app

    seen = {}

    def fake_run(config, progress=None):
        seen["sizes"] = config.synthetic
        seen["cli"] = config.cli
        raise B.BenchError("stop here")

    monkeypatch.setattr(B, "run_bench", fake_run)
    runner = CliRunner()
    r = runner.invoke(app, ["bench", "--out", str(tmp_path), "--synthetic", "10000", "100000", "1000000"])
    assert r.exit_code == 1 and seen["sizes"] == [10000, 100000, 1000000]
    assert seen["cli"][-2:] == ("-m", "reportqa")  # the CLI tells eval how to run it; eval does not name it
    r = runner.invoke(app, ["bench", "--out", str(tmp_path), "500"])
    assert r.exit_code == 1 and "--synthetic" in r.output


def test_kept_synthetic_index_is_reused_and_a_changed_one_rebuilt(monkeypatch, tmp_path, shipped_index):
    """--keep: the first run builds into KEEP/synthetic_N and records the build; the next reuses it; another seed
    rebuilds. run_worker is stubbed: this checks the bookkeeping, not a build."""
    import shutil

    from eval import bench_steps

    calls: list[str] = []

    def fake_worker(args, out, timeout, what):
        calls.append(args[0])
        if args[0] == "build":
            shutil.copytree(shipped_index, Path(args[args.index("--index") + 1]), dirs_exist_ok=True)  # "built"
            return {"n": int(args[args.index("--n") + 1]), "seed": int(args[args.index("--seed") + 1]), "build_seconds": 1.0}
        return {"chunks": 10}

    monkeypatch.setattr(bench_steps, "run_worker", fake_worker)
    keep = tmp_path / "keep"
    cfg = BenchConfig(out_dir=tmp_path / "o", command="c", cli=("reportqa",), synthetic=[5000], keep=keep)
    work = tmp_path / "w"
    work.mkdir()
    first = bench_steps.bench_growth(shipped_index, cfg, work, lambda m: None)
    assert calls == ["build", "measure"] and first[0]["status"] == "ok" and "reused" not in first[0]["build"]
    assert (keep / "synthetic_5000" / bench_steps.KEPT_BUILD).is_file()  # kept, not deleted
    calls.clear()
    second = bench_steps.bench_growth(shipped_index, cfg, work, lambda m: None)
    assert calls == ["measure"] and second[0]["build"]["reused"] is True
    calls.clear()
    cfg.seed = 1
    bench_steps.bench_growth(shipped_index, cfg, work, lambda m: None)
    assert calls == ["build", "measure"]


def test_growth_only_needs_an_index_and_sizes(tmp_path):
    from typer.testing import CliRunner

    from reportqa.cli import app

    r = CliRunner().invoke(app, ["bench", "--out", str(tmp_path), "--growth-only", "--synthetic", "1000"])
    assert r.exit_code != 0 and "--growth-only" in r.output
