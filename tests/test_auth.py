"""Access control in-process: API keys and roles, open routes, /v1/auth, CORS, no server paths in responses,
and `reportqa serve`'s refusal to expose an anonymous service."""

from __future__ import annotations

import pytest
from fastapi import Depends
from fastapi.openapi.utils import get_openapi

from conftest import run_cli
from qa_service.app import create_app
from qa_service.auth import KeyConfigError, KeyStore, anonymous_refusal, is_loopback, require_role
from qa_service.config import Settings
from test_api_contract import call, ours
from tiny_index import build_tiny_index

KEYS = "adm-key:admin,q-key:query"
ADMIN = {"Authorization": "Bearer adm-key"}
QUERY = {"Authorization": "Bearer q-key"}
OPEN_ROUTES = ["/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/v1/auth"]


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("auth") / "index")


@pytest.fixture(scope="module")
def keyed(tiny_index):
    app = create_app(Settings(index=tiny_index, api_keys=KEYS))

    @app.post("/v1/admin-probe", dependencies=[Depends(require_role("admin"))])
    def admin_probe() -> dict:
        return {"ok": True}

    return app


def v1_requests(app):
    """One request per /v1 operation of the app (path parameters filled in), whoever added the route."""
    paths = get_openapi(title="t", version="0", routes=app.routes)["paths"]
    for template, item in paths.items():
        if template.startswith("/v1/") and template != "/v1/auth":
            for method in item:
                yield method.upper(), template.replace("{", "").replace("}", "")


def test_every_v1_route_refuses_a_missing_or_wrong_key(keyed):
    seen = 0
    for method, path in v1_requests(keyed):
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
            r = call(keyed, method, path, headers=headers)
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.json()["error"]["type"] == "unauthorized" and r.json()["error"]["message"]
        seen += 1
    assert seen >= 8


def test_keys_grant_their_roles(keyed):
    assert call(keyed, "GET", "/v1/documents", headers=QUERY).status_code == 200
    assert call(keyed, "GET", "/v1/documents", headers=ADMIN).status_code == 200  # admin may query
    r = call(keyed, "POST", "/v1/ask", json={"question": "六稳是什么？"}, headers=QUERY)
    assert r.status_code == 200 and r.json()["citations"]
    r = call(keyed, "POST", "/v1/admin-probe", headers=QUERY)
    assert r.status_code == 403 and ours(r)["type"] == "forbidden"
    assert call(keyed, "POST", "/v1/admin-probe", headers=ADMIN).json() == {"ok": True}


def test_open_routes_need_no_key(keyed):
    for path in OPEN_ROUTES:
        assert call(keyed, "GET", path).status_code == 200, path


@pytest.mark.parametrize("headers,role", [({}, None), (QUERY, "query"), (ADMIN, "admin"), ({"Authorization": "Bearer nope"}, None)])
def test_auth_endpoint_with_keys(keyed, headers, role):
    assert call(keyed, "GET", "/v1/auth", headers=headers).json() == {"keys_required": True, "role": role}


def test_without_keys_everyone_is_admin(tiny_index):
    app = create_app(Settings(index=tiny_index))
    assert call(app, "GET", "/v1/auth").json() == {"keys_required": False, "role": "admin"}
    assert call(app, "GET", "/v1/documents").status_code == 200
    # the schema declares no security that the server would not enforce
    schema = call(app, "GET", "/openapi.json").json()
    assert "securitySchemes" not in schema.get("components", {})
    assert all("security" not in op for item in schema["paths"].values() for op in item.values())


