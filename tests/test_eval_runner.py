"""The evaluation runner, report and compare on a tiny fake system (no index), and the baselines' pure parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.baselines import chatchat_chunks, make_chunks, recursive_split, rrf_ranker, spans_of
from eval.compare import compare_rows, flatten, format_cell, load_run, plot_compare
from eval.dataset import EvalItem
from eval.report import worst_items, write_report
from eval.runner import evaluate, evaluate_retrieval, result_row, write_run
from eval.systems import ChunkRankingSystem, CitedPassage, RankerRetriever, Ranked, SystemAnswer
from qa_service.config import Settings
from qa_service.pipeline import build_pipeline

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

P_REVENUE = Ranked("p1", "1-7月，财政总收入12.42 亿元，同比下降13.2%。", "text", 1.0)
P_JOBS = Ranked("p2", "新增就业岗位8452个。", "text", 0.9)
P_OTHER = Ranked("p3", "与问题无关的段落。", "text", 0.5)


def item(id_: str, answers, evidence, type_="numeric") -> EvalItem:
    return EvalItem(id=id_, question=f"问题{id_}？", answers=answers, evidence=evidence, type=type_, extra={"note": id_})


ITEMS = [
    item("a", ["12.42亿元"], ["财政总收入12.42亿元"]),  # hit at 1, right answer with a right citation
    item("b", ["8452个"], ["新增就业岗位8452个"], "table"),  # hit at 2, wrong answer
    item("c", ["99"], ["找不到的证据"]),  # retrieval miss; abstains (a false abstention)
    item("d", [], [], "unanswerable"),  # correctly abstains
    item("e", [], [], "unanswerable"),  # answers anyway
    item("f", None, ["新增就业岗位8452个"], "table"),  # unlabelled: retrieval only
]


class FakeSystem:
    """Fixed rankings and answers per question; no index."""

    name = "fake"

    def __init__(self) -> None:
        self.histories: dict[str, list] = {}
        self.ranking = {
            "问题a？": [P_REVENUE, P_OTHER],
            "问题b？": [P_OTHER, P_JOBS],
            "问题c？": [P_OTHER],
            "问题d？": [P_OTHER],
            "问题e？": [P_OTHER, P_REVENUE],
            "问题f？": [P_JOBS],
        }
        self.answers = {
            "问题a？": ("1-7月，财政总收入12.42亿元[1]。", False, [CitedPassage(1, "p1", P_REVENUE.text, "财政总收入12.42 亿元")]),
            "问题b？": ("新增就业岗位9999个[1]。", False, [CitedPassage(1, "p3", P_OTHER.text, "与问题无关")]),
            "问题c？": ("资料中未找到相关信息。", True, []),
            "问题d？": ("资料中未找到相关信息。", True, []),
            "问题e？": ("财政总收入12.42亿元[1]。", False, [CitedPassage(1, "p1", P_REVENUE.text, "财政总收入12.42 亿元")]),
            "问题f？": ("新增就业岗位8452个[1]。", False, [CitedPassage(1, "p2", P_JOBS.text, "新增就业岗位8452个")]),
        }

    def rank(self, question: str, depth: int) -> list[Ranked]:
        return self.ranking[question][:depth]

    def all_texts(self) -> list[str]:
        return [P_REVENUE.text, P_JOBS.text, P_OTHER.text]

    def answer(self, question: str, top_k: int, mode: str, history=()) -> SystemAnswer:
        self.histories[question] = list(history)
        text, abstained, cites = self.answers[question]
        return SystemAnswer(text, abstained, cites, self.rank(question, 10), retrieve_ms=1.0)

    def context_k(self, top_k: int) -> int:
        return top_k

    def describe(self) -> dict:
        return {"system": self.name}


@pytest.fixture(scope="module")
def run():
    return evaluate(ITEMS, FakeSystem(), top_k=5)


def test_summary_hand_computed(run):
    summary, results = run
    assert summary["n"] == 6
    assert summary["n_answerable"] == 4  # a, b, c, f (f: unlabelled but has evidence)
    assert summary["n_unanswerable"] == 2
    r = summary["retrieval"]
    assert r["hit@1"] == 0.5  # a and f at rank 1; b at 2; c missed
    assert r["hit@3"] == 0.75
    assert r["mrr@10"] == pytest.approx((1 + 0.5 + 0 + 1) / 4, abs=1e-4)
    a = summary["answer"]  # over a, b, c: only a contains the gold
    assert a["contains_gold"] == pytest.approx(1 / 3, abs=1e-4)
    assert a["exact"] == 0.0
    c = summary["citation"]  # over answered gold items a, b: a is (1, 1), b is (0, 0)
    assert (c["recall"], c["precision"], c["n"]) == (0.5, 0.5, 2)
    ab = summary["abstention"]  # labelled a..e: tp=d, fp=c, fn=e, tn=a,b
    assert ab == {"precision": 0.5, "recall": 0.5, "false_abstain_rate": pytest.approx(1 / 3, abs=1e-4),
                  "roc_auc": None}  # the stand-in system gives no abstain probability
    assert set(summary["latency_ms"]) == {"p50", "p95", "retrieve_p50", "retrieve_p95"}
    assert summary["latency_ms"]["retrieve_p50"] == 1.0
    assert set(summary["by_type"]) == {"numeric", "table", "unanswerable"}
    assert summary["by_type"]["unanswerable"]["retrieval"] is None
    assert summary["by_type"]["unanswerable"]["abstention"]["recall"] == 0.5
    assert summary["by_type"]["table"]["retrieval"]["hit@1"] == 0.5


def test_answer_chars_p50_is_over_given_answers_without_markers(run):
    summary, _ = run
    # gold items a, b, c: c abstained; a "1-7月，财政总收入12.42亿元。" (18) and b "新增就业岗位9999个。" (12)
    assert summary["answer"]["answer_chars_p50"] == 15.0
    assert "by_style" not in summary  # no item has a style


def test_history_is_passed_and_styles_are_broken_down():
    history = ({"role": "user", "content": "财政总收入是多少？"}, {"role": "assistant", "content": "12.42亿元。"})
    items = [
        EvalItem(id="a", question="问题a？", answers=["12.42亿元"], evidence=["财政总收入12.42亿元"], type="numeric", style="year"),
        EvalItem(id="b", question="问题b？", answers=["8452个"], evidence=["新增就业岗位8452个"], type="numeric",
                 style="follow_up", history=history),
        EvalItem(id="d", question="问题d？", answers=[], evidence=[], type="unanswerable", style="near_miss"),
    ]
    system = FakeSystem()
    summary, results = evaluate(items, system, top_k=5)
    assert system.histories == {"问题a？": [], "问题b？": list(history), "问题d？": []}
    assert set(summary["by_style"]) == {"year", "follow_up", "near_miss"}
    assert summary["by_style"]["year"]["answer"]["contains_gold"] == 1.0
    assert summary["by_style"]["follow_up"]["answer"]["contains_gold"] == 0.0
    assert summary["by_style"]["near_miss"]["abstention"]["recall"] == 1.0
    rows = {r.item.id: result_row(r) for r in results}
    assert rows["b"]["history"] == list(history) and rows["b"]["style"] == "follow_up" and "history" not in rows["a"]


def test_report_has_a_by_style_table(tmp_path: Path):
    items = [EvalItem(id="a", question="问题a？", answers=["12.42亿元"], evidence=["财政总收入12.42亿元"], type="numeric", style="year")]
    summary, results = evaluate(items, FakeSystem(), top_k=5)
    text = write_report(tmp_path, summary, results).read_text(encoding="utf-8")
    assert "## By style" in text and "| year | 1 | 1 |" in text
    year_row = next(line for line in text.splitlines() if line.startswith("| year |"))
    assert year_row.endswith("| – |")  # abstention recall: the style has no unanswerable item, so not measured


def test_per_item_results(run):
    _, results = run
    by_id = {r.item.id: r for r in results}
    assert by_id["a"].hit_rank == 1 and by_id["b"].hit_rank == 2 and by_id["c"].hit_rank is None
    assert by_id["a"].extra_metrics["contains_gold"] == 1.0
    assert by_id["c"].extra_metrics["citation_recall"] is None  # abstained: no citation metrics
    assert "contains_gold" not in by_id["d"].extra_metrics  # unanswerable: no answer metrics
    assert "contains_gold" not in by_id["f"].extra_metrics  # unlabelled: retrieval only
    assert by_id["a"].context_chars == len(P_REVENUE.text) + len(P_OTHER.text)


def test_retrieval_only_omits_answer_groups():
    summary, results = evaluate_retrieval(ITEMS, FakeSystem(), top_k=5)
    assert summary["answer"] is None and summary["citation"] is None and summary["abstention"] is None
    assert summary["retrieval"]["hit@1"] == 0.5
    assert all(r.answer is None for r in results)


def test_run_folder_files(run, tmp_path: Path):
    summary, results = run
    summary = {**summary, "config": {"system": "fake", "mode": "extractive", "top_k": 5}}
    write_run(tmp_path, summary, results)
    write_report(tmp_path, summary, results)
    saved = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    for key in ("n", "n_answerable", "retrieval", "answer", "citation", "abstention", "latency_ms", "by_type", "config"):
        assert key in saved
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6
    assert set(rows[0]) >= {"id", "question", "type", "answers", "answer", "abstained", "citations", "retrieved_ids", "metrics", "extra"}
    assert rows[0]["extra"] == {"note": "a"}
    assert rows[0]["citations"][0]["passage_id"] == "p1"
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| retrieval | hit@1 | 0.5 |" in report
    assert "## Worst" in report and "与问题无关的段落" in report  # worst items show their retrieved passages
    for png in ("hit_at_k.png", "by_type.png", "latency.png"):
        assert (tmp_path / png).read_bytes()[:8] == PNG_MAGIC


def test_worst_items_order(run):
    _, results = run
    worst = [r.item.id for r in worst_items(results, 3)]
    assert worst[0] in {"b", "c"}  # wrong answers first
    assert "a" not in worst


def test_compare(run, tmp_path: Path):
    summary, results = run
    other = json.loads(json.dumps(summary))
    other["retrieval"]["hit@1"] = 0.75
    for name, s in (("r1", summary), ("r2", other)):
        write_run(tmp_path / name, {**s, "config": {"system": name}}, results)
    runs = [load_run(tmp_path / "r1"), load_run(tmp_path / "r2")]
    rows = {name: (values, deltas) for name, values, deltas in compare_rows([r.summary for r in runs])}
    assert rows["retrieval.hit@1"] == ([0.5, 0.75], [0.0, 0.25])
    assert "answer.contains_gold" in rows and "latency_ms.p95" in rows
    assert format_cell(0.75, 0.25, first=False) == "0.75 (+0.25)"
    assert format_cell(None, None, first=False) == "–"
    assert plot_compare(runs, tmp_path / "cmp.png").read_bytes()[:8] == PNG_MAGIC
    assert "retrieval.hit@1" in flatten(summary) and not any(k.startswith("by_type") for k in flatten(summary))


# -- baselines: pure parts and plumbing over a fake index -----------------------------------------------------


def test_recursive_split_sizes_overlap_and_separators():
    text = "".join(f"第{i}句话说了一些事情。" for i in range(200))  # ~10 chars a sentence, no newlines
    parts = recursive_split(text, size=100, overlap=30)
    assert all(len(p) <= 100 for p in parts)
    assert all(p.endswith("。") for p in parts)  # split at the sentence end, the mark kept with its sentence
    assert parts[1].split("。")[0] + "。" in parts[0]  # the next chunk starts by repeating the previous one's tail
    assert "".join(parts).count("第199句") >= 1
    spans = spans_of(text, parts)
    assert all(text[s:e] == p for (s, e), p in zip(spans, parts))
    assert recursive_split("短文本", 100, 10) == ["短文本"]
    assert recursive_split("x" * 250, 100, 0) == ["x" * 100, "x" * 100, "x" * 50]  # no separator left: hard cut


def test_make_chunks_ids_and_links():
    chunks = make_chunks("cc", [("d1", "T1", "a", 0, 1), ("d1", "T1", "b", 1, 2), ("d2", "T2", "c", 0, 1)])
    assert [c.id for c in chunks] == ["cc-000001", "cc-000002", "cc-000003"]
    assert chunks[0].next_id == "cc-000002" and chunks[1].next_id is None  # no link across documents
    assert chunks[2].heading_path == ["T2"]


def test_rrf_ranker_fuses_arms():
    ranker = rrf_ranker({"word": lambda q, k: [2, 0], "dense": lambda q, k: [0, 1]}, {"word": 0.5, "dense": 0.5})
    rows, scores = ranker("q", 3)
    assert rows[0] == 0  # in both lists
    assert set(rows) == {0, 1, 2} and scores == sorted(scores, reverse=True)


def test_chunk_ranking_system_answers_with_extractive():
    docs = [("d1", "镇政府报告", "1-7月，财政总收入12.42亿元，同比下降13.2%。\n\n新增就业岗位8452个。")]
    chunks = chatchat_chunks(docs)
    assert chunks and chunks[0].id == "cc-000001"
    tokenize = lambda s: [s[i:i + 2] for i in range(len(s) - 1)]  # noqa: E731 - bigrams stand in for jieba

    def ranker(question: str, depth: int):
        scores = np.array([len(set(tokenize(question)) & set(tokenize(c.text))) for c in chunks], dtype=float)
        order = [int(i) for i in np.argsort(-scores)[:depth]]
        return order, [float(scores[i]) for i in order]

    base = build_pipeline(Settings(), retriever=RankerRetriever(chunks, ranker), tokenize=tokenize)
    system = ChunkRankingSystem("toy", chunks, ranker, base, fixed_k=3)
    ans = system.answer("1-7月财政总收入是多少？", top_k=5, mode="extractive")
    assert ans.retrieved[0].passage_id == "cc-000001"
    assert system.context_k(5) == 3
    assert not ans.abstained and "12.42" in ans.answer
    assert ans.citations and ans.citations[0].passage_id == "cc-000001"


def test_dataset_reads_style_and_history(tmp_path: Path):
    from eval.dataset import DatasetError, load_dataset

    v2 = load_dataset("reports_dev_v2")
    assert len(v2) == 171 and all(i.style for i in v2)
    follow_ups = [i for i in v2 if i.history]
    assert len(follow_ups) == 12 and all(i.history[0]["role"] == "user" for i in follow_ups)
    assert all("history" not in i.extra and "style" not in i.extra for i in v2)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "那呢？", "answers": [], "history": [{"role": "bot", "content": "x"}]}) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.jsonl:1: `history` turn 1"):
        load_dataset(bad)
