"""``ecglens retry ID|--failed``: interrupted ECGs come back, bad files do not; audited."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from ecglens.serve.service import Service
from ecglens.serve.settings import Settings
from ecglens.serve.tables import AuditEvent, Ecg, Job
from ecglens.serve.worker import MAX_ATTEMPTS, requeue_interrupted
from tests.helpers.cli import run_main


def _interrupted(data: Path, name: str) -> int:
    """Mark the ECG of file ``name`` as a killed server leaves it, MAX_ATTEMPTS times."""
    svc = Service.open(Settings(data_dir=data))
    try:
        with svc.session() as s:
            ecg_id = s.query(Ecg).filter_by(filename=name).one().id
        for attempt in range(1, MAX_ATTEMPTS + 1):
            with svc.session() as s:
                job = s.query(Job).filter_by(ecg_id=ecg_id).one()
                job.state, job.attempts = "running", attempt
                s.get(Ecg, ecg_id).status = "processing"
            requeue_interrupted(svc)
        return ecg_id
    finally:
        svc.close()


def _rows(data: Path) -> dict[int, tuple[str, str | None]]:
    svc = Service.open(Settings(data_dir=data))
    try:
        with svc.session() as s:
            return {e.id: (e.status, e.failure_kind) for e in s.query(Ecg)}
    finally:
        svc.close()


def test_retry_brings_interrupted_ecgs_back_and_leaves_bad_files(
        tmp_path: Path, formats_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    store = ["--data-dir", str(data)]
    src = tmp_path / "in"
    src.mkdir()
    for f in (formats_dir / "hl7-aecg" / "minimum_aecg.xml",
              formats_dir / "philips-sierra" / "invalid-doc-type.xml"):
        (src / f.name).write_bytes(f.read_bytes())
    (src / "rec.xml").write_bytes((formats_dir / "hl7-aecg" / "subject1_0.xml").read_bytes())
    # import keeps unreadable files as failed rows (bad_file); the good ones are queued
    assert run_main(capsys, "import", str(src / "invalid-doc-type.xml"), "--process",
                    *store).returncode == 0
    assert run_main(capsys, "import", str(src), *store).returncode == 0
    good = _interrupted(data, "rec.xml")
    other = _interrupted(data, "minimum_aecg.xml")
    rows = _rows(data)
    bad = next(i for i, (_, kind) in rows.items() if kind == "bad_file")
    assert rows[good] == rows[other] == ("failed", "interrupted")

    r = run_main(capsys, "retry", *store)
    assert r.returncode == 2 and "--failed" in r.stderr  # ids or --failed
    r = run_main(capsys, "retry", str(bad), *store)
    assert r.returncode == 1 and "cannot be read" in r.stderr and "Traceback" not in r.stderr
    assert _rows(data)[bad] == ("failed", "bad_file")

    r = run_main(capsys, "retry", str(good), *store)  # queued for a server's worker
    assert r.returncode == 0, r.stderr
    assert "1 retried (queued for the server)" in r.stderr
    assert _rows(data)[good] == ("queued", None)
    r = run_main(capsys, "retry", str(good), "999", *store)
    assert r.returncode == 1 and "already queued" in r.stderr and "no ECG 999" in r.stderr

    r = run_main(capsys, "retry", "--failed", "--process", "--json", *store)
    assert r.returncode == 0, r.stderr
    out = {x["id"]: x["status"] for x in json.loads(r.stdout)}
    assert out == {other: "done"}  # the bad file is not a candidate
    assert _rows(data) == {bad: ("failed", "bad_file"), good: ("done", None),
                           other: ("done", None)}
    r = run_main(capsys, "retry", "--failed", *store)
    assert r.returncode == 0 and "nothing to retry" in r.stderr

    svc = Service.open(Settings(data_dir=data))
    try:
        with svc.session() as s:
            events = [(e.actor, e.ecg_id) for e in
                      s.query(AuditEvent).filter_by(action="ecg.retry").order_by(AuditEvent.id)]
    finally:
        svc.close()
    assert events == [(f"cli:{getpass.getuser()}", good), (f"cli:{getpass.getuser()}", other)]
