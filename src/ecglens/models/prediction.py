"""What a diagnostic model returns for one ECG (pydantic, so CLI, API and reports share it)."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field


class TaskPrediction(BaseModel):
    """Calibrated probabilities of one label set, with the decision thresholds chosen on the
    validation fold (PTB-XL fold 9)."""

    model_config = ConfigDict(extra="forbid")

    probabilities: dict[str, float]
    thresholds_f1: dict[str, float] = Field(
        description="per label, the threshold that maximised F1 on fold 9")
    thresholds_high_specificity: dict[str, float] = Field(
        description="per label, the lowest threshold with specificity >= 0.95 on fold 9")
    positive: list[str] = Field(description="labels at or above their F1 threshold, most "
                                            "probable first")


class ModelInfo(BaseModel):
    """The model behind a result: one description for ``predict``, ``interpret`` (each
    ``Interpretation.models`` entry), the API and the service."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    sha256: str = Field(description="of the whole model: SHA-256 of the sorted 'file sha256' "
                                    "lines of its weight files (one checksum for an ensemble)")
    weights_sha256: dict[str, str] = Field(
        default_factory=dict, description="file name -> SHA-256 of each weight file")
    task: str | None = Field(None, description="the label set an interpretation read "
                                               "(None: a prediction of every task)")
    sampling_rate_hz: float = Field(description="the rate the networks read; input is resampled")
    leads: list[str]

    @staticmethod
    def checksum(weights_sha256: dict[str, str]) -> str:
        lines = "\n".join(f"{f} {h}" for f, h in sorted(weights_sha256.items()))
        return hashlib.sha256(lines.encode()).hexdigest()


class Prediction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: dict[str, TaskPrediction]
    age_years: float | None = Field(None, description="ECG-estimated age (regression head)")
    sex_female_probability: float | None = Field(
        None, description="calibrated probability that the ECG is from a female patient")
    model: ModelInfo
    warnings: list[str] = Field(default_factory=list,
                                description="what preprocessing had to do (resampling, "
                                            "derived leads, cropping, padding)")

    @property
    def sex(self) -> float | None:
        """Probability female (alias of ``sex_female_probability``)."""
        return self.sex_female_probability
