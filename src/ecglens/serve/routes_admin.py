"""``/api/v1``: health, version, login sessions, users, API keys and the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as FPath
from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session

from ecglens import __version__
from ecglens.exceptions import AccountError
from ecglens.interpret.result import SCHEMA_VERSION
from ecglens.measure.results import MEASUREMENT_REPORT_VERSION, MEASUREMENT_SPECS
from ecglens.serve import accounts, audit
from ecglens.serve.deps import SESSION_COOKIE, client, principal, require, service
from ecglens.serve.routes_ecgs import MAX_ID
from ecglens.serve.schemas import (
    AuditOut,
    KeyIn,
    KeyOut,
    LoginIn,
    Me,
    NewKey,
    UserIn,
    UserOut,
    UserPatch,
)
from ecglens.serve.security import KeyedLocks, Principal
from ecglens.serve.service import Service
from ecglens.serve.tables import ApiKey, AuditEvent, User, utcnow

router = APIRouter()
SvcDep = Annotated[Service, Depends(service)]
Admin = Annotated[Principal, Depends(require("admin"))]


@router.get("/health", tags=["service"])
def health(svc: SvcDep) -> dict[str, str]:
    """Liveness and database reachability; needs no authentication and says nothing more."""
    try:
        with svc.session() as s:
            s.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001
        raise HTTPException(503, "the database is not reachable") from None
    return {"status": "ok"}


@router.get("/version", tags=["service"])
def version(svc: SvcDep, who: Annotated[Principal, Depends(principal)]) -> dict[str, str]:
    return {"ecglens": __version__, "schema_version": SCHEMA_VERSION,
            "model": svc.settings.model, "database": svc.engine.dialect.name}


@router.get("/schema", tags=["service"])
def schema(who: Annotated[Principal, Depends(principal)]) -> dict[str, object]:
    """The result schemas' versions and the measurement fields with their labels, units and
    adult ranges: the viewer builds its measurement table from this list."""
    return {"schema_version": SCHEMA_VERSION,
            "measurement_report_version": MEASUREMENT_REPORT_VERSION,
            "measurements": [s.model_dump() for s in MEASUREMENT_SPECS]}


#: failed logins of one user name within the window before further tries are refused
MAX_FAILED_LOGINS = 5
#: failed logins from one client address, whatever the user names, within the window
MAX_FAILED_LOGINS_PER_CLIENT = 20
LOCKOUT = timedelta(minutes=15)
_login_locks = KeyedLocks()


def _failures(s: Session, who: ColumnElement[bool], since: datetime) -> int:
    """Password checks not ended by a successful login: failures, and checks under way."""
    def n(action: str) -> int:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action, who, AuditEvent.at > since)) or 0
    return max(0, n("auth.login_check") - n("auth.login"))


def _admit(s: Session, username: str, address: str | None) -> str | None:
    """Why this login may not check a password now, or None having counted it as a check.

    The count and the ``auth.login_check`` event are one transaction under the audit log's
    lock, so concurrent tries (in one process or several) are counted one after the other:
    at most 5 checks per name and 20 per address can be under way or failed in the window.
    """
    audit.take_lock(s)
    since = utcnow() - LOCKOUT
    why = by = None
    if _failures(s, AuditEvent.actor == username, since) >= MAX_FAILED_LOGINS:
        why, by = "too many failed logins for this user: try again in 15 minutes", "user"
    elif address and _failures(s, AuditEvent.client == address,
                               since) >= MAX_FAILED_LOGINS_PER_CLIENT:
        why, by = "too many failed logins from this address: try again in 15 minutes", "address"
    audit.record(s, username, "auth.login_locked" if why else "auth.login_check",
                 client=address, detail=by and f"by {by}")
    return why


@router.post("/auth/login", response_model=Me, tags=["auth"])
def login(body: LoginIn, request: Request, response: Response, svc: SvcDep) -> Me:
    """Start a browser session: an HttpOnly cookie plus a CSRF token to echo.

    After 5 failed tries for one user name, or 20 from one client address, in 15 minutes, that
    name or address is refused (429) until the window has passed; counted from the audit log,
    so it holds across restarts and across server processes.
    """
    address = client(request)
    # tries of one name in this process wait for each other, so a right password is not
    # refused for the other tries under way; across processes the count alone holds
    with _login_locks.hold(body.username[:64]):
        with svc.session() as s:
            why = _admit(s, body.username[:64], address and address[:64])
        if why:
            raise HTTPException(429, why)
        with svc.session() as s:
            got = accounts.login(s, body.username, body.password, svc.settings.session_hours)
            audit.record(s, body.username if got is None else got[1],
                         "auth.login" if got else "auth.login_failed", client=address)
    if got is None:
        raise HTTPException(401, "wrong user name or password")
    token, who = got
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=svc.settings.secure_cookies, path="/",
                        max_age=int(svc.settings.session_hours * 3600))
    return Me(username=who.username, role=who.role, csrf_token=who.csrf_token)


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(request: Request, response: Response, svc: SvcDep,
           who: Annotated[Principal, Depends(principal)]) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    with svc.session() as s:
        if token:
            accounts.logout(s, token)
        audit.record(s, who, "auth.logout", client=client(request))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=Me, tags=["auth"])
def me(who: Annotated[Principal, Depends(principal)]) -> Me:
    return Me(username=who.username, role=who.role, csrf_token=who.csrf_token)


def _user_out(u: User) -> UserOut:
    return UserOut(id=u.id, username=u.username, role=u.role, active=u.active,
                   created_at=u.created_at)


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def users(request: Request, svc: SvcDep, who: Admin) -> list[UserOut]:
    with svc.session() as s:
        audit.record(s, who, "user.list", client=client(request))
        return [_user_out(u) for u in s.scalars(select(User).order_by(User.id))]


@router.post("/users", status_code=201, response_model=UserOut, tags=["admin"])
def add_user(body: UserIn, request: Request, svc: SvcDep, who: Admin) -> UserOut:
    try:
        with svc.session() as s:
            user = accounts.create_user(s, body.username, body.role, body.password)
            audit.record(s, who, "user.create", detail=f"{user.username} ({user.role})",
                         client=client(request))
            return _user_out(user)
    except AccountError as exc:
        raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from None


@router.patch("/users/{username}", response_model=UserOut, tags=["admin"])
def change_user(username: Annotated[str, FPath(max_length=64)], body: UserPatch,
                request: Request, svc: SvcDep, who: Admin) -> UserOut:
    """Change role, disable/enable (ends the user's sessions; keys stop working), or set a
    new password (ends the sessions)."""
    if username == who.username and (body.active is False or body.role not in (None, "admin")):
        raise HTTPException(409, "an admin cannot disable or demote their own account")
    try:
        with svc.session() as s:
            user = accounts.update_user(s, username, role=body.role, active=body.active,
                                        password=body.password)
            audit.record(s, who, "user.update", client=client(request),
                         detail=accounts.describe_update(username, role=body.role,
                                                         active=body.active,
                                                         password=body.password))
            return _user_out(user)
    except AccountError as exc:
        raise HTTPException(404 if "no user" in str(exc) else 422, str(exc)) from None


def _key_out(k: ApiKey, username: str) -> KeyOut:
    return KeyOut(id=k.id, username=username, name=k.name, prefix=k.prefix,
                  created_at=k.created_at, revoked_at=k.revoked_at)


@router.get("/keys", response_model=list[KeyOut], tags=["admin"])
def keys(request: Request, svc: SvcDep, who: Admin) -> list[KeyOut]:
    with svc.session() as s:
        audit.record(s, who, "key.list", client=client(request))
        rows = s.execute(select(ApiKey, User.username).join(User, ApiKey.user_id == User.id)
                         .order_by(ApiKey.id)).all()
        return [_key_out(k, name) for k, name in rows]


@router.post("/keys", status_code=201, response_model=NewKey, tags=["admin"])
def add_key(body: KeyIn, request: Request, svc: SvcDep, who: Admin) -> NewKey:
    """A new API key; the response is the only place the key is ever shown."""
    try:
        with svc.session() as s:
            key, clear = accounts.create_key(s, body.username, body.name)
            audit.record(s, who, "key.create", detail=f"key {key.id} ({key.prefix}…, "
                         f"{key.name}) for {body.username}", client=client(request))
            return NewKey(**_key_out(key, body.username).model_dump(), key=clear)
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from None


@router.delete("/keys/{key_id}", status_code=204, tags=["admin"])
def revoke_key(key_id: Annotated[int, FPath(ge=1, le=MAX_ID)], request: Request, svc: SvcDep,
               who: Admin) -> Response:
    with svc.session() as s:
        key = s.get(ApiKey, key_id)
        if key is None:
            raise HTTPException(404, f"no API key {key_id}")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
        audit.record(s, who, "key.revoke", detail=f"key {key_id} ({key.name})",
                     client=client(request))
    return Response(status_code=204)


@router.get("/audit", response_model=list[AuditOut], tags=["admin"])
def audit_log(request: Request, svc: SvcDep, who: Admin,
              ecg_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
              actor: str | None = None, action: str | None = None,
              limit: Annotated[int, Query(ge=1, le=5000)] = 200,
              before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
              since: datetime | None = None, until: datetime | None = None) -> list[AuditOut]:
    """Newest first; page with ``before_id``; ``since``/``until`` bound the time."""
    q = select(AuditEvent)
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    if until is not None:
        q = q.where(AuditEvent.at < until)
    if ecg_id is not None:
        q = q.where(AuditEvent.ecg_id == ecg_id)
    if actor:
        q = q.where(AuditEvent.actor == actor)
    if action:
        q = q.where(AuditEvent.action == action)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    with svc.session() as s:
        rows = s.scalars(q.order_by(AuditEvent.id.desc()).limit(limit)).all()
        out = [AuditOut(id=r.id, at=r.at, actor=r.actor, role=r.role, action=r.action,
                        ecg_id=r.ecg_id, detail=r.detail, client=r.client) for r in rows]
        audit.record(s, who, "audit.read", client=client(request))
    return out
