"""Kill the server with SIGKILL while uploads are in flight, then again and again while it
interprets one ECG: every acknowledged upload is still there after the restarts, once; each is
done or, the one killed repeatedly, failed as retryable (``interrupted``), and ``ecglens retry``
brings that one to done (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from ecglens.serve.worker import MAX_ATTEMPTS
from tests.helpers.serve_process import Server, cli

N_RECORDS = 36


def _records(ptbxl_dir: Path) -> list[list[Path]]:
    db = pd.read_csv(ptbxl_dir / "ptbxl_database.csv", usecols=["strat_fold", "filename_lr"])
    names = db[db.strat_fold == 9].filename_lr.head(N_RECORDS)
    return [[ptbxl_dir / f"{n}.hea", ptbxl_dir / f"{n}.dat"] for n in names]


def _upload(url: str, key: str, files: list[Path]) -> httpx.Response:
    parts = [("file", (p.name, p.read_bytes())) for p in files]
    return httpx.post(url + "/api/v1/ecgs", files=parts, timeout=30,
                      headers={"Authorization": f"Bearer {key}"})


def test_acknowledged_uploads_survive_sigkill(db_url: str, tmp_path: Path,
                                              ptbxl_dir: Path) -> None:
    server = Server(tmp_path / "data", db_url)
    cli("users", "add", "cart", "--role", "technician", "--no-password", *server.store_args())
    cli("users", "add", "doc", "--role", "clinician", "--no-password", *server.store_args())
    cart = cli("keys", "create", "cart", "--name", "cart", *server.store_args()).strip()
    doc = cli("keys", "create", "doc", "--name", "doc", *server.store_args()).strip()
    records = _records(ptbxl_dir)
    acked: dict[int, str] = {}  # record index -> sha256 the server acknowledged
    lock = threading.Lock()
    killed = threading.Event()

    def send(i: int) -> None:
        try:
            r = _upload(server.url, cart, records[i])
        except httpx.HTTPError:
            return  # no answer: not acknowledged
        if r.status_code in (200, 201):
            with lock:
                acked[i] = r.json()["sha256"]

    server.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(send, i) for i in range(N_RECORDS)]
            deadline = time.monotonic() + 60
            while len(acked) < N_RECORDS // 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            server.kill()
            killed.set()
            for f in futures:
                f.result()
        assert N_RECORDS // 3 <= len(acked) < N_RECORDS, "the kill came too late to test anything"

        server.start()
        h = {"Authorization": f"Bearer {doc}"}
        listed = httpx.get(server.url + "/api/v1/ecgs", params={"limit": 500}, headers=h).json()
        stored = {e["sha256"]: e for e in listed["items"]}
        assert set(acked.values()) <= set(stored), "an acknowledged upload was lost"
        assert len(stored) == listed["total"]

        # the carts retry everything; acknowledged ones come back as duplicates, same id
        for i in range(N_RECORDS):
            r = _upload(server.url, cart, records[i])
            assert r.status_code in (200, 201)
            if i in acked:
                assert r.status_code == 200 and r.json()["id"] == stored[acked[i]]["id"]

        # now kill it while it interprets: the oldest unfinished job is taken again at each
        # start, so the same ECG is interrupted MAX_ATTEMPTS times and is then given up (a kill
        # that lands just after a job finished hits the next one: one more round then)
        for _ in range(2 * MAX_ATTEMPTS):
            victim = _processing(server.url, h)
            server.kill()
            server.start()
            d = httpx.get(f"{server.url}/api/v1/ecgs/{victim}", headers=h).json()
            if d["status"] == "failed":
                break
        assert d["status"] == "failed" and "interrupted repeatedly" in d["error"]
        assert d["failure_kind"] == "interrupted" and d["retryable"] is True
        assert d["attempts"] == MAX_ATTEMPTS

        items = _settled(server.url, h)
        assert len(items) == N_RECORDS and len({e["sha256"] for e in items}) == N_RECORDS
        assert {e["sha256"] for e in items} >= set(acked.values())
        assert {e["id"]: e["status"] for e in items if e["status"] != "done"} == \
            {victim: "failed"}, [(e["id"], e["error"]) for e in items if e["status"] != "done"]
        # the same bytes again: the answer says the ECG can be retried
        again = _upload(server.url, cart, records[_index_of(items, victim, records)])
        assert again.status_code == 200 and again.json()["retryable"] is True

        # an operator queues it again beside the running server; its worker finishes it
        out = cli("retry", "--failed", "--json", *server.store_args())
        assert [(r["id"], r["status"]) for r in json.loads(out)] == [(victim, "queued")]
        items = _settled(server.url, h)
        assert [e["status"] for e in items] == ["done"] * N_RECORDS
        assert all(e["top_findings"] for e in items)
        assert not any((tmp_path / "data" / "spool").iterdir())
    finally:
        server.stop()


def _processing(url: str, h: dict[str, str], timeout: float = 60) -> int:
    """The id of the ECG the worker is interpreting, as soon as there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = httpx.get(url + "/api/v1/ecgs", params={"status": "processing"},
                          headers=h).json()["items"]
        if items:
            return int(items[0]["id"])
        time.sleep(0.02)
    raise AssertionError("no ECG was being interpreted")


def _settled(url: str, h: dict[str, str], timeout: float = 300) -> list[dict[str, Any]]:
    """The worklist once nothing is queued or processing any more."""
    deadline = time.monotonic() + timeout
    while True:
        items: list[dict[str, Any]] = httpx.get(url + "/api/v1/ecgs", params={"limit": 500},
                                                headers=h).json()["items"]
        if all(e["status"] in ("done", "failed") for e in items):
            return items
        assert time.monotonic() < deadline, "the queue did not drain in time"
        time.sleep(1)


def _index_of(items: list[dict[str, Any]], ecg_id: int, records: list[list[Path]]) -> int:
    """Which record an ECG was uploaded from (by its stored file name)."""
    name = next(e["filename"] for e in items if e["id"] == ecg_id)
    return next(i for i, files in enumerate(records) if files[0].name == name)


@pytest.fixture(autouse=True)
def _quiet_torch_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
