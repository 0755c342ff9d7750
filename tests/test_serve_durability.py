"""Kill the server with SIGKILL while uploads are in flight: every acknowledged upload is still
there after the restart, gets processed, and nothing is duplicated (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest
from serve_process import Server, cli

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
        deadline = time.monotonic() + 240
        while True:
            items = httpx.get(server.url + "/api/v1/ecgs", params={"limit": 500},
                              headers=h).json()["items"]
            if all(e["status"] in ("done", "failed") for e in items) or \
                    time.monotonic() > deadline:
                break
            time.sleep(1)
        assert len(items) == N_RECORDS and len({e["sha256"] for e in items}) == N_RECORDS
        assert [e["status"] for e in items] == ["done"] * N_RECORDS
        assert all(e["top_findings"] for e in items)
        assert not any((tmp_path / "data" / "spool").iterdir())
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _quiet_torch_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
