"""Follow-up questions made standalone without a model: unit tests of conversation.condense, and the
same over /v1/ask on the in-process API (no LLM configured)."""

from __future__ import annotations

import pytest

from qa_service.conversation import condense, is_follow_up
from qa_service.schemas import Turn

FINANCE_Q = "川沙新镇1-7月财政总收入是多少？"
FINANCE_A = "1-7月，财政总收入12.42亿元，同比下降13.2%[1]。"


def user(text: str) -> Turn:
    return Turn(role="user", content=text)


def assistant(text: str) -> Turn:
    return Turn(role="assistant", content=text)


@pytest.mark.parametrize(
    "previous,follow_up,standalone",
    [
        # A pronoun takes the previous subject and scope.
        (FINANCE_Q, "它的同比增幅是多少？", "川沙新镇1-7月财政总收入的同比增幅是多少？"),
        # A new time scope replaces the old one.
        ("川沙新镇上半年财政收入是多少？", "那下半年呢？", "川沙新镇下半年财政收入是多少？"),
        (FINANCE_Q, "那下半年呢？", "川沙新镇下半年财政总收入是多少？"),
        # A time scope where there was none goes after the place or body.
        ("青浦区法院受理案件多少？", "那2021年呢？", "青浦区法院2021年受理案件多少？"),
        # A new body replaces the old one and keeps the place (and the formal `人民`).
        ("青浦区人民法院上半年受理案件多少？", "那检察院呢？", "青浦区人民检察院上半年受理案件多少？"),
        # A new place replaces the old one.
        (FINANCE_Q, "那高桥镇呢？", "高桥镇1-7月财政总收入是多少？"),
    ],
)
def test_condense(previous, follow_up, standalone):
    assert condense(follow_up, [user(previous), assistant("……")]) == standalone


def test_standalone_questions_are_left_alone():
    history = [user(FINANCE_Q), assistant(FINANCE_A)]
    assert condense("什么是六保？", history) == "什么是六保？"
    assert condense("那下半年呢？", None) == "那下半年呢？"
    assert condense("那下半年呢？", [assistant(FINANCE_A)]) == "那下半年呢？"  # no earlier question
    assert not is_follow_up("青浦区人民法院2020年上半年共受理各类案件多少件？")
    assert is_follow_up("那下半年呢？") and is_follow_up("它的同比增幅是多少？")


def test_chained_follow_ups_resolve_through_the_earlier_ones():
    history = [user("川沙新镇上半年财政收入是多少？"), assistant("……"), user("那下半年呢？"), assistant("……")]
    assert condense("它的同比增幅呢？", history) == "川沙新镇下半年财政收入的同比增幅？"


