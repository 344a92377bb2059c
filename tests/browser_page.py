"""Driving the web page in a real browser: Debian's /usr/bin/chromium through Playwright for Python.

Nothing is downloaded: Playwright launches the system chromium by path. Outside CI a machine without it skips
the browser tests with the reason; in CI (CI=true) a missing browser is a failure, never a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("REPORTQA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ANSWER_TIMEOUT_MS = 60_000  # the first question loads the models in the server


def require_browser() -> None:
    """Skip (outside CI) or fail (in CI) when the browser or Playwright is missing."""
    missing = None
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install '.[test]')"
    if missing is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {missing}")
    pytest.skip(f"browser tests need a browser: {missing}")


def launch() -> Iterator:
    """A headless chromium, closed afterwards."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, url: str, viewport: dict | None = None):
    """A fresh context (its own sessionStorage) with the page loaded and started; page errors are collected."""
    context = browser.new_context(viewport=viewport or DESKTOP)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    page.goto(url + "/")
    return page


def wait_ready(page) -> None:
    page.wait_for_selector("body[data-ready=true]")


def ask(page, question: str):
    """Type the question in the page's first textarea, press Enter, and return the new answer's <li>."""
    answers = page.locator("#conversation li.msg.assistant")
    before = answers.count()
    box = page.locator("textarea").first
    box.fill(question)
    box.press("Enter")
    answer = answers.nth(before)
    answer.wait_for()
    page.wait_for_function(
        "n => { const a = document.querySelectorAll('#conversation li.msg.assistant')[n];"
        " return a && !a.hasAttribute('aria-busy'); }",
        arg=before,
    )
    return answer


def citation_links(answer):
    """The answer's `[n]` markers: <a> elements whose text is `[n]`."""
    return answer.locator("a").filter(has_text="[")
