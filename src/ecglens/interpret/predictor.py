"""What interpretation needs from a diagnostic model, and reading its prediction.

The models stage (``ecglens.models.load_predictor``) owns the network, its preprocessing,
calibration and thresholds; interpretation only reads them through this narrow interface, so
that any predictor with the same methods (an ensemble, a future model) plugs in unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch

from ecglens.interpret.result import ModelInfo
from ecglens.record import ECG


@runtime_checkable
class PredictorLike(Protocol):
    fs: float
    leads: Sequence[str]
    tasks: Sequence[str]

    def labels(self, task: str) -> Sequence[str]: ...
    def predict(self, ecg: ECG) -> Any: ...
    def preprocess(self, ecg: ECG) -> torch.Tensor: ...
    def logits(self, x: torch.Tensor, task: str) -> torch.Tensor: ...


@dataclass(frozen=True)
class Scores:
    labels: dict[str, tuple[float, float, float | None]]  # code -> (p, F1 thr, high-spec thr)
    age_years: float | None


def _get(obj: Any, *names: str) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def _per_task(value: Any, task: str) -> Any:
    if isinstance(value, dict) and task in value:
        return value[task]
    return value


def label_scores(predictor: PredictorLike, ecg: ECG, task: str) -> Scores:
    """Calibrated probabilities and both thresholds of every label of ``task``."""
    pred = predictor.predict(ecg)
    probs = _per_task(_get(pred, "probabilities", "probs", "calibrated"), task)
    f1 = _per_task(_get(pred, "thresholds_f1", "threshold_f1", "f1_thresholds"), task)
    spec = _per_task(_get(pred, "thresholds_high_specificity", "threshold_high_specificity",
                          "high_specificity_thresholds", "thresholds_spec"), task)
    thresholds = _per_task(_get(pred, "thresholds"), task)
    out: dict[str, tuple[float, float, float | None]] = {}
    for code in predictor.labels(task):
        p = float(probs[code])
        t_f1: Any = f1[code] if f1 is not None else None
        t_sp: Any = spec[code] if spec is not None else None
        if t_f1 is None and thresholds is not None:  # {code: {"f1": .., "high_specificity": ..}}
            entry = thresholds[code]
            t_f1 = _get(entry, "f1", "f1_optimal")
            t_sp = _get(entry, "high_specificity", "specificity", "spec")
        out[code] = (p, float(t_f1 if t_f1 is not None else 0.5),
                     None if t_sp is None else float(t_sp))
    age = _get(pred, "age_years", "age")
    return Scores(labels=out, age_years=None if age is None else float(age))


def model_info(predictor: PredictorLike, task: str) -> ModelInfo:
    info = _get(predictor, "info", "card", "model_info")
    return ModelInfo(
        name=str(_get(info, "name") or type(predictor).__name__),
        version=str(_get(info, "version") or "unknown"),
        sha256=str(_get(info, "sha256", "weights_sha256") or "unknown"),
        task=task,
        sampling_rate_hz=float(predictor.fs),
        leads=list(predictor.leads),
    )
