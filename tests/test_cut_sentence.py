"""Cut-sentence questions for the abstainer's fit (eval.cut_sentence): labelling, batches, determinism, weights."""

from __future__ import annotations

import numpy as np

from eval.cut_sentence import CUT, cut_open_domain, cut_reports
from eval.dataset import EvalItem
from eval.public_qa import SquadParagraph, SquadQuestion
from eval.train_answerer import QuestionExample, _fold_of, _source_weights, choose_threshold
from qa_service.answer_features import UNIT_FEATURES


def question(qid: str, text: str, answer: str, context: str) -> SquadQuestion:
    return SquadQuestion(qid, text, (answer,), context.find(answer))


CUT_ME = "张三生于1950年。他毕业于北京大学。后来他在上海工作，住在浦东。"
OTHER = "李四是一名医生。他在广州工作。"


def paragraphs() -> list[SquadParagraph]:
    return [
        SquadParagraph("s-p0000", "张三", CUT_ME, (
            question("born", "张三生于哪一年？", "1950年", CUT_ME),
            question("school", "张三毕业于哪所大学？", "北京大学", CUT_ME),
            question("city", "张三在哪个城市工作？", "上海", CUT_ME),
        )),
        SquadParagraph("s-p0001", "李四", OTHER, (question("job", "李四的职业是什么？", "医生", OTHER),)),
        SquadParagraph("s-p0002", "王五", "王五毕业于北京大学。", (question("w", "王五毕业于哪所大学？", "北京大学", "王五毕业于北京大学。"),)),
    ]


def cut_all(seed: int = 0):
    return cut_open_domain(paragraphs(), withheld={"s-p0002"}, share=1.0, seed=seed)


def test_only_the_answer_sentence_is_cut_and_its_paragraph_stays():
    out, cut = cut_all()
    by_name = {p.doc_name: p for p in out}
    for name, original in (("s-p0000", CUT_ME), ("s-p0001", OTHER)):
        text = by_name[name].context
        assert text and text != original and len(text) < len(original)
        removed = [s for s in original.split("。") if s and s not in text]
        assert len(removed) == 1  # exactly one sentence went; its neighbours (the topic) stayed
    assert by_name["s-p0002"].context == "王五毕业于北京大学。"  # withheld: untouched, and not in the corpus
    assert set(cut.corpora[0]) == {"s-p0000", "s-p0001"}


def test_a_cut_question_is_unanswerable_only_when_no_document_holds_its_answer():
    out, cut = cut_all()
    corpus = "".join(cut.corpora[0].values())
    for q in cut.questions:
        assert q.item.answers == [] and q.item.type == "unanswerable" and q.item.id == f"{q.origin}~cut"
        original = next(sq for p in paragraphs() for sq in p.questions if sq.id == q.origin)
        assert original.question == q.item.question  # the question's wording is never changed
        assert all(a not in corpus for a in original.answers)
    stated = {sq.id for p in out if p.doc_name != "s-p0002" for sq in p.questions if sq.answers[0] in p.context}
    assert not stated & {q.origin for q in cut.questions}  # a question still answered by its paragraph stays answerable
    made = {q.origin for q in cut.questions}
    assert made and made <= {"born", "school", "city", "job"}


def test_an_answer_still_stated_by_another_document_is_dropped():
    kept_elsewhere = paragraphs()
    # 王五's paragraph kept: 北京大学 is still stated there, so cutting 张三's school sentence proves nothing
    for seed in range(12):
        _, cut = cut_open_domain(kept_elsewhere, withheld=set(), share=1.0, seed=seed)
        assert "school" not in {q.origin for q in cut.questions}
        if cut.stats["dropped_answer_elsewhere"]:
            return
    raise AssertionError("no seed chose the school sentence of 张三")


def test_the_cut_is_deterministic_for_a_seed():
    first, second = cut_all(3), cut_all(3)
    assert [p.context for p in first[0]] == [p.context for p in second[0]]
    assert first[1].questions == second[1].questions and first[1].stats == second[1].stats


REPORT = "一、财政收支\n1-7月，财政总收入12.42亿元，同比下降13.2%；税收收入10.1亿元。\n二、就业\n新增就业岗位3000个。\n"


