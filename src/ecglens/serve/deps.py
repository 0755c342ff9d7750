"""FastAPI dependencies: the service, who is calling, and whether they may."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from ecglens.serve import accounts
from ecglens.serve.security import Principal, same
from ecglens.serve.service import Service

SESSION_COOKIE = "ecglens_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def service(request: Request) -> Service:
    return request.app.state.service


def client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _unauthorized(why: str) -> HTTPException:
    return HTTPException(401, why, headers={"WWW-Authenticate": "Bearer"})


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


# declared so that the OpenAPI document (and its docs page) knows how to authenticate; the
# checks themselves are below
_bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer ek_…`")
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")


def principal(request: Request, svc: Annotated[Service, Depends(service)],
              _b: Annotated[object, Depends(_bearer)] = None,
              _k: Annotated[object, Depends(_key_header)] = None) -> Principal:
    """The caller, by API key or session cookie; 401 when neither is valid."""
    key = _presented_key(request)
    if key is not None:
        with svc.session() as s:
            who = accounts.principal_for_key(s, key)
        if who is None:
            raise _unauthorized("the API key is not valid (unknown or revoked)")
        return who
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with svc.session() as s:
            who = accounts.principal_for_session(s, token)
        if who is None:
            raise _unauthorized("the session has ended: log in again")
        # a cookie is sent by the browser whatever page asks; the token proves it is ours
        if request.method not in _SAFE_METHODS and not same(
                request.headers.get(CSRF_HEADER), who.csrf_token):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
        return who
    raise _unauthorized("authentication required: an API key or a login session")


def require(permission: str) -> Callable[..., Principal]:
    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.can(permission):
            raise HTTPException(403, f"the {who.role} role may not do this ({permission})")
        return who
    return check
