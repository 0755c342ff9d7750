"""The audit log cannot be rewritten through any statement the database allows, and every row is
chained to the one before by SHA-256, so a rewrite past the triggers shows (``ecglens audit
verify``) — on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from ecglens.serve import audit, db
from ecglens.serve.service import Service
from ecglens.serve.settings import Settings
from tests.helpers.cli import run_main


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[Service]:
    service = Service.open(Settings(data_dir=tmp_path / "data", db_url=db_url))
    try:
        yield service
    finally:
        service.close()


def _add(svc: Service, n: int, actor: str = "tester") -> None:
    for i in range(n):
        with svc.session() as s:
            audit.record(s, actor, "test.event", ecg_id=i + 1, detail=f"event {i}",
                         client="127.0.0.1")


def _rows(svc: Service) -> list[tuple[object, ...]]:
    with svc.engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.text(
            "SELECT id, actor, action, detail, prev_hash, row_hash FROM audit_events "
            "ORDER BY id"))]


def _verify(svc: Service) -> audit.ChainCheck:
    with svc.session() as s:
        return audit.verify(s)


_COLUMNS = "(id, at, actor, action, prev_hash, row_hash)"
_VALUES = "(:id, CURRENT_TIMESTAMP, 'intruder', 'x', 'p', 'h')"


def test_no_statement_rewrites_the_audit_log(svc: Service) -> None:
    _add(svc, 3)
    before = _rows(svc)
    sqlite = svc.engine.dialect.name == "sqlite"
    attempts = [
        # SQLite's REPLACE deletes the old row without firing the DELETE trigger
        (f"INSERT OR REPLACE INTO audit_events {_COLUMNS} VALUES {_VALUES}", {"id": 2}),
        (f"REPLACE INTO audit_events {_COLUMNS} VALUES {_VALUES}", {"id": 1}),
    ] if sqlite else [("TRUNCATE audit_events", {})]
    attempts += [
        ((f"INSERT INTO audit_events {_COLUMNS} VALUES {_VALUES} "
          "ON CONFLICT (id) DO UPDATE SET actor = 'intruder'"), {"id": 2}),
        # a row slipped in before the last one, or with an id the database picks
        (("INSERT INTO audit_events (at, actor, action, prev_hash, row_hash) "
          "VALUES (CURRENT_TIMESTAMP, 'intruder', 'x', 'p', 'h')"), {}),
        ("UPDATE audit_events SET detail = 'edited'", {}),
        ("DELETE FROM audit_events WHERE id = 3", {}),
    ]
    for stmt, params in attempts:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), \
                svc.engine.begin() as conn:
            conn.execute(sa.text(stmt), params)
    assert _rows(svc) == before
    assert _verify(svc) == audit.ChainCheck(3, before[-1][5])


def test_concurrent_writers_in_two_processes_keep_one_chain(svc: Service, db_url: str) -> None:
    _add(svc, 1)
    other = subprocess.Popen([sys.executable, "-c", (
        "import sys\n"
        "from ecglens.serve import audit, db\n"
        "engine = db.make_engine(sys.argv[1])\n"
        "sessions = db.session_factory(engine)\n"
        "print('ready', flush=True)\n"
        "for i in range(40):\n"
        "    with sessions.begin() as s:\n"
        "        audit.record(s, 'other-process', 'test.event', detail=str(i))\n"
    ), db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline().strip() == "ready"

    def writer(k: int) -> None:
        for i in range(10):
            with svc.session() as s:
                audit.record(s, f"thread-{k}", "test.event", detail=f"{i}a")
                audit.record(s, f"thread-{k}", "test.event", detail=f"{i}b")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert other.wait(120) == 0, other.stderr.read() if other.stderr else ""
    check = _verify(svc)
    assert check.broken_id is None, check
    assert check.rows == 1 + 6 * 10 * 2 + 40
    rows = _rows(svc)
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    # each row's prev_hash is the row before's hash: one line, no fork
    assert all(r[4] == p[5] for p, r in itertools.pairwise(rows))


def _drop_guards(svc: Service) -> None:
    """What someone with the database's owner rights can do: switch the triggers off."""
    with svc.engine.begin() as c:
        if svc.engine.dialect.name == "postgresql":
            c.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            for name in ("no_update", "no_delete"):
                c.execute(sa.text(f"DROP TRIGGER audit_events_{name}"))


