"""The shipped diagnostic model as one object: preprocessing, ensemble logits, calibration.

``load_predictor()`` gives ``DEFAULT_MODEL``. ``Predictor.logits`` is differentiable with
respect to its input, so attribution methods (integrated gradients, saliency) can use it.

Calibration lives here once: ``calibrate`` (``sigmoid(logits / temperature)``, the per-label
offsets being part of ``logits``) and ``task_prediction`` (probabilities, thresholds, positive
labels). ``predict`` scores every task with them; ``score`` scores one label set and ECG-age,
keeping the forward pass for explanations, and is what the interpretation stage calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from scipy.signal import resample_poly

from ecglens.exceptions import ECGSignalError, ModelError
from ecglens.models.bundle import Member, load_member, read_bundle_card, resolve_bundle_dir
from ecglens.models.card import BundleCard
from ecglens.models.feature_model import FeatureModel, load_feature_model
from ecglens.models.prediction import ModelInfo, Prediction, TaskPrediction
from ecglens.models.windows import windowed_outputs
from ecglens.record import ECG, STANDARD_LEADS, derive_limb_leads

REQUIRED_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
MIN_SECONDS = 2.5
MAX_SECONDS = 10.0


@dataclass(frozen=True)
class Scores:
    """One label set scored on one ECG (``Predictor.score``), for interpretation."""

    prediction: TaskPrediction
    age_years: float | None
    warnings: list[str]
    x: torch.Tensor | None = None  # the model input (requires grad when kept for explanations)
    logits: torch.Tensor | None = None  # (1, n_labels), with its graph when x requires grad

    @property
    def labels(self) -> dict[str, tuple[float, float, float | None]]:
        """code -> (probability, F1 threshold, high-specificity threshold or None)."""
        tp = self.prediction
        return {code: (p, tp.thresholds_f1[code], tp.thresholds_high_specificity.get(code))
                for code, p in tp.probabilities.items()}


class Predictor:
    """An ensemble of multi-task networks with per-task temperatures and thresholds."""

    def __init__(self, folder: Path) -> None:
        card = read_bundle_card(folder)  # validated once, here
        self.folder = folder
        self.card: BundleCard = card
        self.name: str = card.name
        self.version: str = card.version
        self.fs: float = card.fs
        self.leads: tuple[str, ...] = tuple(card.leads)
        self.members: dict[str, Member] = {
            m.name: load_member(folder, m.name, expected_sha256=m.sha256) for m in card.members}
        self._mean = torch.tensor(card.input_mean, dtype=torch.float32)[None, :, None]
        self._std = torch.tensor(card.input_std, dtype=torch.float32)[None, :, None]
        # measurement-feature models blended into a task's logits (bundle.json "feature_model")
        self.feature_models: dict[str, FeatureModel] = {
            task: load_feature_model(folder, t.feature_model, list(t.labels or []))
            for task, t in card.tasks.items() if t.feature_model is not None}

    # ---- description -------------------------------------------------------------------
    @property
    def tasks(self) -> list[str]:
        return list(self.card.tasks)

    def labels(self, task: str) -> list[str]:
        if task in ("age", "sex"):
            return [task]
        return list(self.card.task(task).labels or [])

    def temperature(self, task: str) -> float:
        return self.card.task(task).temperature

    # ---- preprocessing -----------------------------------------------------------------
    def preprocess(self, ecg: ECG, *, warnings: list[str] | None = None) -> torch.Tensor:
        """ECG (any rate, ≥ 8 independent leads, 2.5 s or more) -> (1, 12, T) standardised.

        III, aVR, aVL and aVF are always derived from I and II, as in training. Longer records
        are cut to their central 10 s (the length the model was trained on). Refuses NaNs,
        missing leads, records shorter than 2.5 s and flat lines with ``ECGSignalError``.
        """
        notes = warnings if warnings is not None else []
        missing = [lead for lead in REQUIRED_LEADS if lead not in ecg.leads]
        if missing:
            raise ECGSignalError(f"the model needs leads {', '.join(REQUIRED_LEADS)}; this "
                                 f"record lacks {', '.join(missing)}")
        sig = np.stack([ecg.signal[:, ecg.leads.index(lead)] for lead in REQUIRED_LEADS], axis=1)
        if not np.isfinite(sig).all():
            raise ECGSignalError("the signal contains missing (NaN) or infinite samples; "
                                 "the model refuses incomplete records")
        if sig.shape[0] / ecg.fs < MIN_SECONDS:
            raise ECGSignalError(f"record is {sig.shape[0] / ecg.fs:.2f} s long; the model "
                                 f"needs at least {MIN_SECONDS} s")
        if abs(ecg.fs - self.fs) > 1e-6:
            ratio = Fraction(self.fs / ecg.fs).limit_denominator(1000)
            sig = resample_poly(sig, ratio.numerator, ratio.denominator, axis=0)
            notes.append(f"resampled from {ecg.fs:g} Hz to {self.fs:g} Hz")
        max_n = round(MAX_SECONDS * self.fs)
        if sig.shape[0] > max_n:
            start = (sig.shape[0] - max_n) // 2
            sig = sig[start:start + max_n]
            notes.append(f"used the central {MAX_SECONDS:g} s of a longer record")
        if (np.ptp(sig, axis=0) < 0.01).all():
            raise ECGSignalError("every lead is flat (peak-to-peak below 10 µV); no ECG to read")
        limb = derive_limb_leads(sig[:, 0], sig[:, 1])
        if any(lead not in ecg.leads for lead in ("III", "aVR", "aVL", "aVF")):
            notes.append("III, aVR, aVL, aVF derived from I and II")
        by_name = {"I": sig[:, 0], "II": sig[:, 1], **limb,
                   **{lead: sig[:, 2 + i] for i, lead in enumerate(REQUIRED_LEADS[2:])}}
        x = np.stack([by_name[lead] for lead in STANDARD_LEADS], axis=0)[None].astype(np.float32)
        return (torch.from_numpy(x) - self._mean) / self._std

    # ---- inference ---------------------------------------------------------------------
    def standardise(self, x_mv: np.ndarray) -> torch.Tensor:
        """(B, 12, T) float mV at ``fs``, standard lead order -> standardised tensor."""
        return (torch.from_numpy(np.asarray(x_mv, dtype=np.float32)) - self._mean) / self._std

    def task_members(self, task: str) -> list[str]:
        return list(self.card.task(task).members)

    def member_outputs(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """One member's window-aggregated raw outputs for every task, (B, n_outputs)."""
        m = self.members[name]
        return windowed_outputs(m.network, x, m.layout, window=m.window, stride=m.stride)

    def outputs(self, x: torch.Tensor, task: str, *,
                cache: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Mean over the task's members of each member's window-aggregated outputs
        (uncalibrated logits for label tasks and sex, standardised age for age). ``cache``
        keeps member outputs between tasks of one input."""
        outs = []
        for name in self.card.task(task).members:
            m = self.members[name]
            if cache is None or name not in cache:
                full = self.member_outputs(name, x)
                if cache is not None:
                    cache[name] = full
            else:
                full = cache[name]
            outs.append(full[:, m.layout.slice(task)])
        return torch.stack(outs).mean(dim=0)

    def feature_model(self, task: str) -> FeatureModel | None:
        """The task's measurement-feature model, or None when its logits are the networks'."""
        self.card.task(task)
        return self.feature_models.get(task)

    def feature_logits(self, x: torch.Tensor, task: str, *,
                       cache: dict[str, torch.Tensor] | None = None) -> torch.Tensor | None:
        """The feature model's raw scores for standardised input ``x`` (None without one).

        Measured on the same mV signal the networks read (``x`` de-standardised), so training,
        evaluation and prediction see one signal. Constant with respect to ``x`` for autograd.
        """
        fm = self.feature_models.get(task)
        if fm is None:
            return None
        key = f"features:{fm.key}"  # tasks sharing a feature model measure once
        if cache is not None and key in cache:
            return cache[key]
        mv = (x.detach() * self._std + self._mean).cpu().numpy().astype(np.float64)
        out = torch.as_tensor(fm.raw(mv, self.fs), dtype=torch.float32)
        if cache is not None:
            cache[key] = out
        return out

    def logit_bias(self, task: str) -> np.ndarray:
        """Per-label offsets fitted with the temperature (zeros where the bundle has none)."""
        return self.card.task(task).bias()

    def logits(self, x: torch.Tensor, task: str, *,
               cache: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """(B, 12, T) standardised input -> (B, n_labels) logits; ``sigmoid(logits / T)`` with
        ``T = temperature(task)`` are the calibrated probabilities."""
        if task == "age":
            raise ModelError("age is a regression output; use predict() or age_years()")
        bias = torch.as_tensor(self.logit_bias(task), dtype=torch.float32)
        z = self.outputs(x, task, cache=cache)
        feats = self.feature_logits(x, task, cache=cache)
        if feats is not None:
            z = self.feature_models[task].blend(z, feats.to(z.device))
        return z + bias

    def age_years(self, x: torch.Tensor, *,
                  cache: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """ECG-age in years, (B,). All members share one age standardisation (training folds)."""
        layout = self.members[self.card.task("age").members[0]].layout
        return (self.outputs(x, "age", cache=cache) * layout.age_std + layout.age_mean)[:, 0]

    # ---- calibration: the one place probabilities and decisions are made -----------------
    def calibrate(self, logits: torch.Tensor, task: str) -> torch.Tensor:
        """Calibrated probabilities ``sigmoid(logits / temperature(task))`` of ``logits(x, task)``
        (whose per-label offsets are already added)."""
        return torch.sigmoid(logits / self.temperature(task))

    def task_prediction(self, logits: torch.Tensor, task: str) -> TaskPrediction:
        """The first row of ``logits(x, task)`` as probabilities, both thresholds of every
        label, and the labels at or above their F1 threshold, most probable first."""
        t = self.card.task(task)
        labels = list(t.labels or [])
        p = self.calibrate(logits.detach(), task)[0].tolist()
        probs = {lab: float(v) for lab, v in zip(labels, p, strict=False)}
        thr = dict(zip(labels, map(float, t.thresholds_f1 or []), strict=False))
        spec95 = dict(zip(labels, map(float, t.thresholds_spec95 or []), strict=False))
        pos = sorted((lab for lab in labels if probs[lab] >= thr[lab]),
                     key=lambda lab: -probs[lab])
        return TaskPrediction(probabilities=probs, thresholds_f1=thr,
                              thresholds_high_specificity=spec95, positive=pos)

    def score(self, ecg: ECG, task: str, *, keep_graph: bool = False) -> Scores:
        """One label set and ECG-age for ``ecg``, each member run once.

        With ``keep_graph`` the input requires grad and the logits keep their autograd graph, so
        explanations reuse this forward pass instead of running the networks again. Raises
        ``ECGSignalError`` when the model refuses the record (missing leads, NaNs, too short).
        """
        if task not in self.card.tasks or task in ("age", "sex"):
            self.card.task(task)  # an unknown task: ModelError naming the known ones
            raise ModelError(f"{task!r} is not a label set of model {self.name}")
        notes: list[str] = []
        x = self.preprocess(ecg, warnings=notes)
        cache: dict[str, torch.Tensor] = {}  # the label set and the age head share members
        age = None
        with torch.set_grad_enabled(keep_graph):
            if keep_graph:
                x = x.detach().requires_grad_(True)
            z = self.logits(x, task, cache=cache)
            if "age" in self.card.tasks:
                age = float(self.age_years(x, cache=cache).detach()[0])
        return Scores(prediction=self.task_prediction(z, task), age_years=age, warnings=notes,
                      x=x if keep_graph else None, logits=z if keep_graph else None)

    @torch.no_grad()
    def predict(self, ecg: ECG) -> Prediction:
        """Every task of the model for ``ecg``: the label sets, ECG-age, P(female)."""
        notes: list[str] = []
        x = self.preprocess(ecg, warnings=notes)
        cache: dict[str, torch.Tensor] = {}  # each member runs once for all tasks
        tasks = {task: self.task_prediction(self.logits(x, task, cache=cache), task)
                 for task in self.tasks if task not in ("age", "sex")}
        age = float(self.age_years(x, cache=cache)[0]) if "age" in self.card.tasks else None
        sex = (float(self.calibrate(self.logits(x, "sex", cache=cache), "sex")[0, 0])
               if "sex" in self.card.tasks else None)
        return Prediction(tasks=tasks, age_years=age, sex_female_probability=sex,
                          model=self.info(), warnings=notes)

    def info(self, task: str | None = None) -> ModelInfo:
        """The model's name, version and checksums (``task``: the label set a result read)."""
        files = {m.file: m.sha256 for m in self.members.values()}
        for fm in self.feature_models.values():
            files.update(fm.files)
        return ModelInfo(name=self.name, version=self.version, sha256=ModelInfo.checksum(files),
                         weights_sha256=files, task=task, sampling_rate_hz=self.fs,
                         leads=list(self.leads))


_CACHE: dict[str, Predictor] = {}


def load_predictor(name: str | Path | None = None) -> Predictor:
    """``DEFAULT_MODEL`` (``name=None``) or a bundle by name or folder; cached per folder."""
    folder = resolve_bundle_dir(name).resolve()
    key = str(folder)
    if key not in _CACHE:
        torch.set_grad_enabled(True)
        _CACHE[key] = Predictor(folder)
    return _CACHE[key]
