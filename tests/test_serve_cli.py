"""The service's commands: users, keys, import, db — as an IT team would run them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import run_cli


def test_users_keys_import(tmp_path: Path, formats_dir: Path) -> None:
    store = ["--data-dir", str(tmp_path / "data")]
    r = run_cli("db", "upgrade", *store)
    assert r.returncode == 0 and "up to date" in r.stderr
    r = run_cli("users", "add", "admin", "--role", "admin", "--password-stdin", *store,
                input="a long enough password\n")
    assert r.returncode == 0, r.stderr
    again = run_cli("users", "add", "admin", "--role", "admin", "--password-stdin", *store,
                    input="a long enough password\n")
    assert again.returncode == 2 and "exists already" in again.stderr
    assert "Traceback" not in again.stderr
    weak = run_cli("users", "add", "bob", "--role", "clinician", "--password-stdin", *store,
                   input="short\n")
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    no_tty = run_cli("users", "add", "bob", "--role", "clinician", *store, input="")
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    bad_role = run_cli("users", "add", "bob", "--role", "root", *store)
    assert bad_role.returncode == 2

    assert run_cli("users", "add", "cart", "--role", "technician", "--no-password",
                   *store).returncode == 0
    key = run_cli("keys", "create", "cart", "--name", "cart 3", *store)
    assert key.returncode == 0 and key.stdout.strip().startswith("ek_")
    listed = run_cli("keys", "list", "--json", *store)
    assert key.stdout.strip() not in listed.stdout  # the key itself is never shown again
    assert json.loads(listed.stdout)[0]["username"] == "cart"
    assert run_cli("keys", "create", "nobody", "--name", "x", *store).returncode == 2
    assert run_cli("keys", "revoke", "1", *store).returncode == 0
    assert json.loads(run_cli("keys", "list", "--json", *store).stdout)[0]["revoked"] is True
    assert run_cli("users", "set", "cart", "--disable", *store).returncode == 0
    assert run_cli("users", "set", "cart", *store).returncode == 2  # nothing to change
    assert run_cli("users", "set", "ghost", "--enable", *store).returncode == 2
    users = json.loads(run_cli("users", "list", "--json", *store).stdout)
    assert [u["active"] for u in users] == [True, False]
    assert run_cli("users", "set", "cart", "--enable", *store).returncode == 0
    assert [(u["username"], u["role"]) for u in users] == [("admin", "admin"),
                                                           ("cart", "technician")]

    src = formats_dir / "physionet-challenge"
    r = run_cli("import", str(src), "--json", *store)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == len(list(src.glob("*.hea"))) and {x["status"] for x in rows} == {"new"}
    assert "import" in r.stderr and f"{len(rows)} imported" in r.stderr
    r = run_cli("import", str(src), *store)
    assert f"0 imported, {len(rows)} already present" in r.stderr

    missing = run_cli("import", str(tmp_path / "nowhere"), *store)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_import_process_marks_unreadable_files_failed(tmp_path: Path, formats_dir: Path) -> None:
    from ecglens.serve.service import Service
    from ecglens.serve.settings import Settings
    from ecglens.serve.tables import Ecg

    store = ["--data-dir", str(tmp_path / "data")]
    r = run_cli("import", str(formats_dir / "philips-sierra"), "--process", *store)
    assert r.returncode == 0, r.stderr
    svc = Service.open(Settings(data_dir=tmp_path / "data"))
    with svc.session() as s:
        rows = {e.filename: (e.status, e.error) for e in s.query(Ecg)}
    svc.close()
    assert rows["129DYPRG.XML"][0] == "done"
    status, error = rows["invalid-doc-type.xml"]
    assert status == "failed" and "document type" in error
