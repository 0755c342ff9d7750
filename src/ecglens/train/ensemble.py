"""Turn trained members into a shipped bundle: choose each task's ensemble on the validation
fold, fit temperatures and thresholds there, write weights, cards and ``bundle.json``.

Everything here is tuned on fold 9 only (the benchmark's validation fold); fold 10 is never read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecglens.data.labels import LABEL_TASKS
from ecglens.data.training_set import TrainingSet
from ecglens.evaluate.calibration import (
    fit_bias_temperature,
    probabilities,
    rare_label_threshold,
    specificity_threshold,
)
from ecglens.evaluate.metrics import auc, macro_auc
from ecglens.models.bundle import load_member, save_member
from ecglens.models.layout import OutputLayout
from ecglens.record import STANDARD_LEADS
from ecglens.train.loop import predict_outputs


def export_members(run_dirs: list[Path], folder: Path) -> list[dict[str, Any]]:
    """fp16 weights + cards of finished runs into ``folder``; returns bundle member entries."""
    entries = []
    for run in run_dirs:
        card = json.loads((run / "card.json").read_text())
        name = card["config"]["name"]
        state = torch.load(run / "final.pt", map_location="cpu", weights_only=True)
        digest = save_member(folder, name, state, card)
        entries.append({"name": name, "arch": card["arch"], "sha256": digest})
    return entries


def member_outputs(folder: Path, entries: list[dict[str, Any]], val: TrainingSet,
                   device: str) -> dict[str, np.ndarray]:
    """Fold-9 outputs of every member, computed from the fp16 weights as shipped."""
    outs = {}
    for e in entries:
        m = load_member(folder, e["name"], expected_sha256=e["sha256"])
        net = m.network.to(device)
        outs[e["name"]] = predict_outputs(net, val.x, m.card.input_mean, m.card.input_std,
                                          m.layout, window=m.window, stride=m.stride,
                                          device=device)
        m.network.to("cpu")
    return outs


def _score(task: str, out: np.ndarray, val: TrainingSet, layout: OutputLayout) -> float:
    """Higher is better: macro AUC for label tasks and sex, minus MAE (years) for age.

    ``layout`` must be the members' (training folds' age statistics), not the fold's own.
    """
    s = layout.slice(task)
    rows = val.mask[:, s.start]
    if task == "age":
        pred = out[rows, s.start] * layout.age_std + layout.age_mean
        return -float(np.mean(np.abs(pred - val.age[rows])))
    if task == "sex":
        return auc(val.sex[rows], out[rows, s.start])
    return macro_auc(val.targets[rows][:, s], out[rows][:, s])


def select_members(task: str, outs: dict[str, np.ndarray], candidates: list[str],
                   val: TrainingSet, layout: OutputLayout) -> tuple[list[str], float]:
    """Greedy forward selection (Caruana et al. 2004, without replacement) on fold 9."""
    chosen: list[str] = []
    best = -np.inf
    while True:
        trial = None
        for c in candidates:
            if c in chosen:
                continue
            score = _score(task, np.mean([outs[n] for n in chosen + [c]], axis=0), val, layout)
            if score > best + 1e-5:
                best, trial = score, c
        if trial is None:
            return chosen, float(best)
        chosen.append(trial)


def _trained_for(cfg: dict[str, Any], task: str) -> bool:
    if task in ("age", "sex"):
        return cfg[f"w_{task}"] > 0
    return cfg["w_labels"] > 0 and cfg.get("task_weights", {}).get(task, 1.0) > 0


def build_bundle(run_dirs: list[Path], val: TrainingSet, folder: Path, *, name: str,
                 version: str, device: str = "cpu",
                 entries: list[dict[str, Any]] | None = None,
                 outputs_path: Path | None = None) -> dict[str, Any]:
    """Choose, calibrate and write the bundle. ``entries`` (already exported members in
    ``folder``) replaces ``run_dirs``; ``outputs_path`` saves every member's fold-9 outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    if entries is None:
        entries = export_members(run_dirs, folder)
    cards = {e["name"]: json.loads((folder / f"{e['name']}.json").read_text()) for e in entries}
    first = cards[entries[0]["name"]]
    for e in entries:
        if not np.allclose(cards[e["name"]]["input_mean"], first["input_mean"], atol=1e-5):
            raise ValueError(f"member {e['name']} was standardised differently")
    layout = OutputLayout(**first["layout"])  # training statistics, not fold 9's
    outs = member_outputs(folder, entries, val, device)
    if outputs_path is not None:
        # typed Any: the stub checks **arrays against savez_compressed's allow_pickle: bool
        arrays: dict[str, Any] = {k: v.astype(np.float16) for k, v in outs.items()}
        np.savez_compressed(outputs_path, ecg_ids=val.ecg_ids, **arrays)
    spec_tasks: dict[str, Any] = {}
    report: dict[str, Any] = {}
    for task in [*LABEL_TASKS, "age", "sex"]:
        cands = [e["name"] for e in entries if _trained_for(cards[e["name"]]["config"], task)]
        single = {c: _score(task, outs[c], val, layout) for c in cands}
        chosen, score = select_members(task, outs, cands, val, layout)
        report[task] = {"members": chosen, "fold9_score": score, "single": single}
        ens = np.mean([outs[n] for n in chosen], axis=0)
        s = layout.slice(task)
        rows = val.mask[:, s.start]
        entry: dict[str, Any] = {"members": chosen}
        if task != "age":
            if task == "sex":
                y, logit, labels = val.sex[rows][:, None], ens[rows, s.start][:, None], ["female"]
            else:
                y, logit, labels = val.targets[rows][:, s], ens[rows][:, s], layout.labels[task]
            bias, t = fit_bias_temperature(logit, y)
            p = probabilities(logit + bias, t)
            entry.update(labels=labels, temperature=t, logit_bias=bias.tolist(),
                         thresholds_f1=[rare_label_threshold(y[:, j], p[:, j])
                                        for j in range(y.shape[1])],
                         thresholds_spec95=[specificity_threshold(y[:, j], p[:, j])
                                            for j in range(y.shape[1])])
        spec_tasks[task] = entry
    used = {n for t in spec_tasks.values() for n in t["members"]}
    for e in entries:  # drop members no task chose, so the package stays small
        if e["name"] not in used:
            (folder / f"{e['name']}.pt").unlink()
            (folder / f"{e['name']}.json").unlink()
    spec = {"name": name, "version": version, "fs": first["config"]["fs"],
            "leads": list(STANDARD_LEADS), "input_mean": first["input_mean"],
            "input_std": first["input_std"],
            "members": [e for e in entries if e["name"] in used], "tasks": spec_tasks,
            "tuned_on": "PTB-XL fold 9 (validation); fold 10 never used"}
    (folder / "bundle.json").write_text(json.dumps(spec, indent=1))
    (folder / "selection.json").write_text(json.dumps(report, indent=1))
    return report
