"""The CLI contract: ``ecglens evaluate ... --json`` keys, ``ecglens predict FILE --json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecglens.cli import main

STORED = (Path(__file__).resolve().parents[1]
          / "src/ecglens/weights/ptbxl-ensemble/fold9_outputs.npz")


@pytest.mark.parametrize("task", ["rhythm", "age", "sex"])
def test_evaluate_json_keys(task: str, ptbxl_dir: Path, capsys) -> None:
    rc = main(["evaluate", str(ptbxl_dir), "--task", task, "--folds", "9", "--json",
               "--outputs", str(STORED), "--bootstrap", "20"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert {"task", "n_records", "auc_ci95", "ece"} <= set(res) and res["task"] == task
    if task == "age":
        assert 5.0 < res["mae_years"] < 7.5
    else:
        lo, hi = res["auc_ci95"]
        assert lo <= res["macro_auc"] <= hi and res["macro_auc"] > 0.93
        assert res["ece"] < 0.05


def test_evaluate_text_survives_groups_without_an_auc(ptbxl_dir: Path, capsys) -> None:
    # 60 records: some label and some age band have no positive, so no AUC there
    rc = main(["evaluate", str(ptbxl_dir), "--task", "form", "--folds", "9", "--outputs",
               str(STORED), "--bootstrap", "20", "--max-records", "60"])
    out = capsys.readouterr().out
    assert rc == 0 and out.startswith("form: macro AUC") and "no CI" in out


def test_evaluate_refuses_missing_fold(ptbxl_dir: Path, capsys) -> None:
    assert main(["evaluate", str(ptbxl_dir), "--task", "all", "--folds", "10"]) == 2
    assert "not available" in capsys.readouterr().err


def test_predict_json(ptbxl_dir: Path, capsys) -> None:
    assert main(["predict", str(ptbxl_dir / "records100/00000/00008_lr.hea"), "--json",
                 "--model", "ptbxl-ensemble"]) == 0  # not the default: the ensemble
    out = json.loads(capsys.readouterr().out)
    assert set(out["tasks"]) == {"all", "diagnostic", "subdiagnostic", "superdiagnostic",
                                 "form", "rhythm"}
    # nine networks and the form feature model's two files
    assert out["model"]["name"] == "ptbxl-ensemble" and len(out["model"]["weights_sha256"]) == 11
    assert 18 < out["age_years"] < 95 and 0 <= out["sex_female_probability"] <= 1
