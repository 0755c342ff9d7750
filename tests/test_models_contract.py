"""One model contract: typed cards validated at load, one scoring path, one default model that
every command, the Python API and the service use."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecglens.cli import build_parser, main
from ecglens.exceptions import ModelError
from ecglens.io import read
from ecglens.models import DEFAULT_MODEL, load_predictor
from ecglens.models.bundle import WEIGHTS_DIR, shipped_bundles
from ecglens.models.card import BundleCard, MemberCard

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src" / "ecglens" / "examples" / "E07500.hea"
SIERRA = "philips-sierra/3191723_ZZDEMOPTONLY_1-04_orig.xml"


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("which", ["E07500", "sierra-1.04"])
def test_predict_interpret_api_and_service_agree(which: str, formats_dir: Path, capsys,
                                                 monkeypatch) -> None:
    """The same file gives the same model and the same probabilities from ``ecglens predict``,
    ``ecglens interpret``, ``load_predictor()`` and the service's model."""
    from ecglens.serve.settings import Settings

    path = EXAMPLE if which == "E07500" else formats_dir / SIERRA
    monkeypatch.delenv("ECGLENS_MODEL", raising=False)
    api = load_predictor()
    assert api.name == DEFAULT_MODEL
    assert load_predictor(Settings().model) is api  # the service's model: the same object
    ref = api.predict(read(path))

    pred = _cli_json(capsys, "predict", str(path), "--json")
    interp = _cli_json(capsys, "interpret", str(path), "--json", "--explain", "0")
    model = interp["models"][0]
    assert pred["model"]["name"] == model["name"] == ref.model.name == DEFAULT_MODEL
    assert pred["model"]["sha256"] == model["sha256"] == ref.model.sha256
    assert {k: v for k, v in pred["model"].items() if k != "task"} == {
        k: v for k, v in model.items() if k != "task"}
    # predict: every probability of every task, exactly (JSON floats round-trip)
    for task, tp in ref.tasks.items():
        assert pred["tasks"][task]["probabilities"] == tp.probabilities
        assert pred["tasks"][task]["positive"] == tp.positive
    assert pred["age_years"] == ref.age_years
    # interpret: its network statements are 71-statement positives, at the same probabilities
    # (the statement engine adds measured ones without a probability and resolves the rest)
    assert not interp["abstention"]["abstained"]
    every = ref.tasks["all"]
    network = [f for f in interp["findings"] if f["probability"] is not None]
    assert {f["code"] for f in network} <= set(every.positive)
    for f in network:
        assert f["probability"] == round(every.probabilities[f["code"]], 4)
        assert f["threshold"] == round(every.thresholds_f1[f["code"]], 4)


def test_every_command_defaults_to_the_one_model(monkeypatch) -> None:
    from ecglens.interpret.pipeline import DEFAULT_BUNDLE
    from ecglens.models.bundle import resolve_bundle_dir
    from ecglens.serve.settings import Settings

    for cmd in ("predict", "interpret"):
        args = build_parser(cmd).parse_args([cmd, str(EXAMPLE)])
        assert args.model == DEFAULT_MODEL, cmd
    assert DEFAULT_BUNDLE == DEFAULT_MODEL
    assert resolve_bundle_dir(None) == WEIGHTS_DIR / DEFAULT_MODEL
    monkeypatch.delenv("ECGLENS_MODEL", raising=False)
    assert Settings().model == DEFAULT_MODEL


def test_reading_the_default_loads_no_torch() -> None:
    code = ("import sys; from ecglens.models import DEFAULT_MODEL; import ecglens.serve.settings; "
            "assert 'torch' not in sys.modules, 'torch imported'; print(DEFAULT_MODEL)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == DEFAULT_MODEL


def test_the_registry_imports_nothing_of_the_package() -> None:
    tree = ast.parse((ROOT / "src/ecglens/models/registry.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in imported if m.startswith("ecglens")} <= {"ecglens.exceptions"}


@pytest.mark.parametrize("bundle", shipped_bundles())
def test_shipped_cards_validate(bundle: str) -> None:
    folder = WEIGHTS_DIR / bundle
    card = BundleCard.read(folder)  # extra="forbid": no key of the shipped JSON goes unread
    assert card.name == bundle and set(card.tasks) >= {"all", "age", "sex"}
    for m in card.members:
        member = MemberCard.read(folder / f"{m.name}.json")
        assert member.sha256 == m.sha256 and member.arch == m.arch
        assert member.layout.n_outputs > 71 and member.config.window > member.config.stride
    for task, t in card.tasks.items():
        if task != "age":
            assert t.labels and len(t.thresholds_f1 or []) == len(t.labels) == len(t.bias())


def _broken_copy(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    copy = tmp_path / "bundle"
    shutil.copytree(WEIGHTS_DIR / "ptbxl-fast", copy)
    spec = json.loads((copy / "bundle.json").read_text())
    edit(spec)
    (copy / "bundle.json").write_text(json.dumps(spec))
    return copy


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.update(temprature=1.0), "temprature"),
    (lambda s: s["tasks"]["rhythm"].update(thresholds_f1=[0.5]), "thresholds_f1 has 1 entries"),
    (lambda s: s["tasks"]["all"]["members"].append("ghost"), "unknown members"),
    (lambda s: s["tasks"]["rhythm"].pop("labels"), "given without labels"),
    (lambda s: s["tasks"]["rhythm"].pop("thresholds_f1"), "needs labels and thresholds_f1"),
    (lambda s: s["tasks"]["sex"].update(temperature=0), "temperature"),
])
def test_invalid_bundle_cards_are_refused_at_load(tmp_path: Path, edit, message: str) -> None:
    with pytest.raises(ModelError, match=message) as err:
        load_predictor(_broken_copy(tmp_path, edit))
    assert "bundle.json" in str(err.value)


def test_an_invalid_member_card_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(WEIGHTS_DIR / "ptbxl-fast", copy)
    card_path = next(copy.glob("resnet1d_wang*.json"))
    card = json.loads(card_path.read_text())
    del card["config"]["window"]
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"config\.window"):
        load_predictor(copy)


def test_score_is_predict_for_one_label_set() -> None:
    """``Predictor.score`` (what interpretation calls) and ``predict`` share one calibration."""
    p = load_predictor()
    ecg = read(EXAMPLE).to_standard_12()
    ref = p.predict(ecg)
    for keep_graph in (False, True):
        s = p.score(ecg, "all", keep_graph=keep_graph)
        assert s.prediction == ref.tasks["all"] and s.age_years == ref.age_years
        assert s.warnings == ref.warnings
        assert (s.logits is not None and s.logits.requires_grad) == keep_graph
    with pytest.raises(ModelError, match="not a label set"):
        p.score(ecg, "age")
