"""Evaluate a model bundle on PTB-XL folds: the numbers of the model card.

Member outputs are computed once per (bundle, folds) and cached, so evaluating the eight tasks
one after the other runs the networks once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecglens.data.labels import LABEL_TASKS, TASKS
from ecglens.data.training_set import TrainingSet, load_training_set
from ecglens.evaluate.calibration import probabilities
from ecglens.evaluate.metrics import bootstrap_ci, ece, fmax, macro_auc, per_class_auc
from ecglens.exceptions import DataError
from ecglens.models.predictor import Predictor

AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("<40", 0, 40), ("40-59", 40, 60), ("60-74", 60, 75), (">=75", 75, 200))


def _cache_path(predictor: Predictor, source: Path, folds: list[int],
                max_records: int | None) -> Path:
    key = hashlib.sha256(repr((sorted(m.sha256 for m in predictor.members.values()),
                               str(source.resolve()), folds, max_records)).encode()).hexdigest()
    root = Path(os.environ.get("ECGLENS_CACHE", Path.home() / ".cache" / "ecglens"))
    return root / f"eval-{key[:16]}.npz"


def member_outputs(predictor: Predictor, data: TrainingSet, *, batch: int = 128,
                   members: list[str] | None = None) -> dict[str, np.ndarray]:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    outs: dict[str, list[np.ndarray]] = {n: [] for n in (members or predictor.members)}
    with torch.no_grad():
        for name, chunks in outs.items():
            predictor.members[name].network.to(device)
            for i in range(0, len(data.x), batch):
                x = predictor.standardise(data.x[i:i + batch]).to(device)
                chunks.append(predictor.member_outputs(name, x).float().cpu().numpy())
            predictor.members[name].network.to("cpu")
    return {n: np.concatenate(v) for n, v in outs.items()}


def load_outputs(predictor: Predictor, source: Path, folds: list[int],
                 max_records: int | None = None, *, use_cache: bool = True,
                 task: str | None = None, stored: Path | None = None
                 ) -> tuple[TrainingSet, dict[str, np.ndarray]]:
    """Fold data and member outputs (every member, or only ``task``'s when not cached).

    ``stored`` reads member outputs saved by an earlier run (``fold9_outputs.npz`` beside the
    shipped weights, written when the bundle was built) instead of running the networks.
    """
    label_names = {t: predictor.labels(t) for t in LABEL_TASKS if t in predictor.tasks}
    if set(label_names) != set(LABEL_TASKS):
        raise DataError("the model does not predict every PTB-XL label task")
    data = load_training_set(source, folds=folds, label_names=label_names,
                             max_records=max_records)
    if stored is not None:
        z = np.load(stored)
        ids = z["ecg_ids"]
        pos = np.searchsorted(ids, data.ecg_ids)
        if (pos >= len(ids)).any() or not np.array_equal(ids[np.minimum(pos, len(ids) - 1)],
                                                         data.ecg_ids):
            raise DataError(f"{stored}: stored outputs do not cover these records")
        missing = [n for n in predictor.members if n not in z.files]
        if missing:
            raise DataError(f"{stored}: no stored outputs for members {missing}")
        return data, {n: z[n][pos].astype(np.float32) for n in predictor.members}
    cache = _cache_path(predictor, source, folds, max_records)
    if use_cache and cache.is_file():
        z = np.load(cache)
        return data, {k: z[k] for k in z.files}
    if task is not None:
        return data, member_outputs(predictor, data, members=predictor.task_members(task))
    outs = member_outputs(predictor, data)
    if use_cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = outs  # savez's stub checks **arrays against allow_pickle: bool
        np.savez(cache, **arrays)
    return data, outs


def _task_scores(predictor: Predictor, task: str, outs: dict[str, np.ndarray],
                 x_mv: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
    """The ensemble's raw logits of ``rows`` as ``Predictor.logits`` gives them (standardised
    age for age). A task with a measurement-feature model measures ``x_mv`` (the same signals)."""
    names = predictor.task_members(task)
    layout = predictor.members[names[0]].layout
    s = layout.slice(task)
    sel = slice(None) if rows is None else rows
    mean = np.mean([outs[n][sel, s] for n in names], axis=0)
    fm = predictor.feature_model(task) if task not in ("age", "sex") else None
    if fm is not None:
        if x_mv is None:
            raise DataError(f"task {task!r} blends measurement features: signals are needed")
        mean = fm.blend(mean, fm.raw(x_mv[sel], predictor.fs))
    return mean if task == "age" else mean + predictor.logit_bias(task)[None, :]


def evaluate_task(predictor: Predictor, data: TrainingSet, outs: dict[str, np.ndarray],
                  task: str, *, n_boot: int = 200) -> dict[str, Any]:
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    layout = data.layout
    s = layout.slice(task)
    rows = data.mask[:, s.start]
    raw = _task_scores(predictor, task, outs, data.x, rows)
    age, sex = data.age[rows], data.sex[rows]
    result: dict[str, Any] = {"task": task, "n_records": int(rows.sum()),
                              "model": predictor.name, "model_version": predictor.version}
    subgroups = {"sex=male": sex == 0, "sex=female": sex == 1,
                 **{f"age {b}": (age >= lo) & (age < hi) for b, lo, hi in AGE_BANDS}}
    if task == "age":
        # de-standardise with the training folds' statistics (the member's), as predict does
        trained = predictor.members[predictor.task_members("age")[0]].layout
        pred = raw[:, 0] * trained.age_std + trained.age_mean
        err = np.abs(pred - age)
        rng = np.random.default_rng(0)
        boots = [err[rng.integers(0, len(err), len(err))].mean() for _ in range(n_boot)]
        result.update(mae_years=float(err.mean()),
                      mae_ci95=[float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))],
                      auc_ci95=None, ece=None,
                      pearson_r=float(np.corrcoef(pred, age)[0, 1]),
                      subgroups={k: {"n": int(m.sum()), "mae_years": float(err[m].mean())}
                                 for k, m in subgroups.items() if m.sum() > 1})
        return _finite(result)
    if task == "sex":
        y = sex[:, None]
        labels = ["female"]
    else:
        y = data.targets[rows][:, s].astype(np.int64)
        labels = layout.labels[task]
    probs = probabilities(raw, predictor.temperature(task))
    lo, hi = bootstrap_ci(y, raw, n_boot=n_boot)
    result.update(
        macro_auc=macro_auc(y, raw), auc_ci95=[lo, hi], ece=ece(y, probs),
        ece_uncalibrated=ece(y, probabilities(raw - predictor.logit_bias(task)[None, :]
                                              if task != "sex" else raw, 1.0)),
        temperature=predictor.temperature(task),
        fmax=fmax(y, probs) if task != "sex" else None,
        per_class_auc={lab: (None if np.isnan(v) else float(v))
                       for lab, v in zip(labels, per_class_auc(y, raw), strict=True)},
        positives={lab: int(v) for lab, v in zip(labels, y.sum(axis=0), strict=True)},
    )
    sub = {}
    for k, m in subgroups.items():
        pos = y[m].sum(axis=0)
        if m.sum() > 20 and ((pos > 0) & (pos < m.sum())).any():  # some label has both classes
            sub[k] = {"n": int(m.sum()), "macro_auc": macro_auc(y[m], raw[m])}
    result["subgroups"] = sub
    return _finite(result)


def _finite(obj: Any) -> Any:
    """NaN (a label without positives in a small subset) becomes null in JSON."""
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj
