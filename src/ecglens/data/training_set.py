"""Training arrays for PTB-XL: signals standardised per lead, targets for every task.

Built either from a PTB-XL folder (official layout) or from a compact pack
(``ecglens.data.pack``); both give signals with III, aVR, aVL, aVF derived from I and II.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecglens.data.labels import LABEL_TASKS
from ecglens.data.pack import expand_to_12, load_pack
from ecglens.data.ptbxl import (
    INDEPENDENT_INDEX,
    ages_and_sex,
    all_task_labels,
    read_database,
    read_signals,
    read_statements,
)
from ecglens.exceptions import DataError
from ecglens.models.layout import OutputLayout


@dataclass
class TrainingSet:
    """Signals (n, 12, T) float32 in mV, multi-task targets, folds."""

    x: np.ndarray
    folds: np.ndarray
    ecg_ids: np.ndarray
    targets: np.ndarray  # (n, n_outputs) float32 in the layout's order; age standardised
    mask: np.ndarray  # (n, n_outputs) bool: which targets count for each record
    age: np.ndarray  # years, NaN where unknown
    sex: np.ndarray  # 1 female, 0 male, NaN
    layout: OutputLayout

    def subset(self, rows: np.ndarray) -> TrainingSet:
        return TrainingSet(self.x[rows], self.folds[rows], self.ecg_ids[rows],
                           self.targets[rows], self.mask[rows], self.age[rows],
                           self.sex[rows], self.layout)


def save_training_set(data: TrainingSet, path: Path) -> None:
    """Uncompressed cache so that parallel training processes skip decoding the pack."""
    np.savez(path, x=data.x, folds=data.folds, ecg_ids=data.ecg_ids, targets=data.targets,
             mask=data.mask, age=data.age, sex=data.sex,
             layout=np.array(data.layout.model_dump_json()))


def read_training_set(path: Path) -> TrainingSet:
    z = np.load(path)
    return TrainingSet(x=z["x"], folds=z["folds"], ecg_ids=z["ecg_ids"], targets=z["targets"],
                       mask=z["mask"], age=z["age"], sex=z["sex"],
                       layout=OutputLayout.model_validate_json(str(z["layout"])))


def load_training_set(source: str | Path, *, folds: list[int],
                      label_names: dict[str, list[str]] | None = None,
                      max_records: int | None = None, seed: int = 0) -> TrainingSet:
    """Read ``source`` (PTB-XL folder or pack) restricted to ``folds``.

    Label lists follow the benchmark's rule over the records read, unless ``label_names`` fixes
    them (so fold 9 is scored with the trained model's labels). ``max_records`` draws a random
    subset (the tiny CI training run).
    """
    source = Path(source)
    if (source / "pack.json").is_file():
        db, x = load_pack(source, folds=folds)
        if max_records is not None and max_records < len(db):
            rows = _subset(len(db), max_records, seed)
            db, x = db.iloc[rows].reset_index(drop=True), x[rows]
    else:
        db = read_database(source, folds=folds)
        if max_records is not None and max_records < len(db):
            db = db.iloc[_subset(len(db), max_records, seed)].reset_index(drop=True)
        x = expand_to_12(read_signals(source, db)[:, :, list(INDEPENDENT_INDEX)]
                         .astype(np.float32) / 1000.0)
    statements = read_statements(source / "scp_statements.csv")
    if label_names is None:
        # label lists are fixed by every record of the source (the benchmark counts over the
        # whole data set before splitting), not only the folds being read
        full = read_database(source)
        label_names = {t: tl.names for t, tl in all_task_labels(full, statements).items()}
    labels = all_task_labels(db, statements, label_names)
    age, sex = ages_and_sex(db)
    known = age[np.isfinite(age)]
    layout = OutputLayout(labels=label_names,
                          age_mean=float(known.mean()) if known.size else 60.0,
                          age_std=float(known.std()) if known.size > 1 else 17.0)
    n = len(db)
    targets = np.zeros((n, layout.n_outputs), dtype=np.float32)
    mask = np.zeros((n, layout.n_outputs), dtype=bool)
    for t in LABEL_TASKS:
        s = layout.slice(t)
        targets[:, s] = labels[t].y
        mask[:, s] = labels[t].has_label[:, None]
    s_age, s_sex = layout.slice("age"), layout.slice("sex")
    targets[:, s_age.start] = np.nan_to_num((age - layout.age_mean) / layout.age_std)
    mask[:, s_age.start] = np.isfinite(age)
    targets[:, s_sex.start] = np.nan_to_num(sex)
    mask[:, s_sex.start] = np.isfinite(sex)
    if not np.isfinite(x).all():
        raise DataError(f"{source}: signals contain NaN or infinite values")
    return TrainingSet(x=np.ascontiguousarray(x.transpose(0, 2, 1)),
                       folds=db["strat_fold"].to_numpy(), ecg_ids=db["ecg_id"].to_numpy(),
                       targets=targets, mask=mask, age=age, sex=sex, layout=layout)


def _subset(n: int, k: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


def lead_stats(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-lead mean and standard deviation over every sample of ``x`` (n, 12, T)."""
    mean = x.mean(axis=(0, 2), dtype=np.float64)
    std = x.std(axis=(0, 2), dtype=np.float64)
    return mean.tolist(), np.maximum(std, 1e-6).tolist()
