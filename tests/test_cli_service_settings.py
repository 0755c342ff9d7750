"""One settings source for every service command: the README's clinic recipe works as written,
``--data-dir``/``--db`` and ``ECGLENS_DATA_DIR``/``ECGLENS_DB_URL`` mean the same to each
command, and ``serve`` warns when its database has no admin."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.cli import run_main
from tests.helpers.serve_process import free_port

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "a long enough password"


def _recipe() -> list[list[str]]:
    """The ``ecglens`` commands of the README's "Running it for a clinic" block, as argv."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Running it for a clinic"):]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None
    cmds = [shlex.split(line, comments=True) for line in block.group(1).splitlines()]
    return [c for c in cmds if c and c[0] == "ecglens"]


def test_readme_clinic_recipe_works_as_written(tmp_path: Path, formats_dir: Path) -> None:
    """Each command exactly as the README gives it (with /srv/ecglens moved under tmp, and
    --password-stdin instead of the terminal prompt), run from an unrelated working folder:
    the users and the key it creates are the ones the server it starts knows."""
    store = tmp_path / "srv-ecglens"
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("ECGLENS_DATA_DIR", "ECGLENS_DB_URL")} | {"OMP_NUM_THREADS": "1"}
    cmds = [[a.replace("/srv/ecglens", str(store)) for a in c] for c in _recipe()]
    assert [c[1] for c in cmds] == ["users", "users", "users", "keys", "serve"]
    key = ""
    for c in cmds[:-1]:
        prompt = c[1:3] == ["users", "add"] and "--no-password" not in c
        argv = [sys.executable, "-m", "ecglens", *c[1:], *(["--password-stdin"] * prompt)]
        r = subprocess.run(argv, input=f"{PASSWORD}\n" if prompt else "", text=True, cwd=cwd,
                           env=env, capture_output=True, timeout=120, check=False)
        assert r.returncode == 0, (c, r.stderr)
        if c[1] == "keys":
            key = r.stdout.strip()
    assert key.startswith("ek_")
    assert not (cwd / "ecglens-data").exists()  # nothing went to a default folder

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ecglens", *cmds[-1][1:], "--port",
                                 str(port), "--workers", "0"], cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not answer in time"
            time.sleep(0.2)
        for user in ("admin", "dr-lee"):
            r = httpx.post(f"{url}/auth/login", json={"username": user, "password": PASSWORD})
            assert r.status_code == 200, (user, r.text)
        cart = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{url}/auth/me", headers=cart).json()["username"] == "cart-3"
        aecg = formats_dir / "hl7-aecg" / "minimum_aecg.xml"
        r = httpx.post(f"{url}/ecgs", files={"file": (aecg.name, aecg.read_bytes())},
                       headers=cart)
        assert r.status_code == 201, r.text
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
    started = log.read_text()
    assert f"serving data folder {store.resolve()}" in started
    assert "WARNING" not in started


def test_serve_warns_when_its_database_has_no_admin(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append(app))
    data = tmp_path / "data"
    r = run_main(capsys, "serve", "--data-dir", str(data), "--workers", "0")
    assert r.returncode == 0 and started
    warning = [ln for ln in r.stderr.splitlines() if "WARNING" in ln]
    assert len(warning) == 1 and "no admin user" in warning[0]
    assert f"--data-dir {data.resolve()}" in warning[0]  # the command to run, for this store
    # after the admin exists the warning is gone
    assert run_main(capsys, "users", "add", "boss", "--role", "admin", "--no-password",
                    "--data-dir", str(data)).returncode == 0
    r = run_main(capsys, "serve", "--data-dir", str(data), "--workers", "0")
    assert r.returncode == 0 and "WARNING" not in r.stderr


def test_environment_and_flags_name_the_same_store_for_every_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    data = tmp_path / "by-env"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ECGLENS_DATA_DIR", str(data))
    monkeypatch.delenv("ECGLENS_DB_URL", raising=False)
    assert run_main(capsys, "users", "add", "cart", "--role", "technician",
                    "--no-password").returncode == 0
    assert run_main(capsys, "keys", "create", "cart", "--name", "c").returncode == 0
    monkeypatch.delenv("ECGLENS_DATA_DIR")
    flags = ["--data-dir", str(data)]
    users = json.loads(run_main(capsys, "users", "list", "--json", *flags).stdout)
    assert [u["username"] for u in users] == ["cart"]
    assert len(json.loads(run_main(capsys, "keys", "list", "--json", *flags).stdout)) == 1
    # ECGLENS_DB_URL is the database for all of them as well, whatever the data folder
    db = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("ECGLENS_DB_URL", db)
    assert run_main(capsys, "users", "add", "x", "--role", "technician", "--no-password",
                    *flags).returncode == 0
    monkeypatch.delenv("ECGLENS_DB_URL")
    users = json.loads(run_main(capsys, "users", "list", "--json", "--db", db,
                                "--data-dir", str(tmp_path / "other")).stdout)
    assert [u["username"] for u in users] == ["x"]
    # an empty variable is the default, not the current folder
    monkeypatch.setenv("ECGLENS_DATA_DIR", "")
    assert run_main(capsys, "db", "upgrade").returncode == 0
    assert (tmp_path / "ecglens-data" / "ecglens.db").exists()
    assert not (tmp_path / "ecglens.db").exists()
