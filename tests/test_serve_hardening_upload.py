"""Body limits hold while the body streams: a chunked upload (no Content-Length) far over
``--max-upload-mb`` is refused with 413 having read, and spooled, no more than the limit plus
the multipart slack — multipart and raw, through the ASGI app and through a real server — and
a request that is no upload is held to 1 MB the same way."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ecglens.serve import accounts
from ecglens.serve.app import MAX_BODY, UPLOAD_SLACK, create_app
from ecglens.serve.settings import Settings
from tests.helpers.serve_process import server_thread

MB = 1024 * 1024
CHUNK = 64 * 1024
BOUNDARY = "ecglens-test-boundary"
HEAD = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename=\"big.xml\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


class Spooled(SpooledTemporaryFile):  # type: ignore[type-arg]
    """Starlette's temporary file for form parts, counting what is written to it."""

    written = 0

    def write(self, s: Any) -> int:
        Spooled.written += len(s)
        return super().write(s)  # type: ignore[no-any-return]


@pytest.fixture
def spooled(monkeypatch: pytest.MonkeyPatch) -> type[Spooled]:
    import starlette.formparsers

    Spooled.written = 0
    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", Spooled)
    return Spooled


@contextmanager
def _clinic(db_url: str, data_dir: Path, max_upload_mb: float) -> Iterator[
        tuple[FastAPI, TestClient, str]]:
    app = create_app(Settings(data_dir=data_dir, db_url=db_url, max_upload_mb=max_upload_mb),
                     workers=0)
    with TestClient(app) as client:
        with app.state.service.session() as s:
            accounts.create_user(s, "tech1", "technician", None)
            key = accounts.create_key(s, "tech1", "test")[1]
        yield app, client, key


class Body:
    """``total`` bytes in 64 KiB chunks, made only when asked for; counts what was taken."""

    def __init__(self, total: int, head: bytes = b"", tail: bytes = b"") -> None:
        self.total, self.head, self.tail, self.taken = total, head, tail, 0

    def __iter__(self) -> Iterator[bytes]:
        if self.head:
            self.taken += len(self.head)
            yield self.head
        while self.taken < self.total:
            self.taken += CHUNK
            yield b"x" * CHUNK
        if self.tail:
            self.taken += len(self.tail)
            yield self.tail


def _asgi_post(app: FastAPI, client: TestClient, path: str, query: str,
               headers: dict[str, str], body: Body) -> int:
    """POST straight into the ASGI app, the body handed over chunk by chunk as a server does
    with Transfer-Encoding: chunked; returns the status."""
    chunks = iter(body)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query.encode(), "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    assert client.portal is not None
    client.portal.call(app, scope, receive, send)
    return int(next(m["status"] for m in sent if m["type"] == "http.response.start"))


@pytest.mark.parametrize("kind", ["multipart", "raw"])
def test_chunked_upload_over_the_limit_stops_at_the_limit(
        db_url: str, tmp_path: Path, spooled: type[Spooled], kind: str) -> None:
    limit = 1 * MB
    with _clinic(db_url, tmp_path / "data", 1) as (app, client, key):
        headers = {"Authorization": f"Bearer {key}", "Transfer-Encoding": "chunked"}
        if kind == "multipart":
            headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}"
            body, query = Body(64 * MB, HEAD, TAIL), ""
        else:
            headers["Content-Type"] = "application/octet-stream"
            body, query = Body(64 * MB), "filename=big.xml"
        status = _asgi_post(app, client, "/api/v1/ecgs", query, headers, body)
        assert status == 413
        # read: the budget and the one chunk that crossed it; the 64 MB were never asked for
        assert body.taken <= limit + UPLOAD_SLACK + CHUNK, body.taken
        assert spooled.written <= limit + UPLOAD_SLACK, spooled.written
        assert list((tmp_path / "data" / "spool").iterdir()) == []
        # the same route still takes an upload under the limit
        small = client.post("/api/v1/ecgs", files={"file": ("a.xml", b"<a/>" * 1000)},
                            headers={"Authorization": f"Bearer {key}"})
        assert small.status_code == 415  # read in full, then refused as no ECG: not 413


def test_a_body_that_is_no_upload_is_held_to_one_megabyte(db_url: str, tmp_path: Path,
                                                          spooled: type[Spooled]) -> None:
    with _clinic(db_url, tmp_path / "data", 50) as (app, client, _):
        body = Body(32 * MB, b'{"username": "tech1", "password": "', b'"}')
        status = _asgi_post(app, client, "/api/v1/auth/login", "",
                            {"Content-Type": "application/json",
                             "Transfer-Encoding": "chunked"}, body)
        assert status == 413
        assert body.taken <= MAX_BODY + CHUNK, body.taken
        declared = client.post("/api/v1/auth/login", content=b" " * (MAX_BODY + 1),
                               headers={"Content-Type": "application/json"})
        assert declared.status_code == 413
        assert declared.headers["x-content-type-options"] == "nosniff"


def test_real_server_refuses_a_300_mb_chunked_upload_early(tmp_path: Path,
                                                           spooled: type[Spooled]) -> None:
    """The review's case, over a socket: --max-upload-mb 5, 300 MB chunked multipart."""
    app = create_app(Settings(data_dir=tmp_path / "data", db_url=None, max_upload_mb=5),
                     workers=0)
    with server_thread(app) as url:
        with app.state.service.session() as s:
            accounts.create_user(s, "tech1", "technician", None)
            key = accounts.create_key(s, "tech1", "test")[1]
        body = Body(300 * MB, HEAD, TAIL)
        t0 = time.monotonic()
        r = httpx.post(url + "/api/v1/ecgs", content=iter(body), timeout=120, headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        took = time.monotonic() - t0
    assert r.status_code == 413 and "5 MB" in r.json()["detail"]
    assert "content-length" not in r.request.headers  # it really went chunked
    # what the server read is bounded by the budget; the client's generator ran a little
    # further only to fill the sockets' buffers before the server's answer ended it
    assert spooled.written <= 5 * MB + UPLOAD_SLACK
    assert body.taken < 5 * MB + 32 * MB, (body.taken, took)
    assert list((tmp_path / "data" / "spool").iterdir()) == []
