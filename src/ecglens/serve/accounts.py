"""Users, API keys and login sessions: shared by the API and the ``users``/``keys`` commands."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecglens.exceptions import AccountError
from ecglens.serve import security
from ecglens.serve.security import ROLES, Principal
from ecglens.serve.tables import ApiKey, LoginSession, User, utcnow


def create_user(s: Session, username: str, role: str, password: str | None) -> User:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if s.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} exists already")
    if password is not None:
        weak = security.check_password_strength(password)
        if weak:
            raise AccountError(weak)
    user = User(username=username, role=role,
                password_hash=security.hash_password(password) if password else None)
    s.add(user)
    s.flush()
    return user


def create_key(s: Session, username: str, name: str) -> tuple[ApiKey, str]:
    """A new key for ``username``; the clear key is returned once and never stored."""
    user = s.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise AccountError(f"no active user {username!r}: create it first (ecglens users add)")
    clear = security.new_api_key()
    key = ApiKey(user_id=user.id, name=name, prefix=clear[:10],
                 key_hash=security.token_hash(clear))
    s.add(key)
    s.flush()
    key.user = user
    return key, clear


def principal_for_key(s: Session, clear: str) -> Principal | None:
    row = s.execute(
        select(ApiKey, User).join(User, ApiKey.user_id == User.id)
        .where(ApiKey.key_hash == security.token_hash(clear), ApiKey.revoked_at.is_(None),
               User.active.is_(True))
    ).first()
    if row is None:
        return None
    _, user = row
    return Principal(user.id, user.username, user.role, "key")


def login(s: Session, username: str, password: str, hours: float) -> tuple[str, Principal] | None:
    """A new session token for the right password, or None (same cost either way)."""
    user = s.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if not security.verify_password(user.password_hash if user else None, password):
        return None
    assert user is not None
    token, csrf = security.new_token(), security.new_token()
    s.add(LoginSession(user_id=user.id, token_hash=security.token_hash(token), csrf_token=csrf,
                       expires_at=utcnow() + timedelta(hours=hours)))
    return token, Principal(user.id, user.username, user.role, "session", csrf)


def principal_for_session(s: Session, token: str) -> Principal | None:
    row = s.execute(
        select(LoginSession, User).join(User, LoginSession.user_id == User.id)
        .where(LoginSession.token_hash == security.token_hash(token),
               LoginSession.revoked.is_(False), LoginSession.expires_at > utcnow(),
               User.active.is_(True))
    ).first()
    if row is None:
        return None
    sess, user = row
    return Principal(user.id, user.username, user.role, "session", sess.csrf_token)


def logout(s: Session, token: str) -> None:
    sess = s.scalar(select(LoginSession).where(
        LoginSession.token_hash == security.token_hash(token)))
    if sess is not None:
        sess.revoked = True


def describe_update(username: str, *, role: str | None, active: bool | None,
                    password: str | None) -> str:
    """The audit detail of a user change; never the password itself."""
    what = [f"role={role}"] * (role is not None) + [f"active={active}"] * (active is not None) \
        + ["password"] * (password is not None)
    return f"{username}: {', '.join(what)}"


def update_user(s: Session, username: str, *, role: str | None = None,
                active: bool | None = None, password: str | None = None) -> User:
    """Change a user's role, activity or password. Disabling a user ends their sessions and
    stops their keys at once (both are checked against the user on every request)."""
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"no user {username!r}")
    if role is not None:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
        user.role = role
    if password is not None:
        weak = security.check_password_strength(password)
        if weak:
            raise AccountError(weak)
        user.password_hash = security.hash_password(password)
    if active is not None:
        user.active = active
    if password is not None or active is False:  # old sessions must not outlive the change
        for sess in s.scalars(select(LoginSession).where(LoginSession.user_id == user.id,
                                                         LoginSession.revoked.is_(False))):
            sess.revoked = True
    return user
