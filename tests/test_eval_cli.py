"""`reportqa eval` and `reportqa compare` as a user runs them (real CLI in a subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CLI, REPORTS, ROOT, run_cli
from eval.dataset import load_dataset, packaged_datasets, resolve_dataset

ITEMS = [
    {"id": "t1", "question": "川沙新镇1-7月财政总收入是多少？", "answers": ["12.42亿元", "12.42亿"],
     "evidence": ["1-7月，财政总收入12.42亿元，同比下降13.2%"], "type": "numeric", "split": "tune", "note": "kept"},
    {"id": "t2", "question": "什么是“六稳”？", "answers": ["稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期"],
     "evidence": ["六稳：稳就业、稳金融、稳外贸、稳外资、稳投资、稳预期"], "type": "definition"},
    {"id": "t3", "question": "川沙新镇2019年全年的财政总收入是多少？", "answers": [], "evidence": [], "type": "unanswerable", "split": "tune"},
    {"id": "t4", "question": "川沙新镇疫情期间一共设立了多少个登记检查站？", "evidence": ["设立326个登记检查站"], "type": "numeric",
     "split": "tune"},  # no `answers`: retrieval only
    {"id": "r1", "question": "不在 tune 里的问题？", "answers": ["x"], "evidence": ["x"], "type": "entity", "split": "report"},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_malformed_line_fails_before_evaluating(tmp_path: Path):
    data = tmp_path / "bad.jsonl"
    lines = [json.dumps(ITEMS[0], ensure_ascii=False), json.dumps(ITEMS[1], ensure_ascii=False), "{not json"]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    # the index does not exist: the dataset error must come first, and nothing is written
    result = run_cli("eval", "--dataset", str(data), "--index", str(tmp_path / "no-index"), "--out", str(out))
    assert result.returncode != 0
    assert "line 3" in result.stderr
    assert not out.exists()


def test_bad_field_names_its_line(tmp_path: Path):
    data = write_jsonl(tmp_path / "bad.jsonl", [ITEMS[0], {"id": "x", "question": "q", "answers": "not a list"}])
    result = run_cli("eval", "--dataset", str(data), "--index", str(tmp_path / "no-index"))
    assert result.returncode != 0 and "line 2" in result.stderr


@pytest.fixture(scope="module")
def tiny_run(shipped_index: Path, tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """One in-process eval of the tiny dataset, with a gate it cannot pass: (dataset, run folder, result)."""
    tmp = tmp_path_factory.mktemp("eval")
    data = write_jsonl(tmp / "tiny.jsonl", ITEMS)
    gate = tmp / "gate.json"
    gate.write_text(json.dumps({"retrieval": {"hit@1": 1.01}, "answer": {"contains_gold": 0.0}}), encoding="utf-8")
    out = tmp / "run"
    result = run_cli("eval", "--dataset", str(data), "--index", str(shipped_index), "--split", "tune",
                     "--out", str(out), "--gate", str(gate))
    return data, out, result


def test_eval_end_to_end_gate_and_compare(tiny_run, tmp_path: Path):
    _, out, result = tiny_run
    assert result.returncode == 2, result.stderr  # the impossible floor fails the gate, after writing the run
    assert "retrieval.hit@1" in result.stderr and "floor 1.01" in result.stderr
    assert "contains_gold" not in result.stderr.split("gate:", 1)[-1]  # a met floor is not reported

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n"] == 4  # the `report` item is not in --split tune
    assert summary["n_answerable"] == 3 and summary["n_unanswerable"] == 1
    assert summary["retrieval"]["hit@5"] >= 2 / 3
    assert summary["answer"]["contains_gold"] >= 0.5
    assert summary["config"]["system"] == "reportqa" and summary["config"]["top_k"] == 5
    assert summary["config"]["index"]["build_id"] and "fusion_weights" in summary["config"]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["t1", "t2", "t3", "t4"]
    assert rows[0]["extra"] == {"note": "kept"}
    assert "12.42" in rows[0]["answer"] and rows[0]["citations"]
    for f in ("report.md", "hit_at_k.png", "by_type.png", "latency.png"):
        assert (out / f).stat().st_size > 0
    assert "hit@1" in result.stdout  # the summary table

    # compare: a copy of the run with one metric changed
    other = tmp_path / "run2"
    shutil.copytree(out, other)
    changed = json.loads((other / "summary.json").read_text(encoding="utf-8"))
    changed["retrieval"]["hit@1"] = round(summary["retrieval"]["hit@1"] - 0.25, 4)
    (other / "summary.json").write_text(json.dumps(changed), encoding="utf-8")
    cmp = run_cli("compare", str(out), str(other))
    assert cmp.returncode == 0, cmp.stderr
    assert "retrieval.hit@1" in cmp.stdout and "(-0.25)" in cmp.stdout
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_http_gives_the_same_numbers(tiny_run, server, tmp_path: Path):
    data, inproc, _ = tiny_run
    out = tmp_path / "http"
    result = run_cli("eval", "--dataset", str(data), "--url", server.url, "--split", "tune", "--out", str(out))
    assert result.returncode == 0, result.stderr
    a = json.loads((inproc / "summary.json").read_text(encoding="utf-8"))
    b = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for group in ("retrieval", "answer", "citation", "abstention"):
        assert a[group] == b[group], group
    assert b["config"]["url"] == server.url


def test_compare_needs_run_folders(tmp_path: Path):
    result = run_cli("compare", str(tmp_path), str(tmp_path))
    assert result.returncode != 0 and "summary.json" in result.stderr


# -- the packaged dev set and the options a user can see ---------------------------------------------------------


def run_cli_in(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI run from `cwd`, as after `pip install .` outside the clone (the packages found on PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_packaged_dataset_resolves_by_name():
    packaged = resolve_dataset("reports_dev")
    assert packaged == ROOT / "eval" / "datasets" / "reports_dev.jsonl"
    assert resolve_dataset("reports_dev.jsonl") == packaged
    lines = [line for line in packaged.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(load_dataset("reports_dev")) == len(lines)
    assert "reports_dev" in packaged_datasets()


def test_dataset_by_name_outside_the_clone(tmp_path: Path):
    index = tmp_path / "idx"
    built = run_cli_in(tmp_path, "ingest", str(REPORTS / "004_1aa96ab411d029c6.txt"), "--index", str(index),
                       "--embed-model", "none", "--json")
    assert built.returncode == 0, built.stderr
    result = run_cli_in(tmp_path, "eval", "--dataset", "reports_dev", "--index", str(index), "--split", "tune",
                        "--retrieval-only", "--out", "run")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary["n"] == len(load_dataset("reports_dev", "tune")) and summary["config"]["dataset"] == "reports_dev"


def test_unknown_dataset_name_lists_the_packaged_ones(tmp_path: Path):
    result = run_cli_in(tmp_path, "eval", "--dataset", "reports_devv", "--index", str(tmp_path / "no-index"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "reports_devv" in result.stderr and "packaged" in result.stderr and "reports_dev" in result.stderr
    missing = run_cli_in(tmp_path, "eval", "--dataset", "data/reports_dev.jsonl", "--index", str(tmp_path / "no-index"))
    assert missing.returncode == 1 and "no such dataset file" in missing.stderr  # a path is never swapped


def test_help_shows_every_option():
    result = run_cli("eval", "--help")
    assert result.returncode == 0
    for option in ("--weights", "--gate", "--write-gate", "--no-scope", "--no-boosts", "--dataset"):
        assert option in result.stdout, option
    from typer.main import get_command

    from reportqa.cli import app

    group = get_command(app)
    for name, command in {"": group, **group.commands}.items():
        for param in command.params:
            assert not getattr(param, "hidden", False), f"{name} {param.name} is hidden"
            assert getattr(param, "help", None), f"`reportqa {name}` {param.name} has no help text"
