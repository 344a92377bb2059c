"""The learned answerer: candidates, generic features, the model file, and `reportqa train-answerer` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.models import Chunk
from ingest.tokenize import Tokenizer
from ingest.zh.answer_types import question_type
from qa_service.answer_features import UNIT_FEATURES, Evidence, Featurized, best_sentence_pick, features, question_view, shared_bigrams
from qa_service.answer_model import Abstainer, AnswerModelError, Logistic, Trees, load_answer_model, parse_model, read_model_json
from qa_service.answerability import QUESTION_FEATURES, abstain_reason, question_features
from qa_service.candidates import clause_windows, names_its_heading, roll_of, units
from qa_service.claims import display_quote
from qa_service.question import analyze

from conftest import run_cli
from test_public_qa import TINY

TOWN = "政府上半年工作情况报告"
SENTENCE = "1-7月，财政总收入12.42亿元，同比下降13.2%，全镇新增就业岗位3000个。"


def chunk(text: str, kind: str = "text", start: int = 100, title: str = TOWN, path: list[str] | None = None) -> Chunk:
    return Chunk(id=f"c{abs(hash((text, kind, start)))}", doc_id="town", doc_title=title,
                 heading_path=path if path is not None else [title, "一、财政"], kind=kind, text=text, start=start, end=start + len(text))


@pytest.fixture(scope="module")
def tokenize():
    return Tokenizer().tokenize


def test_clause_windows_keep_scope_and_continuation():
    (unit,) = units([chunk(SENTENCE)])
    windows = {w.text.rstrip("，。") for w in clause_windows(unit)}
    # a window on the revenue clause keeps its scope in front and the change after it
    assert "1-7月，财政总收入12.42亿元，同比下降13.2%" in windows
    assert "财政总收入12.42亿元" not in windows


def test_no_title_line_is_a_candidate():
    opening = chunk(f"{TOWN}\n今年以来，全镇财政总收入12.42亿元。", start=0, path=[TOWN])
    texts = [u.text.strip() for u in units([opening])]
    assert TOWN not in texts and any("12.42" in t for t in texts)
    plain = chunk("资料段落\n黄浦江全长113公里。", start=0, title="p0001", path=["p0001"])
    assert [u.text.strip() for u in units([plain])] == ["黄浦江全长113公里。"]


def test_table_rows_definitions_and_enumerations_are_whole_units():
    listing = chunk("主要措施如下：\n1.稳就业；\n2.保民生；\n3.促发展。")
    kinds = {u.kind for u in units([listing, chunk("“六保”：保居民就业、保基本民生。", kind="definition")])}
    assert {"list", "definition", "sentence"} <= kinds


ROLL = "二、全程出席: 3人\n\n丁峰雷\t尤佳秋\t印国荣\n\n三、因事因病请假：2 人\n\n沈伯明 陈 达\n\n(会期两天, 2020年7月16日)"


def test_a_counted_label_and_the_names_after_it_are_one_roll_unit():
    cands = units([chunk(ROLL)])
    rolls = [c.text for c in cands if c.kind == "list"]
    assert rolls == ["二、全程出席: 3人\n\n丁峰雷\t尤佳秋\t印国荣", "三、因事因病请假：2 人\n\n沈伯明 陈 达"]
    # the label stays a sentence of its own (it answers how many); the roll it heads is found from it
    label = next(c for c in cands if c.kind == "sentence" and c.text.strip() == "三、因事因病请假：2 人")
    assert roll_of(label, cands).text.endswith("沈伯明 陈 达")
    note = next(c for c in cands if c.kind == "sentence" and c.text.startswith("(会期"))
    assert roll_of(note, cands) is None


def test_a_who_question_tags_the_candidates_covering_it_most_not_the_first_ones(tokenize):
    col = {n: i for i, n in enumerate(UNIT_FEATURES)}
    filler = chunk("".join(f"第{i}项工作稳步推进。" for i in range(1, 15)))
    cands = units([filler, chunk(ROLL, start=900)])
    assert len(cands) > 14
    ev = Evidence([1.0, 0.9], {}, {}, {})
    x = features(question_view(analyze("因事因病请假的是谁？", tokenize)), cands, ev)
    roll = next(i for i, c in enumerate(cands) if c.kind == "list" and "沈伯明" in c.text)
    assert x[roll, col["type_match"]] == 1.0 and x[roll, col["type_missing"]] == 0.0


def test_a_sign_off_is_the_signer_and_the_date_under_it():
    letter = "区人大常委会：\n\n因工作需要，本人现提请辞去代表职务。\n\n王金荣\n\n2020年6月29日"
    texts = [u.text for u in units([chunk(letter)])]
    assert "王金荣\n\n2020年6月29日" in texts and "2020年6月29日" in texts
    # a line of prose above a date is no signer
    assert not any(t.startswith("因工作") and t.endswith("日") for t in texts)


def test_shown_quotes_join_wrapped_lines_and_keep_a_roll_apart():
    assert display_quote("财政总收入12.42亿元，\n  同比下降13.2%。") == "财政总收入12.42亿元，同比下降13.2%。"
    assert display_quote("三、因事因病请假：2 人\n\n沈伯明 陈 达") == "三、因事因病请假：2 人 沈伯明 陈 达"
    assert display_quote("丁峰雷\t尤佳秋\n印国荣\t\t") == "丁峰雷 尤佳秋 印国荣"
    assert display_quote("**“四早”**：早发现、早报告。") == "“四早”：早发现、早报告。"
    assert display_quote("王金荣\n\n2020年6月29日") == "王金荣 2020年6月29日"


def test_year_and_period_clash_only_when_the_candidate_names_others(tokenize):
    col = {n: i for i, n in enumerate(UNIT_FEATURES)}
    ev = Evidence([1.0] * 4, {"town": ""}, {"town": 1.0}, {})
    plain = {"title": "青浦区报告", "path": ["青浦区报告"]}
    cands = units([
        chunk("2017-2019 年全区完成合同外资 8.1 亿美元、9 亿美元、14 亿美元。", start=0, **plain),
        chunk("2019年，区本级“三公”经费财政拨款支出合计4752万元。", start=200, **plain),
        chunk("上半年，全区完成合同外资 5 亿美元。", start=400, **plain),
        chunk("全区完成合同外资 5 亿美元。", start=600, title="关于青浦区2020年上半年计划执行情况的报告", path=[]),
    ])
    x = features(question_view(analyze("2016年青浦全区完成合同外资多少亿美元？", tokenize)), cands, ev)
    # 2016 is outside 2017-2019 and is not 2019; a sentence naming no year says nothing, so its title speaks
    assert list(x[:, col["year_clash"]]) == [1.0, 1.0, 0.0, 1.0]
    x = features(question_view(analyze("2018年青浦全区完成合同外资多少亿美元？", tokenize)), cands, ev)
    assert list(x[:, col["year_clash"]]) == [0.0, 1.0, 0.0, 1.0]
    # 全年 against 上半年 clashes; 1-6月 is 上半年 written another way; no period asked, no clash
    x = features(question_view(analyze("青浦全年完成合同外资多少亿美元？", tokenize)), cands, ev)
    assert list(x[:, col["period_clash"]]) == [0.0, 0.0, 1.0, 1.0]
    x = features(question_view(analyze("青浦1-6月完成合同外资多少亿美元？", tokenize)), cands, ev)
    assert list(x[:, col["period_clash"]]) == [0.0, 0.0, 0.0, 0.0]
    x = features(question_view(analyze("青浦完成合同外资多少亿美元？", tokenize)), cands, ev)
    assert not x[:, [col["year_clash"], col["period_clash"]]].any()
def test_a_definition_of_the_term_asked_is_marked(tokenize):
    col = {n: i for i, n in enumerate(UNIT_FEATURES)}
    cands = units([
        chunk("加强生活垃圾分类管理，178个小区建立“三定”巡检制度。", start=0),
        chunk("三定：定人、定时、定岗。", kind="definition", start=200),
        chunk("**“四个优先”**：优先保障医疗机构、基层社区联防联控。", kind="definition", start=400),
        chunk("“三会”制度：即听证会、协调会和评议会。", kind="definition", start=600),
    ])
    ev = Evidence([1.0] * 4, {"town": ""}, {"town": 1.0}, {})
    x = features(question_view(analyze("垃圾分类“三定”巡检制度里的“三定”指什么？", tokenize)), cands, ev)
    assert list(x[:, col["defines_asked"]]) == [0.0, 1.0, 0.0, 0.0]
    # bold marks and quotes around a term do not hide it; nor do the question's own quotes
    x = features(question_view(analyze("四个优先指什么？", tokenize)), cands, ev)
    assert list(x[:, col["defines_asked"]]) == [0.0, 0.0, 1.0, 0.0]


def test_a_line_wrapped_inside_brackets_is_one_unit():
    text = "决议\n（2020 年 7 月 16 日青浦区第五届人民代表大会常务委员会\n第三十六次会议通过）\n\n会议听取了报告（草案）。"
    texts = [u.text.strip() for u in units([chunk(text, start=0, title="决议", path=["决议"])])]
    assert "（2020 年 7 月 16 日青浦区第五届人民代表大会常务委员会\n第三十六次会议通过）" in texts
    assert "会议听取了报告（草案）。" in texts


def test_a_sentence_wrapped_mid_clause_is_one_unit_and_a_heading_is_not_joined():
    text = ("任命钱燕为副院长。\n\n任命杨晶晶为执行裁判庭庭长，免去其上海市青浦区\n人民法院执行裁判庭副庭长的职务。\n\n"
            "二、加强队伍建设\n全面推进法院队伍革命化、正规化建设。\n"
            "一是完善机制，推进改革\n二是强化监督。")
    texts = [u.text.strip() for u in units([chunk(text, start=0)]) if u.kind == "sentence"]
    assert "任命杨晶晶为执行裁判庭庭长，免去其上海市青浦区\n人民法院执行裁判庭副庭长的职务。" in texts
    assert "全面推进法院队伍革命化、正规化建设。" in texts  # a heading (no clause mark) stays apart
    assert "二是强化监督。" in texts  # an item under a line with a clause mark starts a unit of its own
    assert not any(t.startswith("二、") and "\n" in t for t in texts)


def test_question_types_from_question_words():
    assert question_type("川沙新镇1-7月财政总收入是多少？") == "number"
    assert question_type("任命谁为区法院副院长？") == "person"
    assert question_type("该决定是哪天通过的？") == "date"
    assert question_type("黄浦江发源于哪里？") == "place"
    assert question_type("六稳包括哪几项？") == "list"
    assert question_type("某事故死亡人数") == "number"  # a keyword question without a question word


def test_features_reward_type_and_figures_and_respect_the_reports_period(tokenize):
    q = analyze("川沙新镇2020年1-7月财政总收入是多少？", tokenize)
    qv = question_view(q)
    cands = units([chunk(SENTENCE), chunk("全镇坚持稳中求进工作总基调。")])
    ev = Evidence([1.0, 0.5], {"town": "政府上半年工作情况报告──2020年8月18日在川沙新镇"}, {"town": 1.0}, {})
    x = features(qv, cands, ev)
    col = {n: i for i, n in enumerate(UNIT_FEATURES)}
    assert x.shape == (2, len(UNIT_FEATURES))
    assert x[0, col["type_match"]] == 1.0 and x[1, col["type_missing"]] == 1.0
    assert x[0, col["cov_unit"]] > x[1, col["cov_unit"]] and x[0, col["proximity"]] > 0
    # 2020 is not in the sentence but restates the report's own period: it agrees, as a figure and a time scope
    assert x[0, col["figures"]] == 1.0 and x[0, col["time_agree"]] == 1.0
    other = Evidence([1.0, 0.5], {"town": "政府工作报告──2019年"}, {"town": 1.0}, {})
    assert features(qv, cands, other)[0, col["figures"]] < 1.0


def test_packaged_model_loads_scores_and_names_a_reason():
    model = load_answer_model(None)
    assert 0.0 < model.threshold <= 1.0
    x = np.zeros((3, len(UNIT_FEATURES)))
    assert model.ranker.logit(x).shape == (3,)
    qx = np.zeros(len(QUESTION_FEATURES))
    p = float(model.abstainer.probability(qx)[0])
    assert 0.0 <= p <= 1.0 and isinstance(abstain_reason(model.abstainer, qx), str)


def test_a_model_over_other_features_is_refused():
    data = read_model_json(None)
    data["ranker"]["features"] = data["ranker"]["features"][:-1]
    with pytest.raises(AnswerModelError):
        parse_model(data, UNIT_FEATURES, QUESTION_FEATURES)


def test_question_features_follow_the_best_unit(tokenize):
    qv = question_view(analyze("黄浦江全长多少公里？", tokenize))
    cands = units([chunk("淀山湖是上海最大的淡水湖。"), chunk("黄浦江全长113公里，是上海的母亲河。")])
    x = np.zeros((2, len(UNIT_FEATURES)))
    x[1, UNIT_FEATURES.index("cov_unit")] = 0.8
    f = Featurized(qv, cands, x, Evidence([1.0], {}, {}, {}), [1.0, 0.4], {"word": 1, "char": 1}, (0.0, 0.0, 0.0, 1.0))
    named = dict(zip(QUESTION_FEATURES, question_features(f, np.array([0.0, 2.0]), 1)))
    assert named["cov_best"] == 0.8 and named["best_margin"] == 2.0 and named["arm_agree"] == 1.0
    assert named["rarest_in_best"] == 1.0 and named["common_run_best"] > 0.3 and named["gate_coverage"] == 1.0


def test_train_answerer_end_to_end_on_a_tiny_set(tmp_path: Path):
    squad = tmp_path / "tiny.json"
    squad.write_text(json.dumps(TINY, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "model.json"
    env = {"REPORTQA_EMBED_MODEL": "none"}
    result = run_cli("train-answerer", "--out", str(out), "--squad", str(squad), "--withhold", "0.25", "--no-reports",
                     "--cache", str(tmp_path / "cache"), "--near-miss", "--cut-sentences", "--examples", str(tmp_path / "ex.pkl"), env=env)
    assert result.returncode == 0, result.stderr
    # the same examples refitted with the blend of the listwise and pointwise rankers (eval.listwise)
    blend = tmp_path / "blend.json"
    refit = run_cli("train-answerer", "--out", str(blend), "--squad", str(squad), "--no-reports", "--near-miss",
                    "--examples", str(tmp_path / "ex.pkl"), "--ranker", "blend", env=env)
    assert refit.returncode == 0, refit.stderr
    blended = parse_model(json.loads(blend.read_text(encoding="utf-8")), UNIT_FEATURES, QUESTION_FEATURES)
    assert "blend" in blended.fit["ranker"] and "ranker" not in json.loads(out.read_text(encoding="utf-8"))["fit"]
    # the same examples with their candidate features computed again by unchanged code: the same model
    again = tmp_path / "again.json"
    refeat = run_cli("train-answerer", "--out", str(again), "--squad", str(squad), "--no-reports", "--near-miss",
                     "--cut-sentences", "--examples", str(tmp_path / "ex.pkl"), "--refeaturize", env=env)
    assert refeat.returncode == 0, refeat.stderr
    first, second = (json.loads(p.read_text(encoding="utf-8")) for p in (out, again))
    assert second["fit"].pop("command")["refeaturized"] is True
    first["fit"].pop("command")
    assert first == second
    model = parse_model(json.loads(out.read_text(encoding="utf-8")), UNIT_FEATURES, QUESTION_FEATURES)
    assert model.fit["out_of_fold"]["tiny"]["questions"] >= 4
    assert model.second is not None and "runner_up" in model.fit  # the runner-up's model and its out-of-fold figures
    # `青浦区2020年常住人口是多少？` gives a near miss of another year, fitted as its own source
    assert model.fit["out_of_fold"]["tiny:near-miss"]["unanswerable"] >= 1 and model.fit["command"]["near_miss"]
    # cutting `区政府驻夏阳街道。` out of its paragraph makes `青浦区政府驻在哪里？` unanswerable, over its own index
    assert model.fit["out_of_fold"]["tiny:cut"]["unanswerable"] >= 1 and model.fit["command"]["cut_sentences"]
    # the eval of the same set with that model writes the abstention fields into results.jsonl
    run = run_cli("eval", "--squad", str(squad), "--withhold", "0.25", "--out", str(tmp_path / "run"),
                  env={**env, "REPORTQA_ANSWER_MODEL": str(out)})
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows and all("abstain_probability" in r and "abstain_reason" in r for r in rows)
    assert all(0.0 <= r["abstain_probability"] <= 1.0 for r in rows)
    assert all((r["abstain_reason"] is None) != r["abstained"] for r in rows)


def test_arm_ranks_are_features_and_the_yardstick_pick_is_found(tokenize):
    qv = question_view(analyze("黄浦江全长多少公里？", tokenize))
    cands = units([chunk("淀山湖是上海最大的淡水湖。"), chunk("黄浦江全长113公里，是上海的母亲河。", start=300)])
    # the first passage is first in the fused order, the second first for word BM25
    ev = Evidence([1.0, 0.9], {}, {}, {}, [{"word": 4, "char": 1, "dense": None}, {"word": 1, "char": 2, "dense": 1}])
    x = features(qv, cands, ev)
    col = {n: i for i, n in enumerate(UNIT_FEATURES)}
    assert x[1, col["word_inv"]] == 1.0 and x[0, col["word_inv"]] == 0.25 and x[0, col["dense_inv"]] == 0.0
    shared = shared_bigrams(qv, cands)
    assert shared[1] > shared[0]
    assert best_sentence_pick(cands, x, shared) == 1
    # only sentences of the word arm's top 3 passages are the yardstick's to pick
    far = features(qv, cands, Evidence([1.0, 0.9], {}, {}, {}, [{"word": 4}, {"word": 5}]))
    assert best_sentence_pick(cands, far, shared) is None


def test_boosted_trees_exported_to_json_score_as_sklearn_does():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from eval.train_answerer import TREE_PARAMS, export_trees

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    y = ((x[:, 0] > 0.3) ^ (x[:, 2] * x[:, 1] > 0.5)).astype(int)
    fitted = HistGradientBoostingClassifier(**TREE_PARAMS).fit(x, y)
    trees = Trees.from_dict(json.loads(json.dumps(export_trees(fitted).to_dict())), n_features=4)
    p = Abstainer(Logistic(("a", "b", "c", "d"), np.zeros(4), np.ones(4), np.zeros(4), 0.0), trees).probability(x)
    assert np.allclose(p, fitted.predict_proba(x)[:, 1], atol=1e-6)
    with pytest.raises(AnswerModelError):
        Trees.from_dict(export_trees(fitted).to_dict(), n_features=2)


def test_an_added_term_learns_a_rare_clash_the_trees_cannot_isolate():
    """20 of 600 questions clash (a leaf needs 30): the trees cannot split them off, an added term can."""
    from eval.train_answerer import STACKED_FEATURES, TREE_PARAMS, export_trees, fit_stack
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    n = 600
    x = np.zeros((n, len(QUESTION_FEATURES)))
    x[:, 0] = rng.normal(size=n)
    clash = QUESTION_FEATURES.index(STACKED_FEATURES[0])
    x[:20, clash] = 1.0
    y = ((x[:, 0] > 1.0) | (x[:, clash] > 0)).astype(float)
    w = np.ones(n)
    fitted = HistGradientBoostingClassifier(**TREE_PARAMS).fit(x, y)
    trees = export_trees(fitted)
    stack = fit_stack(trees.logit(x), x, y, w)
    linear = Logistic(QUESTION_FEATURES, np.zeros(len(QUESTION_FEATURES)), np.ones(len(QUESTION_FEATURES)),
                      np.zeros(len(QUESTION_FEATURES)), 0.0)
    plain, stacked = Abstainer(linear, trees), Abstainer(linear, trees, stack)
    calm = np.flatnonzero((x[:, 0] < 0) & (x[:, clash] == 0))
    assert stacked.probability(x[:20]).mean() > 0.5 > plain.probability(x[:20]).mean()
    rest = np.arange(20, n)
    assert np.allclose(stacked.probability(x[rest]), plain.probability(x[rest]))  # the others as the trees give them
    assert plain.probability(x[calm]).mean() < 0.2
    # the stage travels through the model file, and a stage without trees is refused
    data = read_model_json(None)
    data["abstainer"]["trees"] = trees.to_dict()
    data["abstainer"]["stack"] = stack.to_dict()
    model = parse_model(json.loads(json.dumps(data)), UNIT_FEATURES, QUESTION_FEATURES)
    assert np.allclose(model.abstainer.probability(x), stacked.probability(x), atol=1e-5)
    del data["abstainer"]["trees"]
    with pytest.raises(AnswerModelError):
        parse_model(data, UNIT_FEATURES, QUESTION_FEATURES)


def test_the_threshold_is_the_rules_bootstrap_mean_and_moves_little_with_one_question():
    from eval.train_answerer import QuestionExample, _lowest_threshold, choose_threshold

    def examples(n: int) -> list[QuestionExample]:
        return [QuestionExample("s", f"q{i}", False, None, np.zeros(1), np.zeros((1, 1)), np.zeros(0)) for i in range(n)]

    # a sparse top tail, as on a tune split: 14 answerable questions high, the rest low
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(0.0, 0.2, 116), np.linspace(0.4, 0.6, 14)])
    mean = choose_threshold(examples(130), p, 0.10)
    assert mean == choose_threshold(examples(130), p, 0.10)  # seeded: the same fit, the same threshold
    rule = _lowest_threshold([p], 0.10)
    assert rule == pytest.approx(0.4)  # read once: the 14th highest
    # one of the 14 falling to the bottom drops the rule's threshold into the low group; the mean moves less
    moved = p.copy()
    moved[-1] = 0.0
    rule_move = rule - _lowest_threshold([moved], 0.10)
    mean_move = mean - choose_threshold(examples(130), moved, 0.10)
    assert rule_move > 0.2 and 0 < mean_move < rule_move


def test_a_line_naming_its_heading_is_told_from_sentences_and_rows():
    letter = chunk("辞职报告\n区人大常委会：\n因工作原因，本人申请辞去区人大代表职务。\n王金荣\n2020年6月29日", path=["附：王金荣同志的辞职报告"])
    found = {u.text.strip(): names_its_heading(u) for u in units([letter])}
    assert found["辞职报告"]
    assert not any(v for k, v in found.items() if k != "辞职报告")