def test_verify_names_the_first_broken_row(svc: Service, db_url: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _add(svc, 6)
    store = ["--data-dir", str(svc.settings.data_dir), "--db", db_url]
    ok = run_main(capsys, "audit", "verify", *store)
    assert ok.returncode == 0 and ok.stdout.strip() == "6 rows, chain intact", ok
    head = ok.stderr.split("head ")[1].strip()
    assert run_main(capsys, "audit", "verify", "--contains", head, *store).returncode == 0
    _drop_guards(svc)
    with svc.engine.begin() as c:
        c.execute(sa.text("UPDATE audit_events SET detail = 'nothing happened' WHERE id = 3"))
    bad = run_main(capsys, "audit", "verify", *store)
    assert bad.returncode == 1
    assert "broken at row 3" in bad.stdout and "changed" in bad.stdout
    assert "2 rows before it intact" in bad.stdout
    with svc.engine.begin() as c:  # put it back: intact again
        c.execute(sa.text("UPDATE audit_events SET detail = 'event 2' WHERE id = 3"))
    assert run_main(capsys, "audit", "verify", *store).returncode == 0
    with svc.engine.begin() as c:
        c.execute(sa.text("DELETE FROM audit_events WHERE id = 4"))
    gone = run_main(capsys, "audit", "verify", *store)
    assert gone.returncode == 1 and "broken at row 5" in gone.stdout
    assert "removed" in gone.stdout


def test_a_rehashed_log_misses_the_noted_head(svc: Service, db_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The hash has no secret: someone past the triggers can rewrite a row and re-hash every
    row after it. A head noted earlier (elsewhere) shows it."""
    _add(svc, 4)
    store = ["--data-dir", str(svc.settings.data_dir), "--db", db_url]
    head = run_main(capsys, "audit", "verify", *store).stderr.split("head ")[1].strip()
    _drop_guards(svc)
    with svc.session() as s:  # rewrite row 2 and chain everything after it again
        rows = s.scalars(sa.select(audit.AuditEvent).order_by(audit.AuditEvent.id)).all()
        rows[1].detail = "nothing happened"
        prev = rows[0].row_hash
        for row in rows[1:]:
            row.prev_hash, row.row_hash = prev, audit._row_hash(row, prev)
            prev = row.row_hash
    plain = run_main(capsys, "audit", "verify", *store)
    assert plain.returncode == 0  # consistent among themselves...
    noted = run_main(capsys, "audit", "verify", "--contains", head, *store)
    assert noted.returncode == 1 and "rewritten" in noted.stdout and head in noted.stdout


def test_verify_needs_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run_main(capsys, "audit", "verify", "--data-dir", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "no database" in r.stderr
    assert not (tmp_path / "nowhere").exists()  # a check creates nothing


def test_migration_chains_the_rows_already_there(db_url: str, tmp_path: Path) -> None:
    engine = db.make_engine(db_url)
    try:
        cfg = db.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with engine.begin() as conn:
            for i in range(3):
                conn.execute(sa.text(
                    "INSERT INTO audit_events (at, actor, role, action, ecg_id, detail, client) "
                    "VALUES (:at, 'admin1', 'admin', 'ecg.read', :e, :d, '10.0.0.1')"),
                    {"at": f"2026-01-0{i + 1} 10:00:00.12345{i}", "e": i + 1,
                     "d": f"before the chain {i}"})
    finally:
        engine.dispose()
    service = Service.open(Settings(data_dir=tmp_path / "data", db_url=db_url))
    try:
        assert _verify(service).rows == 3
        _add(service, 2)
        check = _verify(service)
        assert check.broken_id is None and check.rows == 5
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), \
                service.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_events SET actor = 'x' WHERE id = 1"))
    finally:
        service.close()
