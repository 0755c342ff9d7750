"""Load test of ``ecglens serve``: N requests at concurrency C mixing uploads and reads.

Starts a real server (SQLite in a temporary data folder, or ``--db URL``), creates a
technician and a clinician with API keys, then runs two phases with the same client pool:

1. baseline: ``GET /api/v1/health`` (no database work beyond ``SELECT 1``), the floor;
2. the clinic mix: uploads of real PTB-XL records (new and repeated), worklist pages, ECG
   details with the full interpretation, signals, FHIR bundles and overreads.

Prints throughput, p50/p99 latency per request kind and overall, errors, and the mix's
throughput as a ratio of the baseline's. The worker interprets uploads meanwhile, as in a
clinic, and competes for the same CPU.

    python -m benchmarks.bench_serve [--requests 2000] [--concurrency 16] [--db URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd

from tests.helpers.serve_process import Server, cli

ROOT = Path(__file__).resolve().parents[1]

MIX = [("upload", 0.15), ("worklist", 0.25), ("detail", 0.25), ("signal", 0.15),
       ("fhir", 0.08), ("overread", 0.07), ("version", 0.05)]


def _records(ptbxl: Path, n: int) -> list[list[tuple[str, bytes]]]:
    db = pd.read_csv(ptbxl / "ptbxl_database.csv", usecols=["strat_fold", "filename_lr"])
    names = db[db.strat_fold == 9].filename_lr.head(n)
    return [[(Path(f"{nm}{ext}").name, (ptbxl / f"{nm}{ext}").read_bytes())
             for ext in (".hea", ".dat")] for nm in names]


class Load:
    def __init__(self, url: str, cart: str, doc: str, records: list[list[tuple[str, bytes]]],
                 seed: int) -> None:
        self.url, self.records = url, records
        self.cart = {"Authorization": f"Bearer {cart}"}
        self.doc = {"Authorization": f"Bearer {doc}"}
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.done_ids: list[int] = []
        self.all_ids: list[int] = []
        self.local = threading.local()

    def client(self) -> httpx.Client:
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = httpx.Client(base_url=self.url, timeout=60)
        return c

    def refresh_ids(self) -> None:
        items = self.client().get("/api/v1/ecgs", params={"limit": 500},
                                  headers=self.doc).json()["items"]
        with self.lock:
            self.all_ids = [e["id"] for e in items]
            self.done_ids = [e["id"] for e in items if e["status"] == "done"]

    def pick(self, done: bool = True) -> int | None:
        with self.lock:
            ids = self.done_ids if done else self.all_ids
            return self.rng.choice(ids) if ids else None

    def one(self, kind: str) -> tuple[str, float, int]:
        c = self.client()
        t0 = time.perf_counter()
        if kind == "health":
            r = c.get("/api/v1/health")
        elif kind == "upload":
            with self.lock:
                rec = self.rng.choice(self.records)
            r = c.post("/api/v1/ecgs", files=[("file", f) for f in rec], headers=self.cart)
        elif kind == "worklist":
            r = c.get("/api/v1/ecgs", params={"limit": 50, "unread": True}, headers=self.doc)
        elif kind == "version":
            r = c.get("/api/v1/version", headers=self.doc)
        else:
            ecg_id = self.pick(done=kind in ("fhir", "overread"))
            if ecg_id is None:
                ecg_id = self.pick(done=False)
                kind = "detail"
            if ecg_id is None:
                r = c.get("/api/v1/ecgs", headers=self.doc)
                kind = "worklist"
            elif kind == "detail":
                r = c.get(f"/api/v1/ecgs/{ecg_id}", headers=self.doc)
            elif kind == "signal":
                r = c.get(f"/api/v1/ecgs/{ecg_id}/signal", headers=self.doc)
            elif kind == "fhir":
                r = c.get(f"/api/v1/ecgs/{ecg_id}/fhir", headers=self.doc)
            else:
                r = c.post(f"/api/v1/ecgs/{ecg_id}/overreads", headers=self.doc,
                           json={"added": [{"text": "load test statement"}], "sign": False})
        ms = (time.perf_counter() - t0) * 1000
        return kind, ms, r.status_code


def _run(load: Load, kinds: list[str],
         concurrency: int) -> tuple[float, list[tuple[str, float, int]]]:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        out = list(pool.map(load.one, kinds))
    return time.perf_counter() - t0, out


def _report(name: str, wall: float, out: list[tuple[str, float, int]]) -> float:
    by: dict[str, list[float]] = defaultdict(list)
    errors = [(k, s) for k, _, s in out if s >= 400]
    for k, ms, _ in out:
        by[k].append(ms)
    allms = sorted(ms for _, ms, _ in out)
    rps = len(out) / wall
    print(f"\n{name}: {len(out)} requests in {wall:.1f} s = {rps:.1f} req/s, "
          f"p50 {statistics.median(allms):.1f} ms, p99 {allms[int(0.99 * (len(allms) - 1))]:.1f} "
          "ms,"
          f" errors {len(errors)}")
    for k in sorted(by):
        v = sorted(by[k])
        print(f"  {k:<9} n={len(v):>5}  p50 {statistics.median(v):7.1f} ms  "
              f"p99 {v[int(0.99 * (len(v) - 1))]:7.1f} ms")
    if errors:
        print("  errors:", sorted(set(errors))[:10])
    return rps


@contextmanager
def _fresh_database(url: str | None) -> Iterator[str | None]:
    """A new, empty database on the server ``url`` names (dropped afterwards)."""
    if url is None or not url.startswith("postgresql"):
        yield url
        return
    import sqlalchemy as sa

    name = f"ecglens_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--db", default=None,
                    help="PostgreSQL server URL: a fresh database is made on it and dropped after "
                         "(default: SQLite in a temp folder)")
    ap.add_argument("--ptbxl", type=Path, default=ROOT / "cache" / "ptbxl")
    ap.add_argument("--records", type=int, default=120, help="distinct PTB-XL records to upload")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not (args.ptbxl / "ptbxl_database.csv").exists():
        sys.exit(f"PTB-XL not found at {args.ptbxl}: unpack it with "
                 "python3 ../shared/data/ptbxl/unpack.py cache/ptbxl")
    with tempfile.TemporaryDirectory() as tmp, _fresh_database(args.db) as db_url:
        server = Server(Path(tmp) / "data", db_url)
        cli("users", "add", "cart", "--role", "technician", "--no-password", *server.store_args())
        cli("users", "add", "doc", "--role", "clinician", "--no-password", *server.store_args())
        cart = cli("keys", "create", "cart", "--name", "load", *server.store_args()).strip()
        doc = cli("keys", "create", "doc", "--name", "load", *server.store_args()).strip()
        server.start()
        try:
            load = Load(server.url, cart, doc, _records(args.ptbxl, args.records), args.seed)
            for rec in load.records[:10]:  # a few ECGs to read from the start
                load.client().post("/api/v1/ecgs", files=[("file", f) for f in rec],
                                   headers=load.cart)
            time.sleep(3)
            load.refresh_ids()
            print(f"server {server.url} database {'sqlite' if db_url is None else 'postgresql'}; "
                  f"{args.requests} requests per phase at concurrency {args.concurrency}")
            base_wall, base = _run(load, ["health"] * args.requests, args.concurrency)
            base_rps = _report("baseline GET /health", base_wall, base)
            rng = random.Random(args.seed)
            kinds = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX],
                                k=args.requests)
            stop = threading.Event()

            def refresher() -> None:
                while not stop.wait(1.0):
                    load.refresh_ids()
            t = threading.Thread(target=refresher, daemon=True)
            t.start()
            t_mix, mix_start = time.perf_counter(), datetime.now(UTC)
            wall, out = _run(load, kinds, args.concurrency)
            stop.set()
            rps = _report("clinic mix", wall, out)
            while True:  # the queue the mix left behind
                items = load.client().get("/api/v1/ecgs", params={"limit": 500},
                                          headers=load.doc).json()["items"]
                if all(e["status"] in ("done", "failed") for e in items):
                    break
                time.sleep(0.5)
            drained = time.perf_counter() - t_mix
            done = sum(e["status"] == "done" and datetime.fromisoformat(e["processed_at"])
                       >= mix_start for e in items)
            print(f"\nworker: {done} ECGs interpreted (with explanations of every finding), "
                  f"{sum(e['status'] == 'failed' for e in items)} failed; queue empty "
                  f"{drained - wall:.1f} s after the mix ended "
                  f"({done / drained * 60:.0f} ECGs/min while serving the mix)")
            print(f"\nmix throughput = {rps / base_rps:.2f} x the health-check baseline")
            errors = sum(1 for _, _, s in out + base if s >= 400)
            return 1 if errors else 0
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
