"""The measurement stage's trained parameters are data files, checked on load, never Python."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ecglens.exceptions import ModelError
from ecglens.measure import artefacts, delineate, qrs_net, reversal

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src" / "ecglens" / "weights" / "measure"

# each artefact and the cached reader that checks and parses it
READERS: dict[str, Callable[[], object]] = {
    "qrs-unet.npz": qrs_net.load_members,
    "reversal-linear.npz": reversal._linear,
    "reversal-lall-trees.npz": reversal._lall_forest,
    "reversal-thresholds.json": reversal.calibration,
    "p-presence.json": delineate.p_absence_model,
}


def _clear() -> None:
    for reader in READERS.values():
        reader.cache_clear()  # type: ignore[attr-defined]


def test_every_shipped_file_is_recorded_and_matches() -> None:
    assert set(READERS) == set(artefacts.SHA256)
    assert {p.name for p in SHIPPED.iterdir()} == set(artefacts.SHA256)
    for name, digest in artefacts.SHA256.items():
        assert hashlib.sha256((SHIPPED / name).read_bytes()).hexdigest() == digest, name
        assert artefacts.read_bytes(name) == (SHIPPED / name).read_bytes()


@pytest.mark.parametrize("name", sorted(READERS))
def test_a_modified_file_is_refused(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(artefacts.SHA256, name, "0" * 64)
    _clear()
    try:
        with pytest.raises(ModelError, match="SHA-256"):
            READERS[name]()
    finally:
        monkeypatch.undo()
        _clear()
    READERS[name]()  # and read again once the record is right


def test_a_missing_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(artefacts, "files", lambda _package: tmp_path)
    _clear()
    try:
        with pytest.raises(ModelError, match="cannot be read"):
            reversal.calibration()
        with pytest.raises(ModelError, match="not a measurement artefact"):
            artefacts.read_bytes("reversal_weights.py")
    finally:
        monkeypatch.undo()
        _clear()


def test_the_parameters_are_the_ones_that_were_python_literals() -> None:
    """Spot values of the former reversal_weights.py, reversal_thresholds.py and delineate.py."""
    assert delineate.p_absence_model() == ((-6.781, -1.843, -1.974, 27.9231, -9.691), -2.3992,
                                           0.5485)
    w = reversal._linear()
    assert float(w["CHEST_B"]) == -3.393908600702282
    assert w["LIMB_W"].shape == (4, 44) and w["LIMB_W"][0, 1] == 0.18207
    assert w["CHEST_TO_LIMB"].tolist()[0] == [-0.60272, 0.039377]
    cal = reversal.calibration()
    assert cal.n_records == 10418
    assert cal.thresholds["LA/LL"] == 0.9871312279890612
    assert cal.tails["RA/LL"][0] == 0.8079563788356187 and len(cal.tails["RA/LL"]) == 53
    forest = reversal._lall_forest()
    assert forest.feature.shape == (300, 30) and forest.leaf.shape == (300, 31)


def test_the_trainers_write_these_files() -> None:
    """Fed the shipped parameters, each trainer's writer gives the shipped file back (byte for
    byte where no compressor is involved), so a re-run changes the file only if the fit does."""
    from training import calibrate_measure_reversal as cal_script
    from training import train_measure_reversal as lin_script

    w = reversal._linear()
    again = lin_script.weights_npz(*(w[k] for k in reversal._LINEAR), int(w["N_RECORDS"]))
    assert again == (SHIPPED / "reversal-linear.npz").read_bytes()

    cal = reversal.calibration()
    doc = json.loads((SHIPPED / "reversal-thresholds.json").read_bytes())
    q = float(doc["about"].split("(")[1].split(")")[0])
    again = cal_script.thresholds_json(q, cal.n_records, cal.thresholds,
                                       {k: np.array(v) for k, v in cal.tails.items()})
    assert again == (SHIPPED / "reversal-thresholds.json").read_bytes()

    lgb_script = pytest.importorskip("training.train_measure_reversal_lall")  # needs lightgbm
    arrays = artefacts.read_npz("reversal-lall-trees.npz")
    with np.load(io.BytesIO(lgb_script.trees_npz(arrays)), allow_pickle=False) as z:
        assert set(z.files) == set(arrays)
        for k in arrays:
            assert z[k].dtype == arrays[k].dtype and np.array_equal(z[k], arrays[k]), k


def test_a_trial_write_leaves_the_package_alone(tmp_path: Path) -> None:
    source = Path(artefacts.__file__).read_text()
    recorded = dict(artefacts.SHA256)
    path = artefacts.write_artefact("p-presence.json", b"{}\n", tmp_path)
    assert path == tmp_path / "p-presence.json" and path.read_bytes() == b"{}\n"
    assert Path(artefacts.__file__).read_text() == source and artefacts.SHA256 == recorded
    with pytest.raises(KeyError):
        artefacts.write_artefact("elsewhere.npz", b"", tmp_path)


def test_a_shipping_write_records_the_new_sha256(tmp_path: Path) -> None:
    """Without out_dir the file goes to the package's weights/measure/ and its SHA-256 into
    artefacts.SHA256 (here on a copy of the module, so the checkout is left alone)."""
    import importlib.util

    copy = tmp_path / "ecglens" / "measure" / "artefacts.py"
    copy.parent.mkdir(parents=True)
    copy.write_text(Path(artefacts.__file__).read_text())
    spec = importlib.util.spec_from_file_location("artefacts_copy", copy)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = module.write_artefact("p-presence.json", b"{}\n")
    digest = hashlib.sha256(b"{}\n").hexdigest()
    assert path == tmp_path / "ecglens" / "weights" / "measure" / "p-presence.json"
    assert module.SHA256["p-presence.json"] == digest
    recorded = ast.literal_eval(copy.read_text().split("SHA256: dict[str, str] = ")[1]
                                .split("}")[0] + "}")
    assert recorded == {**artefacts.SHA256, "p-presence.json": digest}


def test_importing_the_stage_reads_no_weights() -> None:
    code = ("import ecglens.measure, ecglens.measure.analysis as a; "
            "from ecglens.measure import delineate as d, qrs_net as q, reversal as r; "
            "print(sum(f.cache_info().currsize for f in (d.p_absence_model, q.load_members, "
            "r._linear, r._lall_forest, r.calibration)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_no_python_module_holds_trained_parameters() -> None:
    """Generated parameter modules (numpy literals, base64 blobs, long tables of floats) are
    gone; trained parameters live in ecglens/weights, each file with its trainer."""
    for path in (ROOT / "src" / "ecglens").rglob("*.py"):
        tree = ast.parse(path.read_text())
        consts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
        floats = sum(isinstance(v, float) for v in consts)
        longest = max((len(v) for v in consts if isinstance(v, str | bytes)), default=0)
        assert floats <= 100, f"{path}: {floats} float literals (parameters belong in weights/)"
        assert longest <= 10_000, f"{path}: a {longest}-character literal (a blob?)"


def test_the_tree_evaluator_imports_no_pipeline_stage() -> None:
    tree = ast.parse((ROOT / "src" / "ecglens" / "trees.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {m for m in imported if m.startswith("ecglens")} <= {"ecglens.exceptions"}
