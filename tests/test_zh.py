"""ingest.zh: the data files load, the helpers work on examples, and the heuristics have one home.

The drop-in equivalence of every pattern with the regex literal it replaced is in test_zh_equivalence.py.
The guard at the end keeps Chinese heuristics out of ingest's other modules and out of qa_service:
qa_service may write Chinese only in qa_service/messages.py (LLM prompts and answer templates).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ingest import zh
from ingest.zh import answer, headings, lexicon, names, places, question


# -- the lexicon ----------------------------------------------------------------------------------------------


def test_lexicon_reads_comments_and_tags() -> None:
    assert "#" not in "".join(lexicon.words("stopwords"))
    assert lexicon.tagged("place_suffixes", "question") == ("新镇", "新区", "镇", "区", "县", "街道")
    assert lexicon.tagged("place_suffixes", "body") == ("新镇", "新区", "镇", "区", "县", "街道", "市")
    assert lexicon.words("units") is lexicon.words("units")  # read once
    with pytest.raises(KeyError):
        lexicon.tagged("place_suffixes", "no-such-variant")


def test_text_helpers_still_reexported() -> None:
    assert zh.match_key("１—７月 2020 年") == "1-7月2020年"
    assert zh.cn_to_int("三十六") == 36
    assert zh.split_sentences("一。二！三") == ["一。", "二！", "三"]
    assert [line.text for line in zh.lines_with_offsets("a\nb")] == ["a", "b"]


def test_question_places_examples() -> None:
    assert places.question_places(zh.match_key("川沙新镇的收入，嘉定区上半年区财政")) == ["川沙新镇", "嘉定区"]
    assert places.question_places(zh.match_key("嘉定区和青浦区相比，哪个的增幅更高？")) == ["嘉定区", "青浦区"]
    # a place starts where a word starts: not `底青浦区`, `核定青浦区` or `后川沙镇`
    assert places.question_places(zh.match_key("2019年底青浦区本级一共有多少辆公车？")) == ["青浦区"]
    assert places.question_places(zh.match_key("市财政局核定青浦区的债务限额是多少？")) == ["青浦区"]
    assert places.question_places(zh.match_key("疫情后川沙镇有多少家工厂复工？")) == ["川沙镇"]
    # a pronoun, verb or adverb before a suffix makes a phrase, not a place
    assert places.question_places(zh.match_key("王金荣为什么不当区人大代表了？")) == []
    assert places.question_places(zh.match_key("尤金袋鼠分布在哪些地区？")) == []
    assert places.strip_place_suffix("夏阳街道") == "夏阳"
    assert places.strip_place_suffix("上海市") == "上海市"


# -- one home -------------------------------------------------------------------------------------------------

_ROOT = Path(__file__).resolve().parent.parent
_HAN = re.compile(r"[\u4e00-\u9fff]")
# Chinese in a string literal: Han, CJK and full-width punctuation (`，` `：` `【`), curly quotes, or an escape
# into those ranges as a regex writes it in a raw string (`[\u4e00-\u9fff]`).
_CHINESE = re.compile(
    r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef“”‘’]|\\u(?:3[0-9a-f]|[4-9][0-9a-f]|f[9a-f])[0-9a-f]{2}",
    re.IGNORECASE,
)
# The one qa_service module allowed Chinese text: the LLM prompts and the templates of what users read
# (`资料中未找到“…”的相关信息。`, `《title》：`). How Chinese is *read* belongs in ingest.zh.
_QA_MESSAGES = "messages.py"


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _han_heuristics(path: Path) -> list[str]:
    """Regexes with Han characters (in any part of the pattern expression), and literal word lists: collections
    of 2+ Han strings, or a Han string split into words (`"的 了 是".split()`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if isinstance(func.value, ast.Name) and func.value.id == "re" and node.args:
                if any(_HAN.search(s) for s in _strings(node.args[0])):
                    found.append(f"{path.name}:{node.lineno} re.{func.attr}")
            if func.attr == "split" and isinstance(func.value, ast.Constant) and _HAN.search(str(func.value.value)):
                found.append(f"{path.name}:{node.lineno} word list")
        if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
            elts = node.keys + node.values if isinstance(node, ast.Dict) else node.elts
            han = [e for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str) and _HAN.search(e.value)]
            if len(han) >= 2:
                found.append(f"{path.name}:{node.lineno} word list")
    return found