def report_items() -> list[tuple[str, EvalItem]]:
    return [
        ("r:tune", EvalItem("fin", "财政总收入是多少？", ["12.42亿元"], ["1-7月，财政总收入12.42亿元，同比下降13.2%"], "numeric")),
        ("r:tune", EvalItem("fin2", "财政总收入下降了多少？", ["13.2%"], ["财政总收入12.42亿元，同比下降13.2%"], "numeric")),
        ("r:tune", EvalItem("tax", "税收收入是多少？", ["10.1亿元"], ["税收收入10.1亿元"], "numeric")),
        ("r:tune", EvalItem("jobs", "新增就业岗位多少个？", ["3000个"], ["新增就业岗位 3000个"], "numeric")),
        ("r:tune", EvalItem("none", "常住人口是多少？", [], [], "unanswerable")),
        ("r:tune", EvalItem("again", "税收收入多少？", ["10.1亿元", "3000个"], ["税收收入10.1亿元"], "numeric")),
    ]


def test_report_batches_cut_each_questions_own_sentences():
    cut = cut_reports({"a.txt": REPORT}, report_items(), max_cuts=5)
    by_id = {q.item.id.removesuffix("~cut"): q for q in cut.questions}
    assert "none" not in by_id  # an unanswerable item has nothing to cut
    assert cut.stats["evidence_not_found"] == 0  # the whitespace-blind match finds `新增就业岗位 3000个`
    for q in cut.questions:
        text = cut.corpora[q.batch]["a.txt"]
        original = dict((i.id, i) for _, i in report_items())[q.origin]
        assert all(g not in text for g in original.answers)
        assert "二、就业" in text  # the headings, the topic, stay
    # fin and fin2 share their sentence, so they may share a batch; tax's sentence is another one of the same line
    assert by_id["fin"].batch == by_id["fin2"].batch
    # `again` is unanswerable in no batch: 3000个 stays in any corpus that keeps the jobs sentence
    assert "again" not in by_id or cut.corpora[by_id["again"].batch]["a.txt"].find("3000个") < 0


def test_report_batches_are_deterministic_and_respect_their_size():
    a = cut_reports({"a.txt": REPORT}, report_items(), max_cuts=1)
    b = cut_reports({"a.txt": REPORT}, report_items(), max_cuts=1)
    assert a.questions == b.questions and a.corpora == b.corpora
    assert len(a.corpora) >= 3  # one distinct cut per batch


def example(source: str, item_id: str, unanswerable: bool, group: str = "") -> QuestionExample:
    x = np.zeros((1, len(UNIT_FEATURES)))
    return QuestionExample(source, item_id, unanswerable, None, np.zeros(1), x, np.zeros(0), group)


def test_a_cut_source_shares_its_origins_folds_weighs_its_share_and_sets_no_threshold():
    base = [example("s", f"q{i}", i % 3 == 0) for i in range(10)]
    cut = [example("s" + CUT, f"q{i}~cut", i != 4, group=f"q{i}") for i in (1, 2, 4)]
    n_folds, fold_of = _fold_of(base + cut)
    assert n_folds == 5 and list(fold_of[10:]) == [fold_of[1], fold_of[2], fold_of[4]]
    w = _source_weights(base + cut, cut_weight=0.25)
    assert np.isclose(w["s" + CUT] * 3, 0.25 * w["s"] * 10)
    p = np.concatenate([np.linspace(0, 0.9, 10), [0.99, 0.99, 0.995]])  # an answerable cut example scores highest
    assert choose_threshold(base + cut, p, 0.0) == choose_threshold(base, p[:10], 0.0)


def test_a_clause_cut_keeps_the_rest_of_the_sentence():
    items = [("r:tune", EvalItem("fin2", "财政总收入下降了多少？", ["13.2%"], ["财政总收入12.42亿元，同比下降13.2%"], "numeric"))]
    (q,) = cut_reports({"a.txt": REPORT}, items, unit="clause").questions
    text = cut_reports({"a.txt": REPORT}, items, unit="clause").corpora[q.batch]["a.txt"]
    assert "13.2%" not in text and "财政总收入12.42亿元" in text and "税收收入10.1亿元" in text
    (s,) = cut_reports({"a.txt": REPORT}, items).questions  # the sentence cut takes the indicator's figure too
    assert "12.42亿元" not in cut_reports({"a.txt": REPORT}, items).corpora[s.batch]["a.txt"]
