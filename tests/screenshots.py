"""The README's screenshots of the web page, taken in Debian's chromium (fonts-noto-cjk for the Chinese text).

    reportqa serve &           # the shipped reports, on 127.0.0.1:8000
    python tests/screenshots.py http://127.0.0.1:8000 docs/
"""

from __future__ import annotations

import sys
from pathlib import Path

from browser_page import DESKTOP, ask, citation_links, launch, open_page, wait_ready


def take(url: str, out: Path) -> None:
    for browser in launch():
        page = open_page(browser, url, viewport=DESKTOP)
        wait_ready(page)
        ask(page, "川沙新镇1-7月财政总收入是多少？")
        answer = ask(page, "其中一般公共预算收入是多少？")
        citation_links(answer).first.click()
        page.locator("#source-panel mark").wait_for()
        page.screenshot(path=str(out / "web-chat.png"))
        page.locator("#tab-reports").click()
        page.locator('#doc-table button[data-doc-id="000_20d7c97a3767f276-03"]').click()
        page.locator("#doc-outline button").nth(4).click()
        page.screenshot(path=str(out / "web-document.png"))


if __name__ == "__main__":
    take(sys.argv[1].rstrip("/"), Path(sys.argv[2]))
