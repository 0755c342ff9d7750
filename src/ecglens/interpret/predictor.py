"""What interpretation needs from a diagnostic model, and reading its prediction.

The models stage (``ecglens.models.load_predictor``) owns the network, its preprocessing,
calibration and thresholds; interpretation only reads them through this narrow interface, so
that any predictor with the same methods (an ensemble, a future model) plugs in unchanged.

``Predictor.predict`` scores every task (six label sets, age, sex); interpretation needs one
label set and age. ``score`` runs just those — each member once (the predictor's member cache),
the forward pass kept with its autograd graph so that the explanations reuse it instead of
running the network again — using the predictor's documented contract: calibrated probability
= sigmoid(logits(x, task) / temperature(task)), thresholds from the bundle's ``tasks`` spec
(models/bundle.py). tests/test_interpret_cli.py checks it equals ``Predictor.predict``.
"""

from __future__ import annotations

import hashlib
import inspect
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
    def temperature(self, task: str) -> float: ...
    def info(self) -> Any: ...


@dataclass(frozen=True)
class Scores:
    labels: dict[str, tuple[float, float, float | None]]  # code -> (p, F1 thr, high-spec thr)
    age_years: float | None
    warnings: list[str]
    x: torch.Tensor | None = None  # the model input (requires grad when kept for explanations)
    logits: torch.Tensor | None = None  # (1, n_labels), with its graph when x requires grad


def _accepts_cache(fn: Any) -> bool:
    try:
        return "cache" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def score(predictor: PredictorLike, ecg: ECG, task: str, *, keep_graph: bool) -> Scores:
    """Calibrated probabilities, thresholds and ECG-age, with one forward pass per member.

    Falls back to ``predictor.predict`` for predictors without a bundle spec. Raises
    ECGSignalError when the model refuses the record (missing leads, NaNs, too short).
    """
    spec = getattr(predictor, "spec", None)
    if not isinstance(spec, dict) or task not in spec.get("tasks", {}):
        return label_scores(predictor, ecg, task)
    notes: list[str] = []
    x = predictor.preprocess(ecg, warnings=notes)  # type: ignore[call-arg]
    labels = list(predictor.labels(task))
    t = spec["tasks"][task]
    # one cache for the label set and the age head: each member runs once (Predictor API)
    kw: dict[str, Any] = {"cache": {}} if _accepts_cache(predictor.logits) else {}
    age = None
    with torch.set_grad_enabled(keep_graph):
        if keep_graph:
            x = x.detach().requires_grad_(True)
        z = predictor.logits(x, task, **kw)
        if "age" in spec["tasks"] and hasattr(predictor, "age_years"):
            age = float(predictor.age_years(x, **kw).detach()[0])
    p = torch.sigmoid(z.detach() / predictor.temperature(task))[0].tolist()
    spec95 = t.get("thresholds_spec95")
    out = {code: (float(p[i]), float(t["thresholds_f1"][i]),
                  None if spec95 is None else float(spec95[i]))
           for i, code in enumerate(labels)}
    return Scores(labels=out, age_years=age, warnings=notes, x=x if keep_graph else None,
                  logits=z if keep_graph else None)


def label_scores(predictor: PredictorLike, ecg: ECG, task: str) -> Scores:
    """Calibrated probabilities and both thresholds of every label of ``task``.

    Raises ECGSignalError when the model refuses the record (missing leads, NaNs, too short).
    """
    pred = predictor.predict(ecg)
    tp = pred.tasks[task]
    out = {code: (float(tp.probabilities[code]), float(tp.thresholds_f1[code]),
                  float(tp.thresholds_high_specificity[code])
                  if code in tp.thresholds_high_specificity else None)
           for code in predictor.labels(task)}
    return Scores(labels=out, age_years=pred.age_years, warnings=list(pred.warnings))


def input_start_s(predictor: PredictorLike, ecg: ECG) -> float:
    """Where the model's input starts in the record: long records are cut to their centre."""
    from ecglens.models.predictor import MAX_SECONDS

    max_s = float(getattr(predictor, "max_seconds", MAX_SECONDS))
    n = round(ecg.n_samples * predictor.fs / ecg.fs)
    max_n = round(max_s * predictor.fs)
    return ((n - max_n) // 2) / predictor.fs if n > max_n else 0.0


def model_info(predictor: PredictorLike, task: str) -> ModelInfo:
    info = predictor.info()
    # one checksum for the ensemble: the SHA-256 of the members' sorted "file sha" lines
    lines = "\n".join(f"{f} {h}" for f, h in sorted(info.weights_sha256.items()))
    return ModelInfo(
        name=info.name,
        version=info.version,
        sha256=hashlib.sha256(lines.encode()).hexdigest(),
        weights_sha256=dict(info.weights_sha256),
        task=task,
        sampling_rate_hz=float(predictor.fs),
        leads=list(predictor.leads),
    )
