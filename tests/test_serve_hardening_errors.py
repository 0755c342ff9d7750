"""A refused request is not echoed back: validation errors (422) say where and what kind, never
the input — a password sent in the wrong shape does not come back in the response."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ecglens.serve import accounts
from ecglens.serve.app import create_app
from ecglens.serve.settings import Settings

SECRET = "Tr0ub4dor&3-the-real-one"


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(Settings(data_dir=tmp_path / "data", db_url=db_url), workers=0)
    with TestClient(app) as client:
        with app.state.service.session() as s:
            accounts.create_user(s, "admin1", "admin", "correct horse battery")
            key = accounts.create_key(s, "admin1", "test")[1]
        yield client, {"Authorization": f"Bearer {key}"}


def _shown(r: object) -> str:
    return r.text + " ".join(f"{k}: {v}" for k, v in r.headers.items())  # type: ignore[attr-defined]


@pytest.mark.parametrize("body", [
    {"username": "admin1", "password": [SECRET]},
    {"username": "admin1", "password": {"value": SECRET}},
    {"username": [SECRET], "password": "x"},
    {"username": "admin1", "password": SECRET * 100},  # over the 1024 characters
    {"username": "admin1", "password": "x", "password2": SECRET},  # an unknown field
    {"username": "admin1"},  # missing password: the whole body is the input
    {"username": SECRET, "password": SECRET, "extra": 1},
])
def test_login_errors_do_not_echo_the_password(
        api: tuple[TestClient, dict[str, str]], body: dict[str, object]) -> None:
    client, _ = api
    if "password" not in body:
        body = {**body, "note": SECRET}
    r = client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 422
    assert SECRET not in _shown(r)
    detail = r.json()["detail"]
    assert detail and all(set(e) == {"type", "loc", "msg"} for e in detail)
    assert all(e["loc"][0] == "body" for e in detail)


def test_broken_json_is_not_echoed(api: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = api
    r = client.post("/api/v1/auth/login", content=f'{{"username": "admin1", "password": '
                    f'"{SECRET}"'.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and SECRET not in _shown(r)
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_no_endpoint_echoes_input(api: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = api
    for method, path, kwargs in [
        ("POST", "/api/v1/users", {"json": {"username": "bob", "role": "clinician",
                                            "password": [SECRET]}}),
        ("PATCH", "/api/v1/users/admin1", {"json": {"password": {"p": SECRET}}}),
        ("POST", "/api/v1/keys", {"json": {"username": SECRET * 10, "name": "k"}}),
        ("GET", "/api/v1/ecgs", {"params": {"limit": SECRET}}),
        ("GET", "/api/v1/audit", {"params": {"since": SECRET}}),
    ]:
        r = client.request(method, path, headers=admin, **kwargs)
        assert r.status_code == 422, (path, r.status_code)
        assert SECRET not in _shown(r), path
