"""Passwords, API keys, browser sessions and what each role may do.

Passwords are Argon2id hashes (argon2-cffi). API keys and session tokens are 256-bit random
strings, so a plain SHA-256 of them is enough to store; the clear value is shown only once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["technician", "clinician", "admin"]
ROLES: tuple[Role, ...] = ("technician", "clinician", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "technician": frozenset({"upload", "status"}),
    "clinician": frozenset({"upload", "status", "read", "overread"}),
    # an administrator manages the service and may look at a result, but does not sign reports
    "admin": frozenset({"upload", "status", "read", "admin"}),
}

KEY_PREFIX = "ek_"
_hasher = PasswordHasher()
#: verified against when the user does not exist, so a login takes as long either way
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, authenticated by key or by session."""

    user_id: int
    username: str
    role: str
    via: Literal["key", "session", "cli"]
    csrf_token: str | None = None

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> str | None:
    """Why ``password`` is refused, or None."""
    if len(password) < 10:
        return "passwords need at least 10 characters"
    return None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


class KeyedLocks:
    """One lock per key (a user name, say), kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (None, 0))
            lock = lock or threading.Lock()
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users = self._locks[key][1] - 1
                if users:
                    self._locks[key] = (lock, users)
                else:
                    del self._locks[key]
