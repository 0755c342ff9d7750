"""Schemathesis against the live server's own OpenAPI document: whatever a client sends
(huge ids, odd dates, junk bodies, wrong types), the answer is never a server error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.serve_process import Server, cli

ST = shutil.which("st") or str(Path(sys.executable).with_name("st"))


@pytest.mark.skipif(not Path(ST).exists(), reason="schemathesis is not installed (test extra)")
def test_no_server_errors_for_any_request(tmp_path: Path, formats_dir: Path) -> None:
    server = Server(tmp_path / "data")
    store = server.store_args()
    keys = {}
    for role in ("admin", "clinician"):
        cli("users", "add", f"{role}1", "--role", role, "--no-password", *store)
        keys[role] = cli("keys", "create", f"{role}1", "--name", "fuzz", *store).strip()
    # a processed ECG, so that the per-ECG operations reach their real code
    cli("import", str(formats_dir / "hl7-aecg" / "subject1_0.xml"), "--process", *store)
    server.start()
    try:
        for role, key in keys.items():
            r = subprocess.run(
                [ST, "run", f"{server.url}/api/v1/openapi.json", "-H", "Authorization: Bearer "
                                                                       f"{key}",
                 "--checks", "not_a_server_error", "--max-examples", "8",
                 "--request-timeout", "60", "--seed", "1", "--no-color"],
                capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
                env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})
            assert r.returncode == 0, f"{role}: {r.stdout[-3000:]}"
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()
