"""PTB-XL in its official PhysioNet layout: metadata, labels per task, signals.

Works with records100 or records500 and with any subset of the ten folds (the copy used for
development here has folds 1–9; fold 10 is the held-out test fold).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from ecglens.data.labels import (
    BENCHMARK_MIN_SAMPLES,
    LABEL_TASKS,
    multi_hot,
    parse_scp_codes,
    read_statements,
    record_labels,
    task_label_names,
)
from ecglens.exceptions import DataError

PTBXL_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)
#: the independent leads; III, aVR, aVL, aVF are linear combinations of I and II
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
INDEPENDENT_INDEX: tuple[int, ...] = tuple(PTBXL_LEADS.index(x) for x in INDEPENDENT_LEADS)


@dataclass(frozen=True)
class TaskLabels:
    """One task's label names and multi-hot targets (rows follow the database's records)."""

    task: str
    names: list[str]
    y: np.ndarray  # (n_records, n_labels) uint8
    has_label: np.ndarray  # (n_records,) bool: the record belongs to the task's data set


def read_database(root: str | Path, *, folds: list[int] | None = None) -> pd.DataFrame:
    """``ptbxl_database.csv`` sorted by ``ecg_id``, optionally restricted to ``folds``."""
    root = Path(root)
    path = root / "ptbxl_database.csv"
    if not path.is_file():
        raise DataError(f"{root}: not a PTB-XL folder (ptbxl_database.csv not found)")
    df = pd.read_csv(path)
    missing = {"ecg_id", "age", "sex", "scp_codes", "strat_fold", "filename_lr"} - set(df.columns)
    if missing:
        raise DataError(f"{path}: columns missing: {', '.join(sorted(missing))}")
    df = df.sort_values("ecg_id").reset_index(drop=True)
    if folds is not None:
        df = df[df["strat_fold"].isin(folds)].reset_index(drop=True)
        if df.empty:
            raise DataError(f"{path}: no records in folds {folds}")
    df["codes"] = df["scp_codes"].map(parse_scp_codes)
    return df


def available_folds(root: str | Path, *, sampling_rate: int = 100) -> list[int]:
    """Folds whose every signal file is present."""
    df = read_database(root)
    col = "filename_lr" if sampling_rate == 100 else "filename_hr"
    out = []
    for fold, part in df.groupby("strat_fold"):
        if all((Path(root) / f"{name}.dat").is_file() for name in part[col]):
            out.append(int(cast(int, fold)))  # strat_fold is an integer column
    return out


def task_labels(
    db: pd.DataFrame,
    statements: pd.DataFrame,
    task: str,
    *,
    names: list[str] | None = None,
    min_samples: int = BENCHMARK_MIN_SAMPLES,
) -> TaskLabels:
    """Targets for ``task``. ``names`` fixes the label list (a trained model's); else it is
    derived from ``db`` with the benchmark's minimum-count rule."""
    if task not in LABEL_TASKS:
        raise DataError(f"unknown label task {task!r}")
    per_record = [record_labels(codes, statements, task) for codes in db["codes"]]
    if names is None:
        names = task_label_names(per_record, min_samples=min_samples)
    y = multi_hot(per_record, names)
    return TaskLabels(task=task, names=list(names), y=y, has_label=y.sum(axis=1) > 0)


def all_task_labels(
    db: pd.DataFrame, statements: pd.DataFrame, names: dict[str, list[str]] | None = None
) -> dict[str, TaskLabels]:
    return {t: task_labels(db, statements, t, names=None if names is None else names[t])
            for t in LABEL_TASKS}


def read_signals(
    root: str | Path, db: pd.DataFrame, *, sampling_rate: int = 100
) -> np.ndarray:
    """All 12 leads of every record in ``db`` as int16 ADC units, shape (n, samples, 12).

    PTB-XL stores 16-bit samples at 1000 adu/mV with zero baseline in every record, which is
    checked on the first header; reading the raw ``.dat`` files is 50× faster than wfdb.
    """
    root = Path(root)
    col = "filename_lr" if sampling_rate == 100 else "filename_hr"
    n_samples = 10 * sampling_rate
    _check_header(root / f"{db[col].iloc[0]}.hea", n_samples)
    out = np.empty((len(db), n_samples, 12), dtype=np.int16)
    for i, name in enumerate(db[col]):
        path = root / f"{name}.dat"
        try:
            raw = np.fromfile(path, dtype="<i2")
        except FileNotFoundError as exc:
            raise DataError(f"{path}: signal file missing (is this fold unpacked?)") from exc
        if raw.size != n_samples * 12:
            raise DataError(f"{path}: expected {n_samples}×12 samples, found {raw.size}")
        out[i] = raw.reshape(n_samples, 12)
    return out


def _check_header(path: Path, n_samples: int) -> None:
    """The first header must say: 12 signals, ``n_samples`` long, format 16, 1000 adu/mV,
    baseline 0 (what the raw reader assumes)."""
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    except FileNotFoundError as exc:
        raise DataError(f"{path}: header missing (is this fold unpacked?)") from exc
    head = lines[0].split()
    ok = len(head) >= 4 and head[1] == "12" and int(head[3]) == n_samples
    for ln in lines[1:13]:
        parts = ln.split()
        ok = ok and parts[1] == "16" and parts[2].startswith("1000") and \
            ("(" not in parts[2] or parts[2].split("(")[1].startswith("0)"))
    if not ok:
        raise DataError(f"{path}: unexpected PTB-XL storage (leads, length, format, gain or "
                        "baseline)")


def ages_and_sex(db: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Age in years (NaN where hidden or missing; the release writes 300 for ages over 89)
    and sex as 1.0 female / 0.0 male / NaN."""
    age = np.array(pd.to_numeric(db["age"], errors="coerce"), dtype=np.float64)
    age[age > 120] = np.nan
    sex = np.array(pd.to_numeric(db["sex"], errors="coerce"), dtype=np.float64)
    return age, sex


__all__ = [
    "INDEPENDENT_LEADS", "PTBXL_LEADS", "TaskLabels", "ages_and_sex", "all_task_labels",
    "available_folds", "read_database", "read_signals", "read_statements", "task_labels",
]
