"""The web page and the API docs as served (in-process, no browser): everything from the package, nothing
from a CDN, the page contract in the HTML itself. The page in a browser is tested in test_web_browser.py."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from qa_service.web_page import WEB_DIR

ROOT = Path(__file__).resolve().parents[1]
_ASSET_RE = re.compile(r"""(?:src|href)="([^"]+)\"""")
_IMPORT_RE = re.compile(r"""from\s+"\./([\w.-]+)\"""")
_COMMENT_RE = re.compile(r"/\*.*?\*/|^[ \t]*//[^\n]*", re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def client(api):
    with api.client() as c:
        yield c


def test_page_is_served_at_root_with_the_contract(client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    # The first <textarea> is the question box; the Chinese interface text is in the served HTML itself.
    first = re.search(r"<textarea[^>]*>", html).group(0)
    assert 'id="question"' in first
    for text in ("报告问答", "发送", "新对话", "搜索", "目录", "上一段", "下一段"):
        assert text in html, text
    assert 'lang="zh-CN"' in html
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp


def test_every_page_asset_and_module_is_served_from_the_package(client) -> None:
    html = client.get("/").text
    assets = [a for a in _ASSET_RE.findall(html) if a.startswith("/ui/")]
    assert "/ui/app.js" in assets and "/ui/style.css" in assets
    assert not [a for a in _ASSET_RE.findall(html) if a.startswith(("http:", "https:", "//"))]
    modules = {p.name for p in WEB_DIR.glob("*.js")}
    for script in WEB_DIR.glob("*.js"):
        for name in _IMPORT_RE.findall(script.read_text(encoding="utf-8")):
            assert name in modules, f"{script.name} imports a missing module {name}"
    for path in [*assets, *(f"/ui/{m}" for m in modules)]:
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.content


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_their_assets_from_the_package(client, page) -> None:
    r = client.get(page)
    assert r.status_code == 200
    html = r.text
    assert "cdn.jsdelivr" not in html and "fonts.googleapis" not in html
    urls = [u for u in re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", html)]
    scripts = [u for u in urls if u.endswith((".js", ".css"))]
    assert scripts and all(u.startswith("/docs-assets/") for u in scripts), urls
    for url in scripts:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 10_000, url
    assert client.get("/openapi.json").status_code == 200


def test_page_routes_are_not_in_the_openapi_schema(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/docs" not in paths


def test_page_files_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["qa_service"]
    files = [p.relative_to(WEB_DIR.parent).as_posix() for p in WEB_DIR.iterdir() if p.is_file()]
    assert "web/index.html" in files
    assert [f for f in files if not any(fnmatch(f, pat) for pat in patterns)] == []


def test_page_scripts_insert_text_only() -> None:
    """Document and user text goes in through textContent: no HTML parsing of strings anywhere."""
    for script in WEB_DIR.glob("*.js"):
        source = _COMMENT_RE.sub("", script.read_text(encoding="utf-8"))
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in source, f"{script.name} uses {sink}"


def test_page_files_stay_small() -> None:
    for path in WEB_DIR.iterdir():
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines < 400, f"{path.name} has {lines} lines"
