"""The web page at `/` and the API docs at `/docs` and `/redoc`, every asset served from the installed package.

The page is plain HTML, CSS and JavaScript modules in `qa_service/web/` (no build step). Swagger UI and ReDoc
come from the `fastapi-offline` package's static folder instead of a CDN, so both work with no network access.
The app must be created with `docs_url=None, redoc_url=None` so these routes replace FastAPI's CDN pages.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent / "web"
PAGE_ASSETS = "/ui"
DOCS_ASSETS = "/docs-assets"
# The page loads nothing but its own files and calls only this origin's API; inline scripts are refused.
_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)


def docs_static_dir() -> Path:
    """Swagger UI's and ReDoc's files as the fastapi-offline package ships them."""
    return Path(str(files("fastapi_offline") / "static"))


def install_web_page(app: FastAPI) -> None:
    """Add `/` (the page), its assets under `/ui`, and offline `/docs` and `/redoc`."""
    app.mount(PAGE_ASSETS, StaticFiles(directory=WEB_DIR), name="web-page")
    app.mount(DOCS_ASSETS, StaticFiles(directory=docs_static_dir()), name="docs-assets")

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def page() -> HTMLResponse:
        headers = {"Content-Security-Policy": _PAGE_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
        return HTMLResponse((WEB_DIR / "index.html").read_text(encoding="utf-8"), headers=headers)

    _install_docs(app)


def _install_docs(app: FastAPI) -> None:
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
