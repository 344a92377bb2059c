"""Public SQuAD-format sets run open-domain (eval.public_qa, `reportqa eval --squad`) on a tiny file made here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.metrics import hit_rank, quotes_held_whole
from eval.public_qa import (
    NEUTRAL_TITLE,
    PublicQAError,
    build_open_domain,
    choose_withheld,
    document_text,
    load_squad,
    make_items,
    write_corpus,
)

from conftest import run_cli

# Four paragraphs; the second is in traditional characters (as DRCD is); the answer of q5 (淀山湖) also occurs
# in the fourth paragraph, so withholding the third must not make q5 unanswerable while the fourth is kept.
TINY = {
    "version": "tiny",
    "data": [
        {
            "title": "城市",
            "paragraphs": [
                {
                    "context": "青浦区位于上海市西部。2020年全区常住人口为127万人。区政府驻夏阳街道。",
                    "qas": [
                        {"id": "q1", "question": "青浦区2020年常住人口是多少？", "answers": [{"text": "127万人", "answer_start": 23}]},
                        {"id": "q2", "question": "青浦区政府驻在哪里？", "answers": [{"text": "夏阳街道", "answer_start": 33}]},
                    ],
                },
                {
                    "context": "臺北市是臺灣的首都，人口約為兩百六十萬。臺北101曾是世界最高的建築。",
                    "qas": [{"id": "q3", "question": "臺北101曾是什麼？", "answers": [{"text": "世界最高的建築", "answer_start": 27}]}],
                },
            ],
        },
        {
            "title": "河流",
            "paragraphs": [
                {
                    "context": "黄浦江全长113公里，是上海的母亲河。它发源于淀山湖。",
                    "qas": [
                        {"id": "q4", "question": "黄浦江全长多少公里？", "answers": [{"text": "113公里", "answer_start": 5}]},
                        {"id": "q5", "question": "黄浦江发源于哪里？", "answers": [{"text": "淀山湖", "answer_start": 23}]},
                    ],
                },
                {
                    "context": "淀山湖是上海最大的淡水湖，面积约62平方公里。",
                    "qas": [
                        {"id": "q6", "question": "淀山湖面积约多少？", "answers": [{"text": "62平方公里", "answer_start": 16}]},
                        {"id": "blank", "question": "", "answers": [{"text": "淀山湖", "answer_start": 0}]},  # CMRC has such
                    ],
                },
            ],
        },
    ],
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY, ensure_ascii=False), encoding="utf-8")
    return path


def test_every_paragraph_becomes_a_document(tiny: Path, tmp_path: Path):
    paragraphs = load_squad(tiny)
    assert [p.doc_name for p in paragraphs] == ["tiny-p0000", "tiny-p0001", "tiny-p0002", "tiny-p0003"]
    files = write_corpus(build_open_domain(paragraphs, withhold=0.0), tmp_path / "corpus")
    assert sorted(f.name for f in files) == [f"{p.doc_name}.txt" for p in paragraphs]
    for p, f in zip(paragraphs, sorted(files)):
        assert f.read_text(encoding="utf-8") == f"{p.context}\n"  # the paragraph alone (title mode `none`)
    assert document_text(paragraphs[0], "neutral") == f"{NEUTRAL_TITLE}\n{paragraphs[0].context}\n"
    assert document_text(paragraphs[0], "article").startswith("城市\n")


def test_traditional_text_is_converted_to_simplified(tiny: Path):
    p = load_squad(tiny)[1]
    assert p.context == "台北市是台湾的首都，人口约为两百六十万。台北101曾是世界最高的建筑。"
    (q,) = p.questions
    assert q.question == "台北101曾是什么？"
    assert q.answers == ("世界最高的建筑",)
    assert p.context[q.answer_start:].startswith("世界最高的建筑")


def test_withholding_is_deterministic_for_a_seed(tiny: Path):
    paragraphs = load_squad(tiny)
    first = build_open_domain(paragraphs, withhold=0.5, seed=7)
    again = build_open_domain(load_squad(tiny), withhold=0.5, seed=7)
    assert len(first.withheld) == 2
    assert first.withheld == again.withheld
    assert [(i.id, i.answers, i.evidence) for i in first.items] == [(i.id, i.answers, i.evidence) for i in again.items]
    # the seed is what chooses: some seed withholds another pair of paragraphs
    assert len({frozenset(choose_withheld(paragraphs, 0.5, s)) for s in range(10)}) > 1


def test_withheld_question_answered_elsewhere_is_dropped_not_unanswerable(tiny: Path):
    paragraphs = load_squad(tiny)
    dataset = make_items(paragraphs, {"tiny-p0002"})  # 黄浦江 withheld; 淀山湖 is still in the fourth paragraph
    by_id = {i.id: i for i in dataset.items}
    assert "q5" not in by_id
    assert by_id["q4"].answers == [] and by_id["q4"].type == "unanswerable"
    assert dataset.stats["dropped_answer_elsewhere"] == 1
    assert "blank" not in by_id and dataset.stats["skipped_questions"] == 1
    both = make_items(paragraphs, {"tiny-p0002", "tiny-p0003"})  # nothing kept holds 淀山湖 now
    assert {i.id: i.answers for i in both.items}["q5"] == []


def test_answerable_items_carry_answers_and_their_sentence_as_evidence(tiny: Path):
    dataset = make_items(load_squad(tiny), set())
    by_id = {i.id: i for i in dataset.items}
    assert by_id["q1"].answers == ["127万人"]
    assert by_id["q1"].evidence == ["2020年全区常住人口为127万人。"]
    assert by_id["q1"].type == "open"
    # hit@k reads "the answer's paragraph is retrieved": its text supports the quote, another paragraph's does not
    texts = [p.context for p in dataset.paragraphs]
    held = quotes_held_whole(by_id["q5"].evidence, texts)
    assert hit_rank([(texts[3], "text"), (texts[2], "text")], by_id["q5"].evidence, held) == 2


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), ("{not json", "not valid JSON"), ('{"rows": []}', "no top-level `data` list"),
     ('{"data": [{"paragraphs": [{"qas": []}]}]}', "no string `context`")],
)
def test_bad_files_are_clear_errors(tmp_path: Path, content: str | None, message: str):
    path = tmp_path / "set.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(PublicQAError, match=message):
        load_squad(path)


def test_cli_rejects_a_non_squad_file_without_a_traceback(tmp_path: Path):
    path = tmp_path / "rows.json"
    path.write_text('[{"question": "?"}]', encoding="utf-8")
    result = run_cli("eval", "--squad", str(path), "--out", str(tmp_path / "run"))
    assert result.returncode == 1
    assert "no top-level `data` list" in result.stderr and "Traceback" not in result.stderr
    both = run_cli("eval", "--squad", str(path), "--dataset", "reports_dev", "--out", str(tmp_path / "run"))
    assert both.returncode == 1 and "exactly one of --dataset" in both.stderr
    served = run_cli("eval", "--squad", str(path), "--url", "http://127.0.0.1:9", "--out", str(tmp_path / "run"))
    assert served.returncode == 1 and "--squad builds its own index" in served.stderr


@pytest.mark.slow
def test_cli_runs_the_set_end_to_end_and_reuses_its_index(tiny: Path, tmp_path: Path):
    env = {"REPORTQA_EMBED_MODEL": "none"}  # no model training: the tiny index builds in a second
    args = ["eval", "--squad", str(tiny), "--withhold", "0.25", "--seed", "0"]
    result = run_cli(*args, "--out", str(tmp_path / "run1"), env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run1" / "summary.json").read_text(encoding="utf-8"))
    expected = build_open_domain(load_squad(tiny), 0.25, 0).stats
    assert (summary["n_answerable"], summary["n_unanswerable"]) == (expected["answerable"], expected["unanswerable"])
    assert summary["n_unanswerable"] >= 1 and summary["abstention"] is not None
    assert summary["config"]["squad"]["withheld_paragraphs"] == 1
    indexed = sorted(p.name for p in (Path(summary["config"]["squad"]["index"]).parent / "corpus").glob("*.txt"))
    assert len(indexed) == 3
    again = run_cli(*args, "--baseline", "bm25-only", "--out", str(tmp_path / "run2"), env=env)
    assert again.returncode == 0, again.stderr
    assert "reusing the index" in again.stderr
    assert json.loads((tmp_path / "run2" / "summary.json").read_text(encoding="utf-8"))["n"] == summary["n"]