def test_follow_up_over_http_carries_the_subject(api):
    body = {
        "question": "它的同比增幅是多少？",
        "history": [{"role": "user", "content": FINANCE_Q}, {"role": "assistant", "content": FINANCE_A}],
    }
    with api.client() as c:
        r = c.post("/v1/ask", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert "财政总收入" in out["standalone_question"] and "川沙新镇" in out["standalone_question"]
    assert not out["abstained"] and out["mode"] == "extractive" and out["fallback"] is None
    assert "13.2%" in out["answer"]
    assert any("13.2" in c["quote"] and c["quote"] in c["text"] for c in out["citations"])


def test_time_swap_over_http(api):
    body = {"question": "那下半年呢？", "history": [{"role": "user", "content": FINANCE_Q}, {"role": "assistant", "content": FINANCE_A}]}
    with api.client() as c:
        out = c.post("/v1/ask", json=body).json()
    assert out["standalone_question"] == "川沙新镇下半年财政总收入是多少？"
    # A standalone question gets no `standalone_question`.
    with api.client() as c:
        plain = c.post("/v1/ask", json={"question": FINANCE_Q, "history": [{"role": "user", "content": "什么是六保？"}]}).json()
    assert plain["standalone_question"] is None and "12.42亿元" in plain["answer"]


COURT_Q = "青浦区法院上半年受理各类案件多少件？"
APPOINT_Q = "第三十六次会议任命谁为青浦区发展和改革委员会主任？"


@pytest.mark.parametrize(
    "previous,follow_up,standalone",
    [
        # Verb only: the follow-up's predicate replaces the previous one, the object and scope stay.
        (COURT_Q, "审结了多少件？", "青浦区法院上半年审结各类案件多少件？"),
        # `那…呢？` with a verb.
        (COURT_Q, "那审结呢？", "青浦区法院上半年审结各类案件多少件？"),
        # `其中` shifts to a part: the measured run is replaced, the frame kept.
        ("川沙新镇1-7月财政总收入是多少？", "其中一般公共预算收入是多少？", "川沙新镇1-7月一般公共预算收入是多少？"),
        ("青浦法院上半年受理了多少件刑事案件？", "其中审结的有多少件？", "青浦法院上半年审结了多少件刑事案件？"),
        # A noun phrase with `呢` replaces what was measured.
        ("青浦区上半年实到外资多少？", "合同外资呢？", "青浦区上半年合同外资多少？"),
        # Another measure of the same thing (a rate after a count) is added to the previous subject.
        ("青浦法院上半年受理各类执行案件多少件？", "同期结案率是多少？", "青浦法院上半年受理各类执行案件的同期结案率是多少？"),
        # A pronoun (其/它) points back at what was measured.
        (COURT_Q, "其同比增幅是多少？", "青浦区法院上半年受理各类案件的同比增幅是多少？"),
        # A changed time scope.
        (COURT_Q, "那下半年呢？", "青浦区法院下半年受理各类案件多少件？"),
        # A post named by its head noun alone takes the previous question's phrase for it, even after the ask word.
        (APPOINT_Q, "那原来的主任是谁？", "原来的青浦区发展和改革委员会主任是谁？"),
        # Without an ask of its own, it asks what the previous question asked after the phrase.
        ("青浦区市场监管局局长是谁？", "那原来的局长呢？", "原来的青浦区市场监管局局长是谁？"),
        # A change of what was measured is said of it, not put in its place.
        ("川沙新镇1-7月财政总收入是多少？", "同比下降了多少？", "川沙新镇1-7月财政总收入同比下降了多少？"),
        # A time word names when, not what: a follow-up naming only the base of a change is one too.
        (COURT_Q, "与去年相比增加了多少？", "青浦区法院上半年受理各类案件与去年相比增加了多少？"),
        # Each new time scope replaces the previous one of its kind; one without a counterpart joins it.
        ("青浦区2019年一般公共预算收入是多少？", "那2020年上半年呢？", "青浦区2020年上半年一般公共预算收入是多少？"),
        ("川沙新镇2020年1-7月财政总收入是多少？", "那上半年呢？", "川沙新镇2020年上半年财政总收入是多少？"),
        ("区人大常委会上半年举行了几次常委会会议？", "那2019年呢？", "区人大常委会2019年上半年举行了几次常委会会议？"),
        # A sibling of the previous phrase (same head, another modifier) takes its place, after the ask too.
        ("区人大常委会上半年举行了几次常委会会议？", "主任会议呢？", "区人大常委会上半年举行了几次主任会议？"),
        # A head modified by a noun of its own names another measure: the measured run is replaced instead.
        ("川沙新镇1-7月财政收入是多少？", "其中一般公共预算收入是多少？", "川沙新镇1-7月一般公共预算收入是多少？"),
        # A thing of the kind the ask counts after it (one word to jieba) takes its place, as does its modifier.
        ("青浦法院上半年受理了多少件刑事案件？", "民事案件呢？", "青浦法院上半年受理了多少件民事案件？"),
        ("青浦法院上半年受理了多少件刑事案件？", "那民事的呢？", "青浦法院上半年受理了多少件民事案件？"),
        # A thing of another kind is a measure of the things counted.
        ("川沙新镇1-7月引进了多少家企业？", "注册资金呢？", "川沙新镇1-7月引进企业的注册资金是多少？"),
        # A measure of another kind drops the unit the previous ask counted in; an action keeps it.
        ("青浦法院上半年审结各类案件多少件？", "结案率呢？", "青浦法院上半年结案率是多少？"),
        ("青浦检察院上半年批准逮捕多少人？", "起诉呢？", "青浦检察院上半年起诉多少人？"),
        # A change against a time (jieba tags 去年同期 a noun) and a rate said of a measure are added to it.
        (FINANCE_Q, "比去年同期增长多少？", "川沙新镇1-7月财政总收入比去年同期增长多少？"),
        (FINANCE_Q, "增速是多少？", "川沙新镇1-7月财政总收入增速是多少？"),
        # A run of verbs ending what is measured names a measure (jieba 预算/v 收入/v): a bare predicate replaces
        # its head, not its first word (it gave `一般公共支出`).
        ("青浦区2019年一般公共预算收入是多少？", "支出呢？", "青浦区2019年一般公共预算支出是多少？"),
        # The level a figure is counted at (本级) is frame: another measure keeps it (it was dropped).
        ("2019年青浦区本级“三公”经费支出多少？", "公务用车呢？", "2019年青浦区本级公务用车多少？"),
        ("2019年青浦区本级“三公”经费支出多少？", "其中公务接待费呢？", "2019年青浦区本级公务接待费多少？"),
        # A change (`增长`) is said of what was measured, though jieba tags 转移/v 支付/v a predicate.
        ("青浦区2019年区对镇转移支付多少？", "增长了多少？", "青浦区2019年区对镇转移支付增长了多少？"),
        # `百分之多少` asks a rate: a measure of another kind, said of the previous one.
        ("青浦区2019年一般公共预算收入是多少？", "完成预算的百分之多少？", "青浦区2019年一般公共预算收入完成预算的百分之多少？"),
        # A predicate with a thing of its own, asking no figure, is said of the previous frame (`召开了` dropped);
        # the body pattern's reach over `了几次` (`了几次常委`) is no frame.
        ("青浦区人大常委会上半年召开了几次常委会会议？", "审议了哪些议题？", "青浦区人大常委会上半年审议了哪些议题？"),
        # A rate jieba reads as verbs (审结/v 率/v) is a measure of another kind, not a predicate.
        (COURT_Q, "那审结率呢？", "青浦区法院上半年审结率是多少？"),
        # A level alone is the same measure counted at that level.
        ("青浦区2019年一般公共预算收入是多少？", "区本级呢？", "青浦区2019年区本级一般公共预算收入是多少？"),
        # Bare, a predicate with its own object names a sibling of what was measured.
        ("疫情期间青浦法院上半年网上立案多少件？", "邮寄立案呢？", "疫情期间青浦法院上半年邮寄立案多少件？"),
        # Asking on its own, it is said of the measure; `政府性` is an attribute, no body.
        ("青浦区2019年政府性基金收入是多少？", "完成调整预算的多少？", "青浦区2019年政府性基金收入完成调整预算的多少？"),
        # A question opening with its predicate says it of the previous subject, though it names a period.
        ("青浦区上半年新增就业岗位多少个？", "完成了全年目标的多少？", "青浦区上半年新增就业岗位完成了全年目标的多少？"),
    ],
)
def test_condense_replaces_the_part_the_follow_up_names(previous, follow_up, standalone):
    assert condense(follow_up, [user(previous), assistant("……")]) == standalone


def test_a_previous_question_opening_with_its_ask_leaves_the_follow_up_as_asked():
    # Nothing comes before `谁`: there is no subject to add the follow-up to (it used to become `的他之前…`).
    history = [user("谁被任命为青浦区发展和改革委员会主任？"), assistant("……")]
    assert condense("他之前是做什么的？", history) == "他之前是做什么的？"


def test_subjectless_questions_are_follow_ups_and_named_ones_are_not():
    assert is_follow_up("审结了多少件？") and is_follow_up("同比增长了多少？")
    assert is_follow_up("完成了全年目标的多少？") and is_follow_up("比去年同期增长多少？")
    assert not is_follow_up("在青浦区完成了多少投资？")
    assert not is_follow_up("什么是六保？")
    assert not is_follow_up("青浦区法院上半年审结了多少件？")


def _ask_in_process(index, body: dict) -> dict:
    from fastapi.testclient import TestClient

    from qa_service.app import create_app
    from qa_service.config import Settings

    with TestClient(create_app(Settings(index=str(index)))) as client:
        r = client.post("/v1/ask", json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("follow_up", ["审结了多少件？", "那审结呢？"])
def test_follow_up_in_process_is_rewritten_with_the_previous_subject(shipped_index, follow_up):
    body = {"question": follow_up, "history": [{"role": "user", "content": COURT_Q}, {"role": "assistant", "content": "共受理各类案件20813件。"}]}
    out = _ask_in_process(shipped_index, body)
    assert out["standalone_question"] == "青浦区法院上半年审结各类案件多少件？"
    assert "民间借贷" not in out["answer"]  # the answer of the unrewritten question


@pytest.mark.parametrize("follow_up", ["审结了多少件？", "那审结呢？", "其中审结的有多少件？"])
def test_follow_up_in_process_gets_all_cases_concluded(shipped_index, follow_up):
    """`1—6月，我院共受理各类案件20813件，同比增加7.28%；审结19567件`: the figure is read with its sentence's scope,
    not the criminal cases' 审结580件 nor 审结民间借贷案件677件."""
    body = {"question": follow_up, "history": [{"role": "user", "content": COURT_Q}, {"role": "assistant", "content": "……"}]}
    out = _ask_in_process(shipped_index, body)
    assert "19567件" in out["answer"] and not out["abstained"]
    assert any("19567" in c["quote"] and c["quote"] in c["text"] for c in out["citations"])


def test_follow_up_in_process_about_the_former_holder_of_a_post(shipped_index):
    """`那原来的主任呢？` after asking who was appointed director: the answer names whom the meeting removed."""
    body = {"question": "那原来的主任呢？", "history": [{"role": "user", "content": APPOINT_Q}, {"role": "assistant", "content": "卫星。"}]}
    out = _ask_in_process(shipped_index, body)
    assert "发展和改革委员会主任" in out["standalone_question"]
    assert "朱正伟" in out["answer"] and not out["abstained"]


def test_follow_up_in_process_about_a_change_of_what_was_measured(shipped_index):
    body = {"question": "同比下降了多少？", "history": [{"role": "user", "content": FINANCE_Q}, {"role": "assistant", "content": FINANCE_A}]}
    out = _ask_in_process(shipped_index, body)
    assert out["standalone_question"] == "川沙新镇1-7月财政总收入同比下降了多少？"
    assert "13.2%" in out["answer"] and not out["abstained"]


def test_follow_up_in_process_about_the_growth_of_what_was_measured(shipped_index):
    """`增速是多少？` is said of the previous measure: before, it replaced it (`川沙新镇1-7月增速是多少？`)."""
    body = {"question": "增速是多少？", "history": [{"role": "user", "content": FINANCE_Q}, {"role": "assistant", "content": FINANCE_A}]}
    out = _ask_in_process(shipped_index, body)
    assert out["standalone_question"] == "川沙新镇1-7月财政总收入增速是多少？"
    assert "13.2%" in out["answer"] and not out["abstained"]


def test_follow_up_in_process_about_the_other_side_of_a_budget(shipped_index):
    """`支出呢？` after a revenue question asks the same budget's expenditure (it asked `一般公共支出`)."""
    body = {"question": "支出呢？", "history": [
        {"role": "user", "content": "青浦区2019年一般公共预算收入是多少？"}, {"role": "assistant", "content": "……[1]"}]}
    out = _ask_in_process(shipped_index, body)
    assert out["standalone_question"] == "青浦区2019年一般公共预算支出是多少？"
    assert "一般公共预算支出" in out["answer"] and "339.91" in out["answer"] and not out["abstained"]


def test_follow_up_in_process_about_a_change_against_last_year(shipped_index):
    """`比去年同期增长多少？` was declined (P 0.45): the figure is the change the sentence states."""
    body = {"question": "比去年同期增长多少？", "history": [{"role": "user", "content": FINANCE_Q}, {"role": "assistant", "content": FINANCE_A}]}
    out = _ask_in_process(shipped_index, body)
    assert out["standalone_question"] == "川沙新镇1-7月财政总收入比去年同期增长多少？"
    assert "同比下降13.2%" in out["answer"] and not out["abstained"]


def test_a_person_pronoun_takes_the_person_the_last_answer_named():
    appointed = [user(APPOINT_Q), assistant("会议任命卫星同志为青浦区发展和改革委员会主任[1]。")]
    assert condense("他之前担任什么职务？", appointed) == "卫星之前担任什么职务？"
    # a name jieba splits (朱要 / 武) is read after its office
    office = [user("区经委主任是谁？"), assistant("青浦区经济委员会主任 朱要武[1]。")]
    assert condense("他第一次被任命为区经委主任是什么时候？", office) == "朱要武第一次被任命为区经委主任是什么时候？"
    # a surname jieba tags alone takes the given name after it (杨 / 晶晶)
    court = [user("第三十六次会议任命谁为执行裁判庭庭长？"), assistant("任命杨晶晶为上海市青浦区人民法院执行裁判庭庭长[1]。")]
    assert condense("她之前担任什么职务？", court) == "杨晶晶之前担任什么职务？"
    # an answer naming no one leaves the question as it was
    figure = [user(FINANCE_Q), assistant(FINANCE_A)]
    assert condense("他之前担任什么职务？", figure) == "他之前担任什么职务？"


def test_follow_up_in_process_about_the_person_just_named(shipped_index):
    history = [{"role": "user", "content": "第三十六次会议任命谁为青浦区人民法院副院长？"},
               {"role": "assistant", "content": "任命钱燕同志为上海市青浦区人民法院副院长、审判委员会委员、审判员[1]。"}]
    out = _ask_in_process(shipped_index, {"question": "她同时还被任命为什么职务？", "history": history})
    assert out["standalone_question"] == "钱燕同时还被任命为什么职务？"
    assert "审判委员会委员" in out["answer"] and not out["abstained"]
