"""API keys and roles: `Authorization: Bearer <key>` (what the official openai client sends).

Keys come from `REPORTQA_API_KEYS` ("k1:admin,k2:query") and/or `REPORTQA_API_KEYS_FILE` (one `key:role`
a line). Two roles: `query` (search, ask, chat, read documents) and `admin` (also document management and
reload). With no keys configured every request has the admin role; `reportqa serve` then refuses a
non-loopback address unless anonymous access is allowed explicitly.

Routes declare what they need with a dependency: `dependencies=[Depends(require_role("admin"))]`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .config import Settings
from .errors import Forbidden, Unauthorized

Role = Literal["admin", "query"]
ROLES: tuple[Role, ...] = ("admin", "query")
# What each role may do: admin includes query.
_GRANTS: Mapping[Role, frozenset[Role]] = {"admin": frozenset(ROLES), "query": frozenset({"query"})}

# Declares the Bearer scheme in the OpenAPI schema (the /docs "Authorize" button); never raises itself.
bearer = HTTPBearer(auto_error=False, description="An API key from REPORTQA_API_KEYS or the keys file.")


class KeyConfigError(ValueError):
    """A malformed key list or keys file (a start-up error, reported by the CLI)."""


@dataclass(frozen=True)
class KeyStore:
    """Roles by the sha256 of each key: the keys themselves are not kept in memory past start-up."""

    roles: Mapping[str, Role]

    @property
    def required(self) -> bool:
        return bool(self.roles)

    def role_of(self, key: str | None) -> Role | None:
        """The role of a presented key; None for a missing or unknown key."""
        if not key:
            return None
        digest = _digest(key)
        for known, role in self.roles.items():
            if hmac.compare_digest(known, digest):
                return role
        return None

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyStore:
        entries: list[tuple[str, str]] = []
        if settings.api_keys:
            entries += [_split(item, "REPORTQA_API_KEYS") for item in settings.api_keys.split(",") if item.strip()]
        if settings.api_keys_file:
            entries += _read_keys_file(Path(settings.api_keys_file))
        roles: dict[str, Role] = {}
        for key, role in entries:
            if role not in ROLES:
                raise KeyConfigError(f"unknown role {role!r} for an API key (roles: {', '.join(ROLES)})")
            roles[_digest(key)] = role  # type: ignore[assignment]
        return cls(roles=roles)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


key_digest = _digest  # a key's identity where the key itself must not be kept (qa_service.rate_limit)


def _split(item: str, source: str) -> tuple[str, str]:
    key, sep, role = item.strip().rpartition(":")
    if not sep or not key.strip() or not role.strip():
        raise KeyConfigError(f"{source}: expected key:role, got an entry without both (roles: {', '.join(ROLES)})")
    return key.strip(), role.strip()


def _read_keys_file(path: Path) -> list[tuple[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyConfigError(f"cannot read the API keys file {path}: {exc.strerror or exc}") from None
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line:
            entries.append(_split(line, f"{path.name} line {number}"))
    return entries


def keys_of(request: Request) -> KeyStore:
    return request.app.state.keys


def presented_key(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials if credentials else None


def current_role(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Role | None:
    """The role of this request: admin when no keys are configured, else the presented key's (None: refused)."""
    keys = keys_of(request)
    if not keys.required:
        return "admin"
    return keys.role_of(presented_key(credentials))


def require_role(role: Role) -> Callable[..., Role]:
    """A FastAPI dependency that lets a request through when its key grants `role`, and returns its role.

    Missing or unknown key: 401 (with `WWW-Authenticate: Bearer`); a query key on an admin route: 403.
    """
    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Role:
        have = current_role(request, credentials)
        if have is None:
            if presented_key(credentials):
                raise Unauthorized("the API key is not valid")
            raise Unauthorized("an API key is required: send Authorization: Bearer <key>")
        if role not in _GRANTS[have]:
            raise Forbidden(f"this API key has the {have} role; this needs the {role} role")
        request.state.role = have
        return have

    dependency.__name__ = f"require_{role}"
    return dependency


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the service on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def anonymous_refusal(settings: Settings, host: str) -> str | None:
    """Why `reportqa serve` must not start on `host` with these settings, or None when it may."""
    if KeyStore.from_settings(settings).required or settings.allow_anonymous or is_loopback(host):
        return None
    return (
        f"refusing to serve {host} without API keys: everyone would have the admin role. "
        "Set REPORTQA_API_KEYS (e.g. 'k1:admin,k2:query') or REPORTQA_API_KEYS_FILE, "
        "or pass --allow-anonymous to accept that."
    )
