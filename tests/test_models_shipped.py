"""The shipped bundle: integrity, agreement with the model card, formats and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ecglens.data.labels import LABEL_TASKS
from ecglens.data.training_set import load_training_set
from ecglens.evaluate.run import evaluate_task
from ecglens.exceptions import ECGSignalError, ModelError
from ecglens.io import read
from ecglens.models import load_predictor
from ecglens.models.bundle import sha256_file
from ecglens.record import ECG

BUNDLE = Path(__file__).resolve().parents[1] / "src/ecglens/weights/ptbxl-ensemble"


@pytest.fixture(scope="module")
def predictor():
    return load_predictor(BUNDLE)  # the ensemble, not DEFAULT_MODEL


def test_interface(predictor) -> None:
    assert predictor.fs == 100.0 and len(predictor.leads) == 12
    assert set(predictor.tasks) == set(LABEL_TASKS) | {"age", "sex"}
    assert predictor.labels("superdiagnostic") == ["CD", "HYP", "MI", "NORM", "STTC"]
    assert len(predictor.labels("all")) == 71
    assert 0.05 < predictor.temperature("rhythm") < 20


def test_every_weight_file_matches_its_sha256(predictor) -> None:
    spec = json.loads((BUNDLE / "bundle.json").read_text())
    total = 0
    for m in spec["members"]:
        path = BUNDLE / f"{m['name']}.pt"
        assert sha256_file(path) == m["sha256"]
        assert json.loads((BUNDLE / f"{m['name']}.json").read_text())["sha256"] == m["sha256"]
        total += path.stat().st_size
    features = [f for t in spec["tasks"].values() if "feature_model" in t
                for f in (t["feature_model"]["gbm"], t["feature_model"]["mlp"])]
    for f in features:
        assert sha256_file(BUNDLE / f["file"]) == f["sha256"]
        total += (BUNDLE / f["file"]).stat().st_size
    assert total < 50e6
    assert set(predictor.info().weights_sha256.values()) == (
        {m["sha256"] for m in spec["members"]} | {f["sha256"] for f in features})


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(BUNDLE, copy, ignore=shutil.ignore_patterns("fold9_outputs.npz"))
    victim = next(copy.glob("resnet1d_wang*.pt"))
    data = bytearray(victim.read_bytes())
    data[-100] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256 does not match"):
        load_predictor(copy)


def test_cpu_outputs_reproduce_the_stored_fold9_outputs(predictor, ptbxl_dir: Path) -> None:
    """The networks run here give the outputs the model card was computed from (on a GPU)."""
    ref = np.load(BUNDLE / "fold9_outputs.npz")
    labels = {t: predictor.labels(t) for t in LABEL_TASKS}
    val = load_training_set(ptbxl_dir, folds=[9], label_names=labels, max_records=12, seed=5)
    rows = np.searchsorted(ref["ecg_ids"], val.ecg_ids)
    x = predictor.standardise(val.x)
    for name in predictor.task_members("superdiagnostic"):
        with torch.no_grad():
            out = predictor.member_outputs(name, x).numpy()
        stored = ref[name][rows].astype(np.float32)  # stored as float16
        assert np.all(np.abs(out - stored) <= 0.02 + 2e-3 * np.abs(stored)), name


def test_stored_outputs_give_the_model_card_numbers(predictor, ptbxl_dir: Path) -> None:
    card = json.loads((BUNDLE / "fold9_evaluation.json").read_text())
    ref = np.load(BUNDLE / "fold9_outputs.npz")
    labels = {t: predictor.labels(t) for t in LABEL_TASKS}
    val = load_training_set(ptbxl_dir, folds=[9], label_names=labels)
    assert np.array_equal(val.ecg_ids, ref["ecg_ids"])
    outs = {n: ref[n].astype(np.float32) for n in predictor.members}
    for task in ("superdiagnostic", "rhythm", "age", "sex"):
        got = evaluate_task(predictor, val, outs, task, n_boot=10)
        key = "mae_years" if task == "age" else "macro_auc"
        assert got[key] == pytest.approx(card[task][key], abs=2e-3), task
        assert got["n_records"] == card[task]["n_records"]


def _ptbxl_ecg(ptbxl_dir: Path) -> ECG:
    return read(ptbxl_dir / "records100/00000/00039_lr.hea")


def test_predict_same_from_wfdb_and_edf(predictor, ptbxl_dir: Path, tmp_path: Path) -> None:
    from ecglens.io.writers import write_edf

    ecg = _ptbxl_ecg(ptbxl_dir)
    edf = read(write_edf(ecg, tmp_path / "rec.edf"))
    a, b = predictor.predict(ecg), predictor.predict(edf)
    for task in a.tasks:
        pa, pb = a.tasks[task].probabilities, b.tasks[task].probabilities
        assert max(abs(pa[k] - pb[k]) for k in pa) < 1e-3, task
    assert abs(a.age_years - b.age_years) < 0.05
    # the record is coded SR, IMI, ABQRS, NST_, DIG, LNGQT: sinus rhythm and MI must show
    assert a.tasks["rhythm"].probabilities["SR"] > 0.5
    assert a.tasks["superdiagnostic"].probabilities["MI"] > 0.3


def test_eight_leads_other_rate_handled(predictor, formats_dir: Path) -> None:
    files = sorted((formats_dir / "scp-ecg").glob("*.SCP"))
    scp = read(files[1])  # 8 stored leads (I, II, V1-V6), 600 Hz
    pred = predictor.predict(scp)
    assert any("resampled from 600 Hz" in w for w in pred.warnings)
    assert 0 <= pred.tasks["superdiagnostic"].probabilities["NORM"] <= 1
    # this one was recorded with right-sided and posterior chest leads (V3R, V7): refused
    with pytest.raises(ECGSignalError, match="lacks V3, V5"):
        predictor.predict(read(files[0]))


def test_short_long_nan_and_missing_leads(predictor, ptbxl_dir: Path) -> None:
    ecg = _ptbxl_ecg(ptbxl_dir)
    short = ECG(ecg.signal[:300], ecg.fs, ecg.leads)  # 3 s
    assert predictor.preprocess(short).shape == (1, 12, 300)
    with pytest.raises(ECGSignalError, match="at least 2.5 s"):
        predictor.preprocess(ECG(ecg.signal[:200], ecg.fs, ecg.leads))
    long = ECG(np.concatenate([ecg.signal] * 3), ecg.fs, ecg.leads)  # 30 s -> central 10 s
    notes: list[str] = []
    assert predictor.preprocess(long, warnings=notes).shape == (1, 12, 1000)
    assert any("central" in n for n in notes)
    nan = np.array(ecg.signal)
    nan[100:110, ecg.leads.index("V2")] = np.nan
    with pytest.raises(ECGSignalError, match="NaN"):
        predictor.predict(ECG(nan, ecg.fs, ecg.leads))
    limb = ECG(ecg.signal[:, :6], ecg.fs, ecg.leads[:6])
    with pytest.raises(ECGSignalError, match="lacks V1"):
        predictor.predict(limb)
    flat = ECG(np.zeros_like(ecg.signal), ecg.fs, ecg.leads)
    with pytest.raises(ECGSignalError, match="flat"):
        predictor.predict(flat)
