"""Login throttling holds under concurrency: concurrent wrong passwords against a live server get
at most 5 password checks per user name, and at most 20 failed checks per client across names
— on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ecglens.serve import accounts, security
from ecglens.serve.app import create_app
from ecglens.serve.routes_admin import MAX_FAILED_LOGINS, MAX_FAILED_LOGINS_PER_CLIENT
from ecglens.serve.service import Service
from ecglens.serve.settings import Settings
from tests.helpers.serve_process import server_thread

PASSWORD = "correct horse battery"


class Live:
    def __init__(self, url: str, service: Service) -> None:
        self.url, self.service = url, service

    def actions(self, action: str) -> list[tuple[str, str | None]]:
        import sqlalchemy as sa

        with self.service.engine.connect() as c:
            return [(r[0], r[1]) for r in c.execute(sa.text(
                "SELECT actor, client FROM audit_events WHERE action = :a ORDER BY id"),
                {"a": action})]


@pytest.fixture
def live(db_url: str, tmp_path: Path) -> Iterator[Live]:
    """The app in a real uvicorn server (its own thread and event loop, a thread pool for the
    endpoints), so requests really overlap."""
    app = create_app(Settings(data_dir=tmp_path / "data", db_url=db_url), workers=0)
    with server_thread(app) as url:
        svc: Service = app.state.service
        with svc.session() as s:
            accounts.create_user(s, "clinician1", "clinician", PASSWORD)
        yield Live(url, svc)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the server checks (the server runs in this process)."""
    seen: list[str] = []
    real = security.verify_password

    def counting(stored: str | None, password: str) -> bool:
        seen.append(password)
        return real(stored, password)

    monkeypatch.setattr(security, "verify_password", counting)
    return seen


def _storm(url: str, bodies: list[dict[str, str]]) -> list[int]:
    """All bodies at once, one connection each, released together."""
    gate = threading.Barrier(len(bodies))

    def one(body: dict[str, str]) -> int:
        with httpx.Client(base_url=url, timeout=120) as c:
            gate.wait()
            return c.post("/api/v1/auth/login", json=body).status_code

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


def test_concurrent_wrong_passwords_get_five_checks(live: Live, checks: list[str]) -> None:
    codes = _storm(live.url, [{"username": "clinician1", "password": f"guess {i}"}
                              for i in range(40)])
    assert sorted(set(codes)) == [401, 429], codes
    assert codes.count(401) == MAX_FAILED_LOGINS == 5
    assert len(checks) == MAX_FAILED_LOGINS
    assert len(live.actions("auth.login_failed")) == MAX_FAILED_LOGINS
    assert len(live.actions("auth.login_locked")) == 40 - MAX_FAILED_LOGINS
    # locked: the right password is not even checked now
    r = httpx.post(live.url + "/api/v1/auth/login",
                   json={"username": "clinician1", "password": PASSWORD})
    assert r.status_code == 429 and len(checks) == MAX_FAILED_LOGINS


def test_one_client_gets_twenty_failed_checks_across_names(live: Live,
                                                           checks: list[str]) -> None:
    codes = _storm(live.url, [{"username": f"user{i}", "password": "guess"}
                              for i in range(30)])
    assert codes.count(401) == MAX_FAILED_LOGINS_PER_CLIENT == 20
    assert codes.count(429) == 30 - MAX_FAILED_LOGINS_PER_CLIENT
    assert len(checks) == MAX_FAILED_LOGINS_PER_CLIENT
    failed = live.actions("auth.login_failed")
    assert len(failed) == 20 and {c for _, c in failed} == {"127.0.0.1"}
    # the client is refused even for a name it has not tried, and a right password
    r = httpx.post(live.url + "/api/v1/auth/login",
                   json={"username": "clinician1", "password": PASSWORD})
    assert r.status_code == 429 and "address" in r.json()["detail"]


def test_right_passwords_are_not_throttled(live: Live, checks: list[str]) -> None:
    codes = _storm(live.url, [{"username": "clinician1", "password": PASSWORD}
                              for _ in range(12)])
    assert codes == [200] * 12  # successes are no failures, however many and however fast
    assert len(live.actions("auth.login")) == 12


def test_the_database_count_alone_holds(live: Live, checks: list[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the in-process lock, as for tries spread over several server processes: the
    count under the audit log's lock still lets no more than 5 checks through."""
    from contextlib import nullcontext

    from ecglens.serve import routes_admin

    monkeypatch.setattr(routes_admin._login_locks, "hold", lambda key: nullcontext())
    codes = _storm(live.url, [{"username": "clinician1", "password": f"guess {i}"}
                              for i in range(30)])
    assert codes.count(401) == len(checks) == MAX_FAILED_LOGINS
    assert codes.count(429) == 30 - MAX_FAILED_LOGINS
