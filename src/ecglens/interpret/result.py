"""The one result of ``ecglens interpret``: defined here once, reused by the CLI, the API,
the PDF/PNG report and the FHIR export.

Everything a reader needs to trust or distrust a finding travels with it: the calibrated
probability, the threshold it was compared with, the checks against the measurements, and the
explanation (which leads, which part of the beat). Patient identity is absent unless the caller
asked for it; age and sex are kept because the reading depends on them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ecglens.explain.results import AttributionMap, Explanation, LeadShare
from ecglens.interpret.labels import Category
from ecglens.measure.results import LeadReversal, Measurements
from ecglens.models.prediction import ModelInfo  # the one model description (re-exported)
from ecglens.signal.results import Quality

#: bump the major part when a field changes meaning or disappears, the minor part when one is added
SCHEMA_VERSION = "1.2"  # 1.1: Explanation.beat_parts; 1.2: the "before QRS (P absent)" part


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatientInfo(_Model):
    """Age and sex always; identity only with ``show_patient`` (otherwise ``None``)."""

    age_years: float | None = None
    sex: str | None = None
    name: str | None = None
    patient_id: str | None = None
    birth_date: str | None = None
    deidentified: bool = True


class RecordInfo(_Model):
    file: str | None = None  # base name only: directories can carry identifiers
    format: str
    leads: list[str]
    sampling_rate_hz: float
    n_samples: int
    duration_s: float
    acquisition_time: datetime | None = None  # only with show_patient: a date is an identifier
    device: str | None = None
    device_statements: list[str] = []


class Abstention(_Model):
    """``abstained`` means: no diagnosis should be read from this ECG; ``reasons`` say why."""

    abstained: bool = False
    reasons: list[str] = []
    # not abstained, but the signal is limited: no finding is marked confident, and why
    caution: list[str] = []


class ConsistencyFlag(_Model):
    """A disagreement between a network finding and what was measured on the signal."""

    finding: str  # SCP code
    check: str  # what the finding requires, e.g. "QRS duration ≥ 120 ms"
    observed: str  # what was measured, e.g. "QRS 96 ms"
    message: str


class Finding(_Model):
    code: str  # PTB-XL SCP-ECG statement code
    label: str  # plain language
    category: Category
    priority: int
    probability: float = Field(ge=0.0, le=1.0)  # calibrated
    threshold: float  # the threshold the probability was compared with (F1-optimal on fold 9)
    threshold_high_specificity: float | None = None
    confident: bool  # also above the high-specificity threshold and >= 0.5, no caution
    snomed: str | None = None
    consistency: list[str] = []  # messages of the ConsistencyFlags about this finding
    explanation: Explanation | None = None


class EcgAge(_Model):
    predicted_years: float
    stated_years: float | None = None
    difference_years: float | None = None  # predicted − stated


class Interpretation(_Model):
    schema_version: str = SCHEMA_VERSION
    ecglens_version: str
    created: datetime
    record: RecordInfo
    patient: PatientInfo
    quality: Quality
    lead_reversal: LeadReversal
    measurements: Measurements
    abstention: Abstention
    findings: list[Finding] = []  # empty when abstained
    consistency: list[ConsistencyFlag] = []
    ecg_age: EcgAge | None = None
    models: list[ModelInfo] = []
    notes: list[str] = []  # what preprocessing had to do (resampling, derived leads, cropping)
    kind: Literal["ecglens.interpretation"] = "ecglens.interpretation"

    @property
    def top_finding(self) -> Finding | None:
        return self.findings[0] if self.findings else None
