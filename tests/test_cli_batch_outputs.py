"""Directory inputs: ``interpret`` keeps one report per record (the output mirrors the input
tree), and ``predict`` takes a directory like every other command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from ecglens.report.fhir import parse
from tests.helpers.cli import run_main


def _tree(tmp_path: Path, formats_dir: Path) -> Path:
    """in/a/ecg.xml and in/b/ecg.xml (the same real aECG twice, as two sites would name
    theirs), in/c/rec.xml and in/c/rec.scp (two records of one folder, one name), in/top.hea."""
    src = tmp_path / "in"
    aecg = formats_dir / "hl7-aecg" / "subject1_0.xml"
    for sub in ("a", "b"):
        (src / sub).mkdir(parents=True)
        shutil.copy(aecg, src / sub / "ecg.xml")
    (src / "c").mkdir()
    shutil.copy(formats_dir / "hl7-aecg" / "subject1_1.xml", src / "c" / "rec.xml")
    shutil.copy(formats_dir / "scp-ecg" / "ECG_20060620_112352_ANON000002.SCP",
                src / "c" / "rec.scp")
    for ext in (".hea", ".mat"):
        shutil.copy(formats_dir / "physionet-challenge" / f"E07500{ext}", src / f"top{ext}")
    (src / "top.hea").write_text((src / "top.hea").read_text().replace("E07500.mat", "top.mat"))
    return src


def test_interpret_directory_reports_mirror_the_input_tree(
        tmp_path: Path, formats_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _tree(tmp_path, formats_dir)
    pdf, fhir = tmp_path / "pdf", tmp_path / "fhir"
    r = run_main(capsys, "interpret", str(src), "--explain", "0", "--pdf", str(pdf),
                 "--fhir", str(fhir))
    assert r.returncode == 0, r.stderr
    expected = ["a/ecg", "b/ecg", "c/rec.scp", "c/rec.xml", "top"]
    got_pdf = sorted(str(p.relative_to(pdf).with_suffix("")) for p in pdf.rglob("*.pdf"))
    got_fhir = sorted(str(p.relative_to(fhir)).removesuffix(".fhir.json")
                      for p in fhir.rglob("*.fhir.json"))
    assert got_pdf == expected and got_fhir == expected  # one report per record, none lost
    for name in expected:
        assert PdfReader(str(pdf / f"{name}.pdf")).pages
        assert parse((fhir / f"{name}.fhir.json").read_text()).entry
    # the two copies of one file give the same report, each in its own folder
    assert (fhir / "a" / "ecg.fhir.json").read_text().count("DiagnosticReport") == \
        (fhir / "b" / "ecg.fhir.json").read_text().count("DiagnosticReport")


def test_predict_takes_a_directory(tmp_path: Path, formats_dir: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = _tree(tmp_path, formats_dir)
    shutil.rmtree(src / "c")
    shutil.copy(formats_dir / "philips-sierra" / "invalid-doc-type.xml", src / "bad.xml")
    r = run_main(capsys, "predict", str(src), "--json")
    assert r.returncode == 1, r.stderr  # one file failed; the others are still predicted
    out = json.loads(r.stdout)
    assert out["n_files"] == 4 and out["n_failed"] == 1
    assert sorted(p["file"] for p in out["predictions"]) == ["a/ecg.xml", "b/ecg.xml", "top.hea"]
    assert all(p["tasks"] and p["model"]["name"] for p in out["predictions"])
    a, b = (next(p for p in out["predictions"] if p["file"] == f) for f in ("a/ecg.xml",
                                                                            "b/ecg.xml"))
    assert a["tasks"] == b["tasks"]
    assert [Path(e["file"]).name for e in out["errors"]] == ["bad.xml"]
    assert "document type" in out["errors"][0]["error"]
    assert "Traceback" not in r.stderr and "bad.xml" in r.stderr

    r = run_main(capsys, "predict", str(src))
    rows = r.stdout.strip().splitlines()
    assert r.returncode == 1 and rows[0].startswith("file\t") and len(rows) == 1 + 4
    assert any(row.startswith("bad.xml\tERROR\t") for row in rows)
    assert r.stderr.strip().splitlines()[-1] == "ecglens: 3 of 4 files predicted, 1 failed"

    shutil.rmtree(src / "a")
    (src / "bad.xml").unlink()
    assert run_main(capsys, "predict", str(src), "--json").returncode == 0
    # one file as before: the prediction itself
    r = run_main(capsys, "predict", str(src / "top.hea"), "--json")
    assert r.returncode == 0 and "tasks" in json.loads(r.stdout)
