"""The one result of ``ecglens interpret``: defined here once, reused by the CLI, the API,
the PDF/PNG report and the FHIR export.

Everything a reader needs to trust or distrust a finding travels with it: the calibrated
probability, the threshold it was compared with, the checks against the measurements, and the
explanation (which leads, which part of the beat). Patient identity is absent unless the caller
asked for it; age and sex are kept because the reading depends on them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from ecglens.explain.results import Explanation
from ecglens.interpret.labels import Category
from ecglens.measure.results import LeadReversal, MeasurementReport, Measurements
from ecglens.models.prediction import ModelInfo  # the one model description (re-exported)
from ecglens.signal.results import Quality

#: bump the major part when a field changes meaning or disappears, the minor part when one is added
#: 1.1: Explanation.beat_parts; 1.2: the "before QRS (P absent)" part; 1.3: ``measurement``, the
#: measurement stage's whole report (beats, pacing, median beats), of which the top-level
#: ``measurements``, ``quality`` and ``lead_reversal`` are now mirrors (to be dropped in 2.0);
#: 1.4: the statement engine: ``Finding.source`` (probability and thresholds ``None`` for a
#: statement made from the measurements alone), ``findings`` in print order, top-level
#: ``summary`` and ``statements``
SCHEMA_VERSION = "1.4"

#: where a statement comes from: the network, the measurement stage, or both agreeing
Source = Literal["network", "measurement", "both"]
#: the overall line, as carts print it (rule: ``ecglens.interpret.statements.overall``)
Summary = Literal["normal", "otherwise normal", "borderline", "abnormal"]


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
    code: str  # PTB-XL SCP-ECG statement code, else an ecglens code (labels.ECGLENS_STATEMENTS)
    label: str  # plain language
    category: Category
    priority: int
    #: calibrated network probability; None for a statement made from the measurements alone
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    #: the threshold the probability was compared with (F1-optimal on fold 9); None as above
    threshold: float | None = None
    threshold_high_specificity: float | None = None
    confident: bool  # a headline statement (rules: ecglens.interpret.statements)
    source: Source = "network"
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
    #: the measurement stage's report, as the interpretation reconciled it (P and PR withheld
    #: where the network reads AF or flutter; lead reversal withdrawn in a paced rhythm)
    measurement: MeasurementReport
    abstention: Abstention
    findings: list[Finding] = []  # in print order; empty when abstained
    #: the overall line (None when abstained or no network was run)
    summary: Summary | None = None
    statements: list[str] = []  # the printed statement lines, in order
    consistency: list[ConsistencyFlag] = []
    ecg_age: EcgAge | None = None
    models: list[ModelInfo] = []
    notes: list[str] = []  # what preprocessing had to do (resampling, derived leads, cropping)
    kind: Literal["ecglens.interpretation"] = "ecglens.interpretation"

    # 1.x readers find these at the top level; they mirror ``measurement`` and are not read back
    # (prop-decorator: mypy does not accept a decorator over @property, pydantic requires it)
    @computed_field  # type: ignore[prop-decorator]
    @property
    def quality(self) -> Quality:
        return self.measurement.quality

    @computed_field  # type: ignore[prop-decorator]
    @property
    def lead_reversal(self) -> LeadReversal:
        return self.measurement.lead_reversal

    @computed_field  # type: ignore[prop-decorator]
    @property
    def measurements(self) -> Measurements:
        return self.measurement.measurements

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        """Read results of every 1.x schema: before 1.3 the measurement stage's results were
        the three top-level fields; from 1.3 on those are mirrors of ``measurement``."""
        if not isinstance(data, dict):
            return data
        mirrors = {k: data[k] for k in ("quality", "lead_reversal", "measurements") if k in data}
        if not mirrors:
            return data
        data = {k: v for k, v in data.items() if k not in mirrors}
        if "measurement" not in data:
            data["measurement"] = MeasurementReport(**mirrors)
        return data

    @property
    def top_finding(self) -> Finding | None:
        return self.findings[0] if self.findings else None
