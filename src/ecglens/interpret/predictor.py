"""What interpretation needs from a diagnostic model.

The models stage (``ecglens.models.load_predictor``) owns the network, its preprocessing,
calibration and thresholds; interpretation reads them through this narrow interface, so that
any predictor with the same methods (an ensemble, a future model) plugs in unchanged.

``Predictor.score`` scores the one label set interpretation reads, and ECG-age, running each
member once and keeping the forward pass with its autograd graph so that the explanations reuse
it. Calibration is the predictor's (``Predictor.calibrate`` / ``task_prediction``), the same
code ``Predictor.predict`` uses, so ``ecglens interpret`` and ``ecglens predict`` report the
same probabilities for the same file and model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from ecglens.models.prediction import ModelInfo
from ecglens.models.predictor import MAX_SECONDS, Scores
from ecglens.record import ECG

__all__ = ["PredictorLike", "Scores", "input_start_s", "label_scores", "model_info", "score"]


@runtime_checkable
class PredictorLike(Protocol):
    fs: float
    leads: Sequence[str]
    tasks: Sequence[str]

    def labels(self, task: str) -> Sequence[str]: ...
    def predict(self, ecg: ECG) -> Any: ...
    def score(self, ecg: ECG, task: str, *, keep_graph: bool = False) -> Scores: ...
    def preprocess(self, ecg: ECG) -> torch.Tensor: ...
    def logits(self, x: torch.Tensor, task: str) -> torch.Tensor: ...
    def info(self, task: str | None = None) -> ModelInfo: ...


def score(predictor: PredictorLike, ecg: ECG, task: str, *, keep_graph: bool) -> Scores:
    """Calibrated probabilities, thresholds and ECG-age: ``predictor.score``.

    Raises ECGSignalError when the model refuses the record (missing leads, NaNs, too short).
    """
    return predictor.score(ecg, task, keep_graph=keep_graph)


def label_scores(predictor: PredictorLike, ecg: ECG, task: str) -> Scores:
    """The same scores read from ``predictor.predict`` (every task; no graph kept)."""
    pred = predictor.predict(ecg)
    return Scores(prediction=pred.tasks[task], age_years=pred.age_years,
                  warnings=list(pred.warnings))


def input_start_s(predictor: PredictorLike, ecg: ECG) -> float:
    """Where the model's input starts in the record: long records are cut to their centre."""
    max_s = float(getattr(predictor, "max_seconds", MAX_SECONDS))
    n = round(ecg.n_samples * predictor.fs / ecg.fs)
    max_n = round(max_s * predictor.fs)
    return ((n - max_n) // 2) / predictor.fs if n > max_n else 0.0


def model_info(predictor: PredictorLike, task: str) -> ModelInfo:
    """The model as an interpretation records it: ``predictor.info`` with the task it read."""
    return predictor.info(task)