def _chinese_literals(path: Path) -> list[str]:
    """Every string literal with Chinese in it, docstrings aside: a regex, a word list, a punctuation set
    (`rstrip("。；")`), a template."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and _CHINESE.search(node.value)
    ]
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    return [f"{path.name}:{node.lineno} {node.value[:24]!r}" for node in found]


def test_ingest_keeps_its_chinese_heuristics_in_zh() -> None:
    offenders = [f for path in sorted((_ROOT / "ingest").glob("*.py")) for f in _han_heuristics(path)]
    assert offenders == []


def test_qa_service_writes_chinese_only_in_its_messages() -> None:
    modules = [p for p in sorted((_ROOT / "qa_service").glob("*.py")) if p.name != _QA_MESSAGES]
    assert len(modules) > 10  # the glob found the package
    offenders = [f for path in modules for f in _chinese_literals(path)]
    assert offenders == []


def test_qa_service_messages_hold_no_heuristic() -> None:
    path = _ROOT / "qa_service" / _QA_MESSAGES
    assert _han_heuristics(path) == []
    assert "import re" not in path.read_text(encoding="utf-8")


def test_the_guards_see_regexes_word_lists_and_punctuation(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        '"""Docstrings may say `上半年`."""\n'
        "import re\n"
        'X = re.compile(r"上半年|下半年")\n'
        'Y = ("报告", "决定")\n'
        'Z = re.compile(r"^(?:" + ITEM + r"|资料)")\n'
        'W = frozenset("的 了 是".split())\n'
        'P = re.compile(r"[\\u4e00-\\u9fff]{2,3}$")\n'
        'Q = TEXT.rstrip("。；;")\n'
        'T = f"《{TITLE}》："\n',
        encoding="utf-8",
    )
    assert _han_heuristics(module) == ["m.py:3 re.compile", "m.py:4 word list", "m.py:5 re.compile", "m.py:6 word list"]
    assert [f.split()[0] for f in _chinese_literals(module)] == [
        "m.py:3", "m.py:4", "m.py:4", "m.py:5", "m.py:6", "m.py:7", "m.py:8", "m.py:9", "m.py:9",
    ]


def test_metrics_keep_their_own_judgement() -> None:
    """The metrics judge with a frozen copy of the stopwords, never with the system's heuristics."""
    for path in sorted((_ROOT / "eval").glob("*metrics*.py")):
        imported = {
            n.module or "" for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.ImportFrom)
        }
        assert not {m for m in imported if m.startswith(("qa_service", "ingest.zh."))}, path.name


# -- helpers that left qa_service with the last call sites ------------------------------------------------------


def test_follow_up_helpers() -> None:
    assert names.formal_body("检察院", "人民法院") == "人民检察院"
    assert names.formal_body("检察院", "法院") == "检察院"
    assert names.formal_body("审计局", "人民政府") == "审计局"
    assert "检察院" in names.SHORT_BODIES and "代表大会" not in names.SHORT_BODIES
    assert question.follow_up_question("川沙新镇1-7月财政总收入", "的同比增幅是多少") == "川沙新镇1-7月财政总收入的同比增幅是多少？"


def test_answer_text_helpers() -> None:
    assert headings.definition_head("六稳：稳就业、稳金融") == "六稳"
    assert headings.definition_head("term: no full-width colon") == "term: no full-width colon"
    assert "青浦区上半年财政收入是多少？".rstrip(question.QUESTION_END_MARKS) == "青浦区上半年财政收入是多少"
    assert "“青浦区财政收入”".strip(answer.MODEL_REPLY_QUOTES) == "青浦区财政收入"
    assert "财政总收入12.42亿元。".rstrip(answer.CLAIM_END_PUNCT) == "财政总收入12.42亿元"


def test_place_noise_examples_from_the_data_comments() -> None:
    assert places.question_place_re().findall("我镇工业区产值") == ["工业区"]
    assert places.known_places(["在全区人民代表大会上"] * 2) == set()


def test_a_year_named_without_a_period_states_the_whole_year() -> None:
    from ingest.zh.time import whole_year_stated

    assert whole_year_stated("全年", "2019年执行收案11937件")
    assert not whole_year_stated("全年", "2019年1-6月执行收案5000件")  # a period of the year, not all of it
    assert not whole_year_stated("全年", "执行收案11937件")  # no year named
    assert not whole_year_stated("上半年", "2019年执行收案11937件")


@pytest.mark.parametrize(
    "question,scopes",
    [
        # The base a figure is compared with is no time it is of (the reports say 同比).
        ("川沙新镇1-7月财政总收入比去年同期增长多少？", ["1-7月"]),
        ("青浦区法院上半年受理各类案件与去年相比增加了多少？", ["上半年"]),
        ("较上年下降多少？", []),
        # Two scopes joined without a comparison both date the figures.
        ("2019年和2020年上半年的收入分别是多少？", ["2019年", "2020年", "上半年"]),
        ("今年上半年比去年上半年增长多少？", ["今年", "上半年"]),
    ],
)
def test_figure_scopes_leave_out_a_comparisons_base(question: str, scopes: list[str]) -> None:
    from ingest.zh.time import figure_scopes

    assert figure_scopes(zh.match_key(question)) == scopes
