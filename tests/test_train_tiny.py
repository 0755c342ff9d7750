"""A tiny end-to-end training run on real PTB-XL records (CPU), with resume and export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ecglens.cli import main
from ecglens.data.labels import LABEL_TASKS
from ecglens.data.training_set import load_training_set
from ecglens.models.bundle import load_member, save_member
from ecglens.train.loop import multitask_loss, predict_outputs


def test_tiny_training_run_resume_and_export(ptbxl_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    args = ["train", str(ptbxl_dir), "--out", str(out), "--arch", "resnet1d_wang",
            "--epochs", "1", "--max-records", "256", "--batch-size", "64", "--train-folds",
            "1", "2", "--device", "cpu", "--json"]
    # a 16-channel network keeps the CPU run to seconds; the code path is the shipped one
    cfg = {"name": "tiny", "arch": "resnet1d_wang", "model_kwargs": {"planes": 16},
           "epochs": 1, "batch_size": 64, "train_folds": [1, 2]}
    out.mkdir()
    (out / "config.json").write_text(json.dumps(cfg))
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs_run"] == 1 and summary["n_train_records"] == 256
    card = json.loads((out / "card.json").read_text())
    assert len(card["input_mean"]) == 12 and card["layout"]["labels"]["superdiagnostic"] == [
        "CD", "HYP", "MI", "NORM", "STTC"]
    # resume: raising the epoch count continues from the checkpoint, not from scratch
    cfg["epochs"] = 2
    (out / "config.json").write_text(json.dumps(cfg))
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    state["epochs"] = 2
    torch.save(state, out / "checkpoint.pt")
    assert main(args) == 0
    log = [json.loads(line) for line in (out / "train.log").read_text().splitlines()
           if '"of"' in line]
    assert [e["epoch"] for e in log] == [1, 2]
    # export as a shipped member and run it on fold-9 records
    sha = save_member(tmp_path / "bundle", "tiny",
                      torch.load(out / "final.pt", weights_only=True),
                      json.loads((out / "card.json").read_text()))
    member = load_member(tmp_path / "bundle", "tiny", expected_sha256=sha)
    val = load_training_set(ptbxl_dir, folds=[9], max_records=16,
                            label_names=card["layout"]["labels"])
    outs = predict_outputs(member.network, val.x, card["input_mean"], card["input_std"],
                           member.layout, window=member.window, stride=member.stride)
    assert outs.shape == (16, member.layout.n_outputs) and np.isfinite(outs).all()


def test_loss_masks_records_outside_a_task() -> None:
    from ecglens.models.layout import OutputLayout
    from ecglens.train.config import TrainConfig

    layout = OutputLayout(labels={t: ["A"] for t in LABEL_TASKS})
    n = layout.n_outputs
    out = torch.zeros(2, n)
    target = torch.ones(2, n)
    mask = torch.zeros(2, n, dtype=torch.bool)
    cfg = TrainConfig(w_age=0.0, w_sex=0.0)
    assert float(multitask_loss(out, target, mask, layout, cfg)) == 0.0
    mask[0, layout.slice("rhythm")] = True
    assert float(multitask_loss(out, target, mask, layout, cfg)) > 0.69
