"""The clinic API, endpoint by endpoint and role by role, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from ecglens.interpret.labels import STATEMENTS
from ecglens.interpret.result import Interpretation
from ecglens.io import read
from tests.helpers.clinic import PASSWORD, Clinic, make_clinic


@pytest.fixture
def clinic(db_url: str, tmp_path: Path) -> Iterator[Clinic]:
    yield from make_clinic(db_url, tmp_path / "data")


@pytest.fixture
def challenge(formats_dir: Path) -> Path:
    return formats_dir / "physionet-challenge" / "E07500.hea"


@pytest.fixture
def aecg(formats_dir: Path) -> Path:
    return formats_dir / "hl7-aecg" / "subject1_0.xml"


# --- authentication ---------------------------------------------------------------------------

def test_health_is_open_and_everything_else_needs_authentication(clinic: Clinic) -> None:
    c = clinic.client
    assert c.get("/api/v1/health").json() == {"status": "ok"}
    spec = c.get("/api/v1/openapi.json").json()
    checked = 0
    for path, methods in spec["paths"].items():
        if path in ("/api/v1/health", "/api/v1/auth/login"):
            continue
        url = path.replace("{ecg_id}", "1").replace("{key_id}", "1")
        for method in methods:
            r = c.request(method.upper(), url)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
            checked += 1
    assert checked >= 18
    bad = c.get("/api/v1/version", headers={"Authorization": "Bearer ek_not-a-key"})
    assert bad.status_code == 401


def test_version_names_the_database(clinic: Clinic, db_url: str) -> None:
    v = clinic.client.get("/api/v1/version", headers=clinic.h("clinician")).json()
    assert v["database"] == sa.engine.make_url(db_url).get_backend_name()
    assert v["model"] == "ptbxl-fast" and v["schema_version"]


def test_security_headers_and_closed_cors(clinic: Clinic) -> None:
    r = clinic.client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in r.headers


def test_browser_session_needs_the_csrf_token(clinic: Clinic, aecg: Path) -> None:
    c = clinic.client
    assert c.post("/api/v1/auth/login", json={"username": "clinician1",
                                              "password": "wrong password"}).status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "clinician1", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["role"] == "clinician"
    csrf = r.json()["csrf_token"]
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert c.get("/api/v1/auth/me").json()["username"] == "clinician1"
    files = {"file": (aecg.name, aecg.read_bytes())}
    assert c.post("/api/v1/ecgs", files=files).status_code == 403  # no CSRF header
    r = c.post("/api/v1/ecgs", files=files, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    assert c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert c.get("/api/v1/auth/me").status_code == 401
    actions = [e["action"] for e in clinic.audit()]
    assert {"auth.login_failed", "auth.login", "ecg.upload", "auth.logout"} <= set(actions)


def test_repeated_failed_logins_lock_the_name(clinic: Clinic) -> None:
    c = clinic.client
    for _ in range(5):
        assert c.post("/api/v1/auth/login", json={"username": "clinician1",
                                                  "password": "guess"}).status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "clinician1", "password": PASSWORD})
    assert r.status_code == 429  # even the right password, until the window has passed
    assert c.post("/api/v1/auth/login", json={"username": "admin1",
                                              "password": PASSWORD}).status_code == 200
    assert "auth.login_locked" in {e["action"] for e in clinic.audit(actor="clinician1")}


def test_cors_only_for_named_origins(db_url: str, tmp_path: Path) -> None:
    for clinic in make_clinic(db_url, tmp_path / "data",
                               cors_origins=("https://ehr.example",)):
        ok = clinic.client.options("/api/v1/ecgs", headers={
            "Origin": "https://ehr.example", "Access-Control-Request-Method": "GET"})
        assert ok.headers["access-control-allow-origin"] == "https://ehr.example"
        other = clinic.client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


# --- upload -----------------------------------------------------------------------------------

def test_upload_is_idempotent_by_content(clinic: Clinic, challenge: Path) -> None:
    first = clinic.upload(challenge)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["duplicate"] is False and body["status"] == "queued"
    assert body["filename"] == "E07500.hea" and body["format"] == "wfdb"
    again = clinic.upload(challenge)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == body["id"]
    listed = clinic.client.get("/api/v1/ecgs", headers=clinic.h("clinician")).json()
    assert listed["total"] == 1
    assert [e["action"] for e in clinic.audit(ecg_id=body["id"])][:2] == [
        "ecg.upload_duplicate", "ecg.upload"]
    # a raw body works too, and is the same content only if the bytes are the same
    raw = challenge.with_suffix(".mat").read_bytes()
    r = clinic.client.post("/api/v1/ecgs", content=raw, params={"filename": "x.mat"},
                           headers=clinic.h("technician"))
    assert r.status_code == 415  # a lone MATLAB signal file is not an ECG record


def test_upload_refuses_junk_empty_and_oversized(db_url: str, tmp_path: Path,
                                                 formats_dir: Path) -> None:
    for clinic in make_clinic(db_url, tmp_path / "data", max_upload_mb=0.5):
        c, h = clinic.client, clinic.h("technician")
        r = c.post("/api/v1/ecgs", files={"file": ("notes.txt", b"hello, this is no ECG\n")},
                   headers=h)
        assert r.status_code == 415 and "not a supported ECG file" in r.json()["detail"]
        assert c.post("/api/v1/ecgs", files={"file": ("e.xml", b"")}, headers=h).status_code == 415
        big = b"<?xml version='1.0'?>" + b" " * (700 * 1024)
        assert c.post("/api/v1/ecgs", content=big, headers=h).status_code == 413
        assert c.post("/api/v1/ecgs", files={"file": ("b.xml", big)}, headers=h).status_code == 413
        # a name that tries to climb out of the store is reduced to a base name
        sierra = formats_dir / "philips-sierra" / "129DYPRG.XML"
        r = c.post("/api/v1/ecgs", files={"file": ("../../../etc/passwd", sierra.read_bytes())},
                   headers=h)
        assert r.status_code == 201 and r.json()["filename"] == "passwd"
        stored = list((tmp_path / "data" / "originals").rglob("passwd"))
        assert len(stored) == 1 and stored[0].read_bytes() == sierra.read_bytes()
        assert not any((tmp_path / "data" / "spool").iterdir())  # refused uploads left nothing


def test_hostile_xml_fails_with_a_reason_and_the_service_goes_on(clinic: Clinic,
                                                                 aecg: Path) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b'<AnnotatedECG xmlns="urn:hl7-org:v3">&lol2;</AnnotatedECG>')
    r = clinic.client.post("/api/v1/ecgs", files={"file": ("bomb.xml", bomb)},
                           headers=clinic.h("technician"))
    if r.status_code == 201:  # accepted by the sniffer: the job must fail, with the reason
        clinic.process()
        d = clinic.client.get(f"/api/v1/ecgs/{r.json()['id']}", headers=clinic.h("clinician"))
        assert d.json()["status"] == "failed" and d.json()["error"]
    else:
        assert r.status_code in (415, 422)
    assert clinic.upload(aecg).status_code == 201


# --- processing and results -------------------------------------------------------------------

def test_result_is_the_interpret_json_and_reports_download(clinic: Clinic, aecg: Path) -> None:
    from ecglens.interpret.pipeline import interpret
    from ecglens.models import load_predictor
    from ecglens.report.fhir import parse

    ecg_id = clinic.upload(aecg).json()["id"]
    assert clinic.process() == 1
    c, h = clinic.client, clinic.h("clinician")
    d = c.get(f"/api/v1/ecgs/{ecg_id}", headers=h).json()
    assert d["status"] == "done" and d["read"] is False
    result = Interpretation.model_validate(d["result"])
    direct = interpret(read(aecg), predictor=load_predictor("ptbxl-fast"), source=aecg)
    assert [f.code for f in result.findings] == [f.code for f in direct.findings]
    assert [f.probability for f in result.findings] == pytest.approx(
        [f.probability for f in direct.findings], abs=1e-6)
    assert result.measurements == direct.measurements
    assert result.patient.name is None  # results never carry identity
    # every statement of the 71 is explained; ecglens' measured ones (LAD, RAD) have no logit
    assert all(f.explanation is not None for f in result.findings if f.code in STATEMENTS)
    parts = result.findings[0].explanation.beat_parts
    assert list(parts) == ["P wave", "PR segment", "QRS complex", "ST segment", "T wave"]
    edges = [t for span in parts.values() for t in span]
    assert edges == sorted(edges) and parts["QRS complex"][0] < 0 < parts["QRS complex"][1]
    # the worklist shows the statements as printed: the first is the report's first
    assert [t["code"] for t in d["top_findings"]] == [f.code for f in result.findings[:4]]

    sig = c.get(f"/api/v1/ecgs/{ecg_id}/signal", headers=h).json()
    ecg = read(aecg)
    assert sig["leads"] == list(ecg.leads) and sig["fs"] == ecg.fs
    np.testing.assert_allclose(np.array(sig["data"]).T, ecg.signal, atol=1e-4)

    pdf = c.get(f"/api/v1/ecgs/{ecg_id}/report.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    png = c.get(f"/api/v1/ecgs/{ecg_id}/report.png", headers=h)
    assert png.content.startswith(b"\x89PNG")
    bundle = parse(c.get(f"/api/v1/ecgs/{ecg_id}/fhir", headers=h).text)
    assert bundle.type == "collection" or bundle.entry
    orig = c.get(f"/api/v1/ecgs/{ecg_id}/original", headers=h)
    assert orig.content == aecg.read_bytes()
    actions = {e["action"] for e in clinic.audit(ecg_id=ecg_id)}
    assert {"ecg.upload", "ecg.read", "ecg.signal", "ecg.report_pdf", "ecg.report_png",
            "ecg.fhir", "ecg.original"} <= actions


def test_unreadable_file_fails_with_its_reason(clinic: Clinic, formats_dir: Path) -> None:
    scp = (formats_dir / "scp-ecg" / "ECG_20060620_112352_ANON000002.SCP").read_bytes()
    r = clinic.client.post("/api/v1/ecgs", files={"file": ("cut.scp", scp[: len(scp) // 2])},
                           headers=clinic.h("technician"))
    # the upload is read before it is acknowledged: refused at the door, with the reason
    assert r.status_code in (415, 422), r.text
    assert "cannot be read" in r.json()["detail"] or "not a supported" in r.json()["detail"]
    assert "/" not in r.json()["detail"].split(":", 1)[1][:40]  # the storage path is not shown
    assert clinic.client.get("/api/v1/ecgs", headers=clinic.h("clinician")).json()["total"] == 0


def test_worklist_filters(clinic: Clinic, formats_dir: Path) -> None:
    files = [formats_dir / "physionet-challenge" / f"E0750{i}.hea" for i in range(4)]
    files.append(formats_dir / "hl7-aecg" / "minimum_aecg.xml")  # too short: abstains
    ids = [clinic.upload(f).json()["id"] for f in files]
    c, h = clinic.client, clinic.h("clinician")
    assert c.get("/api/v1/ecgs", params={"status": "queued"}, headers=h).json()["total"] == 5
    clinic.process()
    items = c.get("/api/v1/ecgs", headers=h).json()["items"]
    assert [i["id"] for i in items] == sorted(ids, reverse=True)  # newest first
    abnormal = {i["id"] for i in items if i["abnormal"]}
    # the flag is the overall line's: each ECG's stored result says "abnormal" exactly then
    for i in items:
        summary = c.get(f"/api/v1/ecgs/{i['id']}", headers=h).json()["result"]["summary"]
        assert i["abnormal"] == (summary == "abnormal"), (i["id"], summary)
    problem = {i["id"] for i in items if i["quality_problem"]}
    got = c.get("/api/v1/ecgs", params={"abnormal": True}, headers=h).json()
    assert {i["id"] for i in got["items"]} == abnormal
    got = c.get("/api/v1/ecgs", params={"quality_problem": True}, headers=h).json()
    assert {i["id"] for i in got["items"]} == problem and ids[4] in problem
    page = c.get("/api/v1/ecgs", params={"limit": 2, "offset": 1}, headers=h).json()
    assert page["total"] == 5 and [i["id"] for i in page["items"]] == [items[1]["id"],
                                                                        items[2]["id"]]
    later = c.get("/api/v1/ecgs", params={"since": "2100-01-01T00:00:00Z"}, headers=h).json()
    assert later["total"] == 0
    # technicians see status and signal quality (to record again at once), not results
    tech = c.get("/api/v1/ecgs", headers=clinic.h("technician")).json()["items"]
    assert all(i["top_findings"] is None and i["abnormal"] is None for i in tech)
    assert [i["quality"] for i in tech] == [i["quality"] for i in items]


# --- roles and overread -----------------------------------------------------------------------

def test_roles(clinic: Clinic, aecg: Path) -> None:
    ecg_id = clinic.upload(aecg).json()["id"]
    clinic.process()
    c = clinic.client
    overread = {"decisions": [], "added": [{"text": "sinus rhythm"}], "comment": "", "sign": True}
    tech, clin, admin = clinic.h("technician"), clinic.h("clinician"), clinic.h("admin")
    d = c.get(f"/api/v1/ecgs/{ecg_id}", headers=tech).json()
    assert d["status"] == "done" and d["result"] is None and d["overreads"] is None
    for path in ("signal", "report.pdf", "fhir", "original", "overreads"):
        assert c.get(f"/api/v1/ecgs/{ecg_id}/{path}", headers=tech).status_code == 403
    assert c.post(f"/api/v1/ecgs/{ecg_id}/overreads", json=overread,
                  headers=tech).status_code == 403
    assert c.post(f"/api/v1/ecgs/{ecg_id}/overreads", json=overread,
                  headers=admin).status_code == 403
    for path in ("users", "keys", "audit"):
        assert c.get(f"/api/v1/{path}", headers=clin).status_code == 403
        assert c.get(f"/api/v1/{path}", headers=tech).status_code == 403
        assert c.get(f"/api/v1/{path}", headers=admin).status_code == 200
    assert c.post(f"/api/v1/ecgs/{ecg_id}/overreads", json=overread,
                  headers=clin).status_code == 201


def test_overread(clinic: Clinic, aecg: Path) -> None:
    ecg_id = clinic.upload(aecg).json()["id"]
    clinic.process()
    c, h = clinic.client, clinic.h("clinician")
    codes = [f["code"] for f in c.get(f"/api/v1/ecgs/{ecg_id}", headers=h).json()["result"]
             ["findings"]]
    assert codes
    bad = {"decisions": [{"code": "NOT_A_FINDING", "decision": "accept"}]}
    assert c.post(f"/api/v1/ecgs/{ecg_id}/overreads", json=bad, headers=h).status_code == 422
    draft = {"decisions": [{"code": codes[0], "decision": "accept"}], "comment": "draft"}
    assert c.post(f"/api/v1/ecgs/{ecg_id}/overreads", json=draft, headers=h).status_code == 201
    assert c.get("/api/v1/ecgs", params={"unread": True}, headers=h).json()["total"] == 1
    signed = {
        "decisions": [{"code": codes[0], "decision": "edit", "label": "edited statement"}]
        + [{"code": x, "decision": "reject"} for x in codes[1:]],
        "added": [{"code": "LVH", "text": "left ventricular hypertrophy by voltage"}],
        "comment": "compared with previous tracing", "sign": True,
    }
    r = c.post(f"/api/v1/ecgs/{ecg_id}/overreads", json=signed, headers=h)
    assert r.status_code == 201 and r.json()["signed"] is True
    assert r.json()["author"] == "clinician1"
    assert c.get("/api/v1/ecgs", params={"unread": True}, headers=h).json()["total"] == 0
    listed = c.get(f"/api/v1/ecgs/{ecg_id}/overreads", headers=h).json()
    assert [o["signed"] for o in listed] == [True, False]
    assert listed[0]["decisions"][0]["label"] == "edited statement"
    d = c.get(f"/api/v1/ecgs/{ecg_id}", headers=h).json()
    assert d["read"] is True and d["signed"] is True
    assert {e["action"] for e in clinic.audit(ecg_id=ecg_id)} >= {"overread.draft",
                                                                  "overread.sign"}


def test_overread_before_processing_is_refused(clinic: Clinic, aecg: Path) -> None:
    ecg_id = clinic.upload(aecg).json()["id"]
    r = clinic.client.post(f"/api/v1/ecgs/{ecg_id}/overreads", json={"sign": True},
                           headers=clinic.h("clinician"))
    assert r.status_code == 409
    assert clinic.client.get("/api/v1/ecgs/999999", headers=clinic.h("clinician")).status_code \
        == 404


# --- administration and audit -----------------------------------------------------------------

def test_users_and_keys(clinic: Clinic, aecg: Path) -> None:
    c, admin = clinic.client, clinic.h("admin")
    r = c.post("/api/v1/users", json={"username": "cart3", "role": "technician"}, headers=admin)
    assert r.status_code == 201
    assert c.post("/api/v1/users", json={"username": "cart3", "role": "technician"},
                  headers=admin).status_code == 409
    assert c.post("/api/v1/users", json={"username": "weak", "role": "clinician",
                                         "password": "short"}, headers=admin).status_code == 422
    assert c.post("/api/v1/users", json={"username": "x", "role": "superuser"},
                  headers=admin).status_code == 422
    r = c.post("/api/v1/keys", json={"username": "cart3", "name": "cart 3"}, headers=admin)
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("ek_") and r.json()["prefix"] == key[:10]
    assert all("key" not in k for k in c.get("/api/v1/keys", headers=admin).json())
    cart = {"X-API-Key": key}
    files = {"file": (aecg.name, aecg.read_bytes())}
    assert c.post("/api/v1/ecgs", files=files, headers=cart).status_code == 201
    assert c.delete(f"/api/v1/keys/{r.json()['id']}", headers=admin).status_code == 204
    assert c.post("/api/v1/ecgs", files=files, headers=cart).status_code == 401
    actions = [e["action"] for e in clinic.audit()]
    assert {"user.create", "key.create", "key.revoke"} <= set(actions)
    upload = next(e for e in clinic.audit(action="ecg.upload"))
    assert upload["actor"] == "cart3" and upload["role"] == "technician"


def test_audit_log_is_append_only(clinic: Clinic, aecg: Path) -> None:
    clinic.upload(aecg)
    with clinic.service.engine.connect() as conn:
        for stmt in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), conn.begin():
                conn.execute(sa.text(stmt))
    assert clinic.audit(action="ecg.upload")[0]["actor"] == "technician1"


# --- privacy ----------------------------------------------------------------------------------

def test_deidentify_on_ingest_and_no_patient_data_in_logs(
        db_url: str, tmp_path: Path, aecg: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert b"Clark" in aecg.read_bytes()
    caplog.set_level(logging.DEBUG)
    for clinic in make_clinic(db_url, tmp_path / "data", deidentify=True):
        r = clinic.client.post("/api/v1/ecgs", content=aecg.read_bytes(),
                               params={"filename": "Clark_subject1.xml"},
                               headers=clinic.h("technician"))
        assert r.status_code == 201 and r.json()["deidentified"] is True
        assert r.json()["filename"] == "ecg.xml"  # file names often carry the patient's name
        clinic.process()
        h = clinic.h("clinician")
        orig = clinic.client.get(f"/api/v1/ecgs/{r.json()['id']}/original", headers=h).content
        assert b"Clark" not in orig and b"1953" not in orig
        assert read(aecg).signal.shape == (len(json.loads(clinic.client.get(
            f"/api/v1/ecgs/{r.json()['id']}/signal", headers=h).text)["data"][0]), 12)
        stored = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()
                          and "originals" in p.parts)
        assert b"Clark" not in stored
    server_log = "\n".join(r.getMessage() for r in caplog.records
                           if r.name.startswith(("ecglens", "uvicorn", "sqlalchemy", "alembic")))
    assert "Clark" not in server_log and "subject1" not in server_log
    assert "POST /api/v1/ecgs 201" in server_log  # the access line, without the query string


def test_interrupted_jobs_are_retaken_then_given_up(clinic: Clinic, aecg: Path) -> None:
    from ecglens.serve.tables import Ecg, Job
    from ecglens.serve.worker import MAX_ATTEMPTS, requeue_interrupted

    ecg_id = clinic.upload(aecg).json()["id"]
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with clinic.service.session() as s:  # a worker took it, then the process died
            job = s.query(Job).filter_by(ecg_id=ecg_id).one()
            job.state, job.attempts = "running", attempt
            s.get(Ecg, ecg_id).status = "processing"
        requeue_interrupted(clinic.service)
        d = clinic.client.get(f"/api/v1/ecgs/{ecg_id}", headers=clinic.h("clinician")).json()
        if attempt < MAX_ATTEMPTS:
            assert d["status"] == "queued"
    assert d["status"] == "failed" and "interrupted repeatedly" in d["error"]
    assert clinic.process() == 0


def test_api_docs_work_offline(clinic: Clinic) -> None:
    page = clinic.client.get("/api/docs")
    assert page.status_code == 200 and "cdn." not in page.text
    js = clinic.client.get("/api/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert "default-src 'self'" in clinic.client.get("/").headers["content-security-policy"]


def test_admin_changes_users(clinic: Clinic) -> None:
    c, admin = clinic.client, clinic.h("admin")
    r = c.post("/api/v1/auth/login", json={"username": "clinician1", "password": PASSWORD})
    assert r.status_code == 200
    assert c.get("/api/v1/auth/me").status_code == 200
    new_pw = "a brand new password"
    r = c.patch("/api/v1/users/clinician1", json={"password": new_pw}, headers=admin)
    assert r.status_code == 200
    assert c.get("/api/v1/auth/me").status_code == 401  # the old session ended with the change
    assert c.post("/api/v1/auth/login", json={"username": "clinician1",
                                              "password": new_pw}).status_code == 200
    r = c.patch("/api/v1/users/clinician1", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert c.get("/api/v1/auth/me").status_code == 401
    assert c.get("/api/v1/version", headers=clinic.h("clinician")).status_code == 401  # key too
    assert c.patch("/api/v1/users/admin1", json={"active": False},
                   headers=admin).status_code == 409  # not oneself
    assert c.patch("/api/v1/users/nobody", json={"active": True}, headers=admin).status_code \
        == 404
    assert c.patch("/api/v1/users/technician1", json={"role": "clinician"},
                   headers=clinic.h("clinician")).status_code == 401
    c.patch("/api/v1/users/technician1", json={"role": "clinician"}, headers=admin)
    assert c.get("/api/v1/ecgs/1/overreads", headers=clinic.h("technician")).status_code == 404
    events = clinic.audit(action="user.update")
    assert [e["detail"] for e in events] == ["technician1: role=clinician",
                                             "clinician1: active=False",
                                             "clinician1: password"]
    assert clinic.audit(since="2100-01-01T00:00:00Z") == []