def test_schema_declares_bearer_when_keys_are_set(keyed):
    schema = call(keyed, "GET", "/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert schema["paths"]["/v1/ask"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]
    assert schema["paths"]["/v1/auth"]["get"]["security"] == [{}, {"HTTPBearer": []}]  # a key is optional there


def test_keys_file(tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nalpha:admin\n\nbeta : query   # the web page\n", encoding="utf-8")
    store = KeyStore.from_settings(Settings(api_keys="gamma:query", api_keys_file=keys))
    assert [store.role_of(k) for k in ("alpha", "beta", "gamma", "delta", None)] == ["admin", "query", "query", None, None]
    keys.write_text("alpha:root\n", encoding="utf-8")
    with pytest.raises(KeyConfigError, match="unknown role 'root'"):
        KeyStore.from_settings(Settings(api_keys_file=keys))
    with pytest.raises(KeyConfigError, match="key:role"):
        KeyStore.from_settings(Settings(api_keys="justakey"))
    with pytest.raises(KeyConfigError, match="cannot read"):
        KeyStore.from_settings(Settings(api_keys_file=tmp_path / "missing.txt"))


def test_anonymous_service_stays_on_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    assert anonymous_refusal(Settings(), "127.0.0.1") is None
    assert "--allow-anonymous" in anonymous_refusal(Settings(), "0.0.0.0")
    assert anonymous_refusal(Settings(allow_anonymous=True), "0.0.0.0") is None
    assert anonymous_refusal(Settings(api_keys="k:query"), "0.0.0.0") is None


def test_serve_refuses_a_public_host_without_keys(tmp_path):
    result = run_cli("serve", "--index", str(tmp_path / "none"), "--host", "0.0.0.0", "--port", "1", timeout=120,
                     env={"REPORTQA_API_KEYS": "", "REPORTQA_ALLOW_ANONYMOUS": "false"})
    assert result.returncode == 1
    assert "refusing to serve 0.0.0.0 without API keys" in result.stderr and "--allow-anonymous" in result.stderr


def test_cors_is_off_by_default(tiny_index):
    app = create_app(Settings(index=tiny_index))
    preflight = {"Origin": "https://page.example", "Access-Control-Request-Method": "POST"}
    r = call(app, "OPTIONS", "/v1/ask", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    r = call(app, "GET", "/healthz", headers={"Origin": "https://page.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_allows_the_configured_origins(tiny_index):
    app = create_app(Settings(index=tiny_index, cors_origins="https://page.example, https://other.example", api_keys=KEYS))
    preflight = {"Origin": "https://page.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    r = call(app, "OPTIONS", "/v1/ask", headers=preflight)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://page.example"
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    r = call(app, "GET", "/v1/documents", headers={"Origin": "https://page.example", **QUERY})
    assert r.headers["access-control-allow-origin"] == "https://page.example"
    r = call(app, "OPTIONS", "/v1/ask", headers={**preflight, "Origin": "https://evil.example"})
    assert r.headers.get("access-control-allow-origin") != "https://evil.example"


def test_no_absolute_paths_in_responses(tiny_index, tmp_path):
    app = create_app(Settings(index=tiny_index))
    bodies = [call(app, "GET", p).text for p in ("/readyz", "/v1/documents", "/v1/documents/a", "/v1/documents/nope", "/metrics")]
    bodies.append(call(app, "GET", "/v1/search", params={"q": "六稳"}).text)
    bodies.append(call(app, "POST", "/v1/ask", json={"question": "六稳是什么？"}).text)
    missing = create_app(Settings(index=tmp_path / "gone" / "index"))
    for path in ("/readyz", "/v1/documents"):
        r = call(missing, "GET", path)
        assert r.status_code == 503 and "reportqa ingest" in r.json()["error"]["message"]
        bodies.append(r.text)
    for body in bodies:
        assert str(tiny_index) not in body and str(tmp_path) not in body
        assert "/tmp/" not in body and "/work/" not in body and "/home/" not in body
    assert call(app, "GET", "/readyz").json()["index"] == "index"


def test_documents_show_the_source_file_name_only(tiny_index):
    from dataclasses import replace

    from ingest.index_reader import load_index
    from qa_service.documents_view import document_summary

    index = load_index(tiny_index)
    doc = replace(index.documents["a"], source_file="/srv/reports/2020/a.txt")
    assert document_summary(index, doc).source_file == "a.txt"
