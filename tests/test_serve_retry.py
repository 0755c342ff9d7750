"""Failed ECGs say why (bad file, interrupted, error); the retryable ones come back with
``POST /ecgs/{id}/retry``; files the reader refuses are refused at upload and never stored."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecglens.serve.ingest import ingest
from ecglens.serve.tables import Ecg, Job
from ecglens.serve.worker import MAX_ATTEMPTS, requeue_interrupted
from tests.helpers.clinic import Clinic, make_clinic


@pytest.fixture
def clinic(db_url: str, tmp_path: Path) -> Iterator[Clinic]:
    yield from make_clinic(db_url, tmp_path / "data")


@pytest.fixture
def aecg(formats_dir: Path) -> Path:
    return formats_dir / "hl7-aecg" / "subject1_0.xml"


def _interrupt(clinic: Clinic, ecg_id: int, times: int = MAX_ATTEMPTS) -> None:
    """What SIGKILL during interpretation leaves behind, ``times`` restarts in a row."""
    for attempt in range(1, times + 1):
        with clinic.service.session() as s:
            job = s.query(Job).filter_by(ecg_id=ecg_id).one()
            job.state, job.attempts = "running", attempt
            s.get(Ecg, ecg_id).status = "processing"
        requeue_interrupted(clinic.service)


def _detail(clinic: Clinic, ecg_id: int, role: str = "clinician") -> dict:  # type: ignore[type-arg]
    r = clinic.client.get(f"/api/v1/ecgs/{ecg_id}", headers=clinic.h(role))
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _store_rows(clinic: Clinic) -> int:
    with clinic.service.session() as s:
        return s.query(Ecg).count()


# --- defect 9: interrupted is retryable, a bad file is not --------------------------------------

def test_interrupted_ecg_is_retryable_and_retry_brings_it_to_done(clinic: Clinic,
                                                                  aecg: Path) -> None:
    ecg_id = clinic.upload(aecg).json()["id"]
    _interrupt(clinic, ecg_id)
    d = _detail(clinic, ecg_id)
    assert d["status"] == "failed" and "interrupted repeatedly" in d["error"]
    assert d["failure_kind"] == "interrupted" and d["retryable"] is True
    # the technician sees the state too (to know it is not their file's fault)
    tech = _detail(clinic, ecg_id, "technician")
    assert tech["failure_kind"] == "interrupted" and tech["retryable"] is True

    # sending the same bytes again says it can be retried, and does not hide the failure
    again = clinic.upload(aecg)
    assert again.status_code == 200 and again.json()["id"] == ecg_id
    assert again.json()["retryable"] is True and "/retry" in again.json()["hint"]

    c = clinic.client
    assert c.post(f"/api/v1/ecgs/{ecg_id}/retry", headers=clinic.h("technician")).status_code \
        == 403
    r = c.post(f"/api/v1/ecgs/{ecg_id}/retry", headers=clinic.h("clinician"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "queued" and r.json()["failure_kind"] is None
    assert r.json()["error"] is None and r.json()["retryable"] is False
    assert _detail(clinic, ecg_id)["attempts"] == 0  # a fresh set of attempts
    # queued: retrying again is a conflict, not a second job
    assert c.post(f"/api/v1/ecgs/{ecg_id}/retry", headers=clinic.h("admin")).status_code == 409
    assert clinic.process() == 1
    d = _detail(clinic, ecg_id)
    assert d["status"] == "done" and d["result"] is not None and d["failure_kind"] is None
    assert c.post(f"/api/v1/ecgs/{ecg_id}/retry", headers=clinic.h("admin")).status_code == 409
    retries = clinic.audit(action="ecg.retry")
    assert [(e["actor"], e["ecg_id"]) for e in retries] == [("clinician1", ecg_id)]
    assert c.post("/api/v1/ecgs/999999/retry", headers=clinic.h("admin")).status_code == 404


def test_admin_may_retry(clinic: Clinic, aecg: Path) -> None:
    ecg_id = clinic.upload(aecg).json()["id"]
    _interrupt(clinic, ecg_id)
    r = clinic.client.post(f"/api/v1/ecgs/{ecg_id}/retry", headers=clinic.h("admin"))
    assert r.status_code == 200 and r.json()["status"] == "queued"
    assert clinic.audit(action="ecg.retry")[0]["actor"] == "admin1"


def test_bad_file_is_permanent_and_not_retryable(clinic: Clinic, formats_dir: Path) -> None:
    """A file the reader refuses (reaching the queue through ``import``, which keeps such
    files) fails as ``bad_file``, and a retry is refused with 409."""
    bad = formats_dir / "philips-sierra" / "invalid-doc-type.xml"
    spool = clinic.service.store.new_spool()
    (spool / bad.name).write_bytes(bad.read_bytes())
    ecg_id = ingest(clinic.service, spool, "cli:test").ecg.id
    assert clinic.process() == 1
    d = _detail(clinic, ecg_id)
    assert d["status"] == "failed" and d["error"].startswith("cannot read the file")
    assert d["failure_kind"] == "bad_file" and d["retryable"] is False
    r = clinic.client.post(f"/api/v1/ecgs/{ecg_id}/retry", headers=clinic.h("clinician"))
    assert r.status_code == 409 and "cannot be read" in r.json()["detail"]
    assert clinic.audit(action="ecg.retry") == []


def test_unexpected_error_is_retried_then_retryable(clinic: Clinic, aecg: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from ecglens.serve.worker import Worker

    ecg_id = clinic.upload(aecg).json()["id"]

    def boom(self: Worker, ecg_id: int) -> dict:  # type: ignore[type-arg]
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as m:
        m.setattr(Worker, "_interpret", boom)
        assert clinic.process() == MAX_ATTEMPTS  # retried automatically, then given up
    d = _detail(clinic, ecg_id)
    assert d["status"] == "failed" and d["error"] == "internal error: RuntimeError"
    assert d["failure_kind"] == "error" and d["retryable"] is True
    assert clinic.client.post(f"/api/v1/ecgs/{ecg_id}/retry",
                              headers=clinic.h("clinician")).status_code == 200
    assert clinic.process() == 1
    assert _detail(clinic, ecg_id)["status"] == "done"


def test_worklist_items_carry_the_failure_kind(clinic: Clinic, aecg: Path) -> None:
    ecg_id = clinic.upload(aecg).json()["id"]
    _interrupt(clinic, ecg_id)
    items = clinic.client.get("/api/v1/ecgs", params={"status": "failed"},
                              headers=clinic.h("technician")).json()["items"]
    assert [(i["id"], i["failure_kind"], i["retryable"]) for i in items] == [
        (ecg_id, "interrupted", True)]


# --- defect 10: unreadable uploads are refused at the door ------------------------------------

def _lzw_bomb(n_codes: int) -> bytes:
    """10-bit LZW (Sierra XLI) codes for a run of zero bytes: each code past the table's fill
    stands for 768 bytes, so ``n_codes`` codes expand to about ``768 * n_codes`` bytes."""
    codes = [0, *range(256, 1023)] + [1022] * max(0, n_codes - 768)
    bits = "".join(f"{c:010b}" for c in codes)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _sierra_bomb(formats_dir: Path) -> bytes:
    """The real Sierra file with its waveform replaced by XLI chunks that expand to ~60 MB per
    lead (the header declares 11 s at 500 Hz: 11,000 bytes per lead)."""
    src = (formats_dir / "philips-sierra" / "129DYPRG.XML").read_text(encoding="utf-8")
    lzw = _lzw_bomb(80_000)
    chunk = len(lzw).to_bytes(4, "little") + b"\0\0" + b"\0\0" + lzw
    payload = base64.b64encode(chunk * 12).decode()
    out, n = re.subn(r"(<parsedwaveforms[^>]*>)[^<]*(</parsedwaveforms>)",
                     lambda m: m.group(1) + payload + m.group(2), src, count=1)
    assert n == 1
    return out.encode("utf-8")


def test_unreadable_uploads_are_refused_with_the_readers_reason(
        clinic: Clinic, formats_dir: Path, tmp_path: Path) -> None:
    c, h = clinic.client, clinic.h("technician")
    wfdb = formats_dir / "physionet-challenge" / "E07500.hea"
    # a WFDB header without its signal file
    r = c.post("/api/v1/ecgs", files=[("file", (wfdb.name, wfdb.read_bytes()))], headers=h)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("the file cannot be read") and "E07500.mat" in detail
    assert "\n" not in detail and str(tmp_path) not in detail  # one line, no storage path
    # a Sierra file of a foreign document type
    invalid = formats_dir / "philips-sierra" / "invalid-doc-type.xml"
    r = c.post("/api/v1/ecgs", files={"file": (invalid.name, invalid.read_bytes())}, headers=h)
    assert r.status_code == 422 and "document type 'MortaraECG'" in r.json()["detail"]
    # the same as a raw body
    r = c.post("/api/v1/ecgs", content=invalid.read_bytes(), params={"filename": "x.xml"},
               headers=h)
    assert r.status_code == 422
    # a decompression bomb: refused, quickly, without expanding it
    bomb = _sierra_bomb(formats_dir)
    r = c.post("/api/v1/ecgs", files={"file": ("bomb.xml", bomb)}, headers=h)
    assert r.status_code == 422 and "XLI" in r.json()["detail"]
    # ...also when its header declares an absurd duration (the 0.3.1 guard trusted it: 201, then
    # each GET of the signal took minutes and gigabytes)
    huge = re.sub(rb'durationperchannel="[0-9]+"', b'durationperchannel="2000000000"', bomb)
    assert huge != bomb
    started = time.monotonic()
    r = c.post("/api/v1/ecgs", files={"file": ("bomb.xml", huge)}, headers=h)
    assert r.status_code == 422 and time.monotonic() - started < 20
    # nothing of any of them was kept: no row, no original, no spool, no audit of an upload
    assert _store_rows(clinic) == 0
    data = tmp_path / "data"
    assert not [p for p in (data / "originals").rglob("*") if p.is_file()]
    assert not any((data / "spool").iterdir())
    assert clinic.audit(action="ecg.upload") == []
    # the good files still go in, and the header with its signal file is one readable record
    assert clinic.upload(wfdb).status_code == 201
    assert _store_rows(clinic) == 1


def test_malformed_upload_requests_are_400(clinic: Clinic, formats_dir: Path) -> None:
    c, h = clinic.client, clinic.h("technician")
    mat = (formats_dir / "physionet-challenge" / "E07500.mat").read_bytes()
    r = c.post("/api/v1/ecgs", files=[("file", ("a.mat", mat)), ("file", ("b.mat", mat))],
               headers=h)
    assert r.status_code == 400 and "WFDB header" in r.json()["detail"]
    r = c.post("/api/v1/ecgs", files={"other": ("a.xml", b"<x/>")}, headers=h)
    assert r.status_code == 400 and "'file'" in r.json()["detail"]
    r = c.post("/api/v1/ecgs", files=[("file", ("a.hea", b"x")), ("file", ("a.hea", b"y"))],
               headers=h)
    assert r.status_code == 400 and "two files named" in r.json()["detail"]
    assert _store_rows(clinic) == 0


def test_migration_gives_old_failures_their_kind(db_url: str) -> None:
    """ECGs that failed before ``failure_kind`` existed get it from their stored reason, so
    the interrupted ones become retryable."""
    import sqlalchemy as sa
    from alembic import command

    from ecglens.serve import db

    engine = db.make_engine(db_url)
    try:
        cfg = db.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
        interrupted = ("processing was interrupted repeatedly (the service stopped while "
                       "interpreting it)")
        reasons = {1: ("failed", interrupted),
                   2: ("failed", "cannot read the file: Philips XML declares document type"),
                   3: ("failed", "internal error: RuntimeError"),
                   4: ("done", None)}
        with engine.begin() as conn:
            for i, (status, error) in reasons.items():
                conn.execute(sa.text(
                    "INSERT INTO ecgs (id, sha256, filename, size_bytes, uploaded_at, "
                    "uploaded_by, deidentified, status, error, quality_problem, abnormal, "
                    "abstained, read, signed) VALUES (:i, :sha, 'f.xml', 1, :at, 'x', "
                    ":f, :status, :error, :f, :f, :f, :f, :f)"),
                    {"i": i, "sha": f"{i:064d}", "at": "2026-01-01 00:00:00", "f": False,
                     "status": status, "error": error})
        db.upgrade(engine)
        with engine.connect() as conn:
            kinds = dict(conn.execute(sa.text("SELECT id, failure_kind FROM ecgs")).all())
        assert kinds == {1: "interrupted", 2: "bad_file", 3: "error", 4: None}
    finally:
        engine.dispose()
