"""``ecglens measure``: the JSON contract, text output, directories, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from ecglens.cli import main

KEYS = {"heart_rate_bpm", "rr_ms", "p_duration_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms",
        "qtc_fridericia_ms", "qtc_framingham_ms", "qtc_hodges_ms", "p_axis_deg", "qrs_axis_deg",
        "t_axis_deg", "quality", "lead_reversal"}


def test_json_keys(ludb_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["measure", str(ludb_dir / "data" / "1.hea"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert KEYS <= set(out)
    assert isinstance(out["qrs_ms"], float)
    assert out["quality"]["verdict"] in {"acceptable", "limited", "unacceptable"}
    assert set(out["lead_reversal"]) >= {"suspected", "confidence", "scores"}


def test_pacing_is_reported(ludb_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # LUDB 45 is AV-sequentially paced (ludb.csv), LUDB 1 is not
    assert main(["measure", str(ludb_dir / "data" / "45.hea"), "--json"]) == 0
    paced = json.loads(capsys.readouterr().out)
    assert paced["pacing"]["paced"] is True
    assert any(t < -150 for t in paced["pacing"]["spikes_ms_from_r"])  # the atrial spike
    assert paced["pr_ms"] is None and "pacing" in paced["not_measured"]["pr_ms"]
    # the reversal models were fit on non-paced ECGs: no verdict, but the scores stay visible
    assert paced["lead_reversal"]["suspected"] is None
    assert "paced" in paced["lead_reversal"]["not_assessed"] and paced["lead_reversal"]["scores"]
    assert main(["measure", str(ludb_dir / "data" / "45.hea")]) == 0
    assert "pacemaker spikes at" in capsys.readouterr().out
    assert main(["measure", str(ludb_dir / "data" / "1.hea"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pacing"] == {"paced": False, "spikes_ms_from_r": []}


def test_text_output(formats_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    f = formats_dir / "physionet-challenge"
    first = min(f.glob("*.hea"))
    assert main(["measure", str(first)]) == 0
    out = capsys.readouterr().out
    assert "qrs_ms" in out and "quality" in out


def test_directory_with_a_bad_file(ludb_dir: Path, tmp_path: Path) -> None:
    for n in ("1", "2"):
        for ext in (".hea", ".dat"):
            shutil.copy(ludb_dir / "data" / f"{n}{ext}", tmp_path / f"{n}{ext}")
    (tmp_path / "junk.xml").write_text("<nothing/>")
    r = subprocess.run([sys.executable, "-m", "ecglens", "measure", str(tmp_path), "--json"],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 1  # one file failed
    out = json.loads(r.stdout)
    assert out["n_files"] == 3 and out["n_failed"] == 1
    assert all(KEYS <= set(rec) for rec in out["records"])
    assert "Traceback" not in r.stderr


def test_missing_file_is_one_line_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["measure", str(tmp_path / "nope.xml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err
