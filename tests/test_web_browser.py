"""The web page end to end: a real `reportqa serve` on loopback, driven in Debian's chromium by Playwright.

Each test is what a person does: ask and read the streamed answer, open a citation's source, ask a follow-up,
meet an abstention, search, open a report's outline, upload with an admin key, be refused without one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from browser_page import PHONE, ask, citation_links, launch, open_page, wait_ready
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.slow

FIRST = "川沙新镇1-7月财政总收入是多少？"
FOLLOW_UP = "其中一般公共预算收入是多少？"
UNANSWERABLE = "川沙新镇2019年全年的财政总收入是多少？"  # the reports give 2020 figures only (dev set q044)
GOV_REPORT = "004_1aa96ab411d029c6"  # 政府上半年工作情况报告
SECTIONED = "000_20d7c97a3767f276-03"  # a 履职报告 with 49 sections
ADMIN_KEY = "page-test-admin-key"
QUERY_KEY = "page-test-query-key"
UPLOAD_TEXT = (
    "测试镇2026年上半年工作报告\n\n一、财政收支情况\n"
    "2026年1-6月，测试镇财政总收入98.76亿元，同比增长5.4%。一般公共预算收入21.09亿元。\n\n"
    "二、民生工作\n上半年新建社区食堂17家，新增养老床位420张。\n"
)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launch()


@pytest.fixture(scope="module")
def keyed_server(shipped_index, tmp_path_factory) -> Iterator[Server]:
    """A server with API keys over its own copy of the index (the upload test changes it)."""
    index = tmp_path_factory.mktemp("keyed") / "index"
    shutil.copytree(shipped_index, index)
    s = start_server(index, env={"REPORTQA_API_KEYS": f"{ADMIN_KEY}:admin,{QUERY_KEY}:query"})
    yield s
    stop_server(s)


def _page(browser, server, **kwargs):
    page = open_page(browser, server.url, **kwargs)
    wait_ready(page)
    return page


def _streamed_text(sse: str) -> str:
    """The answer as the server streamed it: the deltas of every `data:` chunk."""
    text = ""
    for line in sse.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            text += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
    return text


def test_ask_and_see_the_streamed_answer(browser, server) -> None:
    page = _page(browser, server)
    with page.expect_response(lambda r: r.url.endswith("/v1/chat/completions")) as info:
        answer = ask(page, FIRST)
    response = info.value
    assert response.request.post_data_json["stream"] is True
    assert response.headers["content-type"].startswith("text/event-stream")
    shown = answer.locator(".body").text_content()
    assert shown == _streamed_text(response.text())
    assert "12.42亿元" in shown
    assert citation_links(answer).first.text_content() == "[1]"
    assert page.errors == []


def test_click_a_citation_and_see_the_quote_in_the_document(browser, server) -> None:
    page = _page(browser, server)
    answer = ask(page, FIRST)
    citation = server.client().post("/v1/ask", json={"question": FIRST}).json()["citations"][0]
    citation_links(answer).first.click()
    mark = page.locator("#source-panel mark")
    mark.wait_for()
    assert mark.text_content() == citation["quote"]
    assert page.locator("#source-title").text_content() == f"《{citation['doc_title']}》"
    assert page.locator("#source-breadcrumb li").all_text_contents() == citation["heading_path"]
    # Scrolled to: the mark lies inside the visible part of the source text.
    box, at = page.locator("#source-text").bounding_box(), mark.bounding_box()
    assert box["y"] <= at["y"] and at["y"] + at["height"] <= box["y"] + box["height"]
    # The whole document is there, the cited passage highlighted around the quote.
    passage = page.locator("#source-text .passage")
    assert citation["quote"] in passage.text_content()
    document = server.client().get(f"/v1/documents/{citation['doc_id']}", params={"text": True}).json()
    assert page.locator("#source-text").text_content() == document["text"]
    # Next passage: the highlight moves to the passage after the cited one.
    following = server.client().get(f"/v1/passages/{citation['passage_id']}").json()["next_id"]
    nxt = server.client().get(f"/v1/passages/{following}").json()
    page.locator("#source-next").click()
    page.wait_for_function(
        "t => document.querySelector('#source-text .passage')?.textContent === t",
        arg=document["text"][nxt["start"] : nxt["end"]],
    )
    assert page.locator("#source-breadcrumb li").all_text_contents() == nxt["heading_path"]
    assert page.errors == []


def test_copy_an_answer_with_its_citations(browser, server) -> None:
    page = _page(browser, server)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    answer = ask(page, FIRST)
    citation = server.client().post("/v1/ask", json={"question": FIRST}).json()["citations"][0]
    answer.locator("button.copy").click()
    page.wait_for_function("() => navigator.clipboard.readText().then(t => t.length > 0)")
    copied = page.evaluate("navigator.clipboard.readText()")
    shown = answer.locator(".body").text_content()
    trail = " > ".join(citation["heading_path"][1:])
    assert copied == f"{shown}\n[1] 《{citation['doc_title']}》 {trail}：{citation['quote']}"


def test_unsupported_sentences_and_marker_forms_are_rendered(browser, server) -> None:
    """The answer renderer on an LLM-style reply: a compound marker, an unknown number, an unsupported sentence."""
    page = _page(browser, server)
    rendered = page.evaluate(
        """async () => {
          const { answerBody } = await import('/ui/answer.js');
          const cite = (n) => ({ n, doc_title: 'T', heading_path: ['T'], quote: 'q' + n, passage_id: 'p' + n });
          const result = { citations: [cite(1), cite(2)], unsupported_sentences: ['无依据的一句。'] };
          const box = document.createElement('div');
          box.append(...answerBody('收入增长[1, 2]。无依据的一句。见[9]。', result, () => {}));
          return {
            links: [...box.querySelectorAll('a')].map((a) => a.textContent),
            unsupported: box.querySelector('.unsupported')?.firstChild.textContent,
            text: box.textContent,
          };
        }"""
    )
    assert rendered["links"] == ["[1]", "[2]"]
    assert rendered["unsupported"] == "无依据的一句。"
    assert "[9]" in rendered["text"]  # a number with no citation stays text, never a dead link


def test_a_follow_up_question_uses_the_history(browser, server) -> None:
    page = _page(browser, server)
    ask(page, FIRST)
    with page.expect_request(lambda r: r.url.endswith("/v1/chat/completions")) as info:
        answer = ask(page, FOLLOW_UP)
    sent = info.value.post_data_json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[0]["content"] == FIRST and "12.42亿元" in sent[1]["content"] and sent[2]["content"] == FOLLOW_UP
    assert "3.23亿元" in answer.locator(".body").text_content()
    assert page.locator("#conversation li.msg").count() == 4


def test_an_abstention_is_shown_as_such(browser, server) -> None:
    page = _page(browser, server)
    answer = ask(page, UNANSWERABLE)
    assert "abstained" in answer.get_attribute("class").split()
    assert answer.locator(".status .badge").text_content() == "未找到依据"
    assert answer.locator(".body").text_content().startswith("资料中未找到")
    assert answer.locator(".reason").text_content().startswith("原因：")  # the service's abstain_reason
    assert citation_links(answer).count() == 0
    assert answer.locator(".sources").count() == 0


def test_search_with_a_document_filter(browser, server) -> None:
    page = _page(browser, server)
    page.locator("#tab-reports").click()
    page.locator("#search-doc").select_option(GOV_REPORT)
    page.locator("#search-q").fill("财政总收入")
    with page.expect_response(lambda r: "/v1/search?" in r.url) as info:
        page.locator("#search-q").press("Enter")
    assert f"doc_ids={GOV_REPORT}" in info.value.url
    results = page.locator("#search-results li.result")
    results.first.wait_for()
    heads = results.locator(".result-head strong").all_text_contents()
    assert heads and set(heads) == {"《政府上半年工作情况报告》"}
    assert "12.42亿元" in page.locator("#search-results").text_content()
    # A result opens its report with the passage highlighted.
    results.first.locator("button").click()
    page.locator("#doc-text .passage").wait_for()
    assert page.locator("#doc-title").text_content() == "政府上半年工作情况报告"


def test_open_a_documents_outline(browser, server) -> None:
    page = _page(browser, server)
    page.locator("#tab-reports").click()
    detail = server.client().get(f"/v1/documents/{SECTIONED}").json()
    page.locator(f'#doc-table button[data-doc-id="{SECTIONED}"]').click()
    outline = page.locator("#doc-outline button")
    outline.first.wait_for()
    assert outline.all_text_contents() == _headings(detail["outline"])
    assert page.locator("#doc-title").text_content() == detail["title"]
    # A heading scrolls the text to its section.
    last = outline.last
    start = last.get_attribute("data-start")
    last.click()
    anchor = page.locator(f'#doc-text .anchor[data-offset="{start}"]')
    box, at = page.locator("#doc-text").bounding_box(), anchor.bounding_box()
    assert box["y"] <= at["y"] <= box["y"] + box["height"]


def _headings(nodes: list[dict]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if node["level"] > 0:
            out.append(node["heading"])
        out.extend(_headings(node.get("children", [])))
    return out


def test_keyboard_language_and_phone_width(browser, server) -> None:
    page = _page(browser, server, viewport=PHONE)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    box = page.locator("textarea").first
    box.fill("")
    box.type("a")
    box.press("Shift+Enter")
    box.type("b")
    assert box.input_value() == "a\nb" and page.locator("#conversation li").count() == 0
    reached = set()
    page.locator("body").focus()
    for _ in range(20):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.getAttribute('href')"))
    assert {"tab-chat", "tab-reports", "lang-toggle", "/docs", "question", "send", "new-chat"} <= reached
    page.locator("#lang-toggle").click()
    assert page.locator("#send").text_content() == "Send"
    assert page.evaluate("document.documentElement.lang") == "en"


def test_upload_with_an_admin_key_and_ask_about_it(browser, keyed_server) -> None:
    page = open_page(browser, keyed_server.url)
    page.locator("#key-dialog").wait_for()
    page.locator("#key-input").fill(ADMIN_KEY)
    page.locator("#key-form button[type=submit]").click()
    wait_ready(page)
    assert page.evaluate("sessionStorage.getItem('reportqa.apiKey')") == ADMIN_KEY
    assert ADMIN_KEY not in page.evaluate("JSON.stringify(localStorage)")
    page.locator("#tab-manage").click()
    page.locator("#upload-files").set_input_files(
        files=[{"name": "ceshi.txt", "mimeType": "text/plain", "buffer": UPLOAD_TEXT.encode("utf-8")}]
    )
    page.locator("#upload-form button[type=submit]").click()
    job = page.locator("#job-list li.job").first
    job.wait_for()
    page.wait_for_function("() => ['done', 'failed'].includes(document.querySelector('#job-list li.job')?.dataset.status)",
                           timeout=180_000)
    assert job.get_attribute("data-status") == "done", job.text_content()
    assert "ceshi" in job.text_content()
    assert page.locator("#upload-progress").evaluate("p => p.value") == 100
    page.locator("#tab-chat").click()
    answer = ask(page, "测试镇2026年1-6月财政总收入是多少？")
    assert "98.76亿元" in answer.locator(".body").text_content()
    citation_links(answer).first.click()
    page.locator("#source-panel mark").wait_for()
    assert page.locator("#source-title").text_content() == "《测试镇2026年上半年工作报告》"


def test_refused_without_a_key(browser, keyed_server) -> None:
    page = open_page(browser, keyed_server.url)
    page.locator("#key-dialog").wait_for()
    page.locator("#key-cancel").click()
    wait_ready(page)
    assert page.locator("#tab-manage").is_hidden()
    assert page.locator("#doc-table tbody tr").count() == 0
    with page.expect_response(lambda r: r.url.endswith("/v1/chat/completions")) as info:
        answer = ask(page, FIRST)
    assert info.value.status == 401
    assert "error" in answer.get_attribute("class").split()
    assert citation_links(answer).count() == 0
    page.locator("#key-dialog").wait_for()  # asked again for a key
    # A query key answers questions but never shows management.
    page.locator("#key-input").fill(QUERY_KEY)
    page.locator("#key-form button[type=submit]").click()
    badge = page.locator("#role-badge")
    badge.wait_for()  # shown once the key's role is known
    assert badge.text_content() == "查询"
    assert page.locator("#tab-manage").is_hidden()
