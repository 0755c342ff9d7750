"""Result schemas of lead-reversal detection and measurement (quality: ``ecglens.signal.results``).

Defined once; reused by the CLI, the interpretation result, the API, FHIR and the PDF report.
All durations are milliseconds, axes degrees. A value that could not be measured is ``None``
with its reason in ``Measurements.not_measured``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class LeadReversal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suspected: str | None = None  # "LA/RA", "LA/LL", "RA/LL", "V1/V2", ... or None
    confidence: float = 0.0  # the suspected swap's model score in [0, 1] (not a probability)
    # how often a correctly wired ECG scores at least this high for the suspected swap
    # (PTB-XL calibration records; see weights/measure/reversal-thresholds.json)
    false_alarm_rate: float | None = None
    scores: dict[str, float] = {}  # score of every swap that was tested
    not_assessed: str | None = None  # why no verdict is given (the scores are then only shown)

    def rarity(self) -> str:
        """How often a correctly wired ECG looks like this, in words, for a suspected swap."""
        rate = self.false_alarm_rate
        if rate is None:
            return f"score {self.confidence:.2f}"
        shown = "< 0.01 %" if rate < 1e-4 else f"{100 * rate:.2f} %"
        return f"score {self.confidence:.2f}, reached by {shown} of correctly wired ECGs"

    def withdrawn(self, reason: str) -> LeadReversal:
        """The same scores without a verdict, saying why none is given."""
        return LeadReversal(scores=self.scores, not_assessed=reason)


class Measurements(BaseModel):
    """Global (all-lead) measurements of one ECG, as a clinical electrocardiograph prints them."""

    model_config = ConfigDict(extra="forbid")

    heart_rate_bpm: float | None = None
    rr_ms: float | None = None
    p_duration_ms: float | None = None
    pr_ms: float | None = None
    qrs_ms: float | None = None
    qt_ms: float | None = None
    qtc_bazett_ms: float | None = None
    qtc_fridericia_ms: float | None = None
    qtc_framingham_ms: float | None = None
    qtc_hodges_ms: float | None = None
    p_axis_deg: float | None = None
    qrs_axis_deg: float | None = None
    t_axis_deg: float | None = None
    not_measured: dict[str, str] = {}  # field name -> reason it is None

    def without_p(self, reason: str) -> Measurements:
        """The same measurements with the atrial ones (P duration, PR, P axis) withheld."""
        why = {**self.not_measured, **dict.fromkeys(P_FIELDS, reason)}
        return self.model_copy(update={**dict.fromkeys(P_FIELDS), "not_measured": why})


#: the measurements that exist only where there is a P wave
P_FIELDS = ("p_duration_ms", "pr_ms", "p_axis_deg")
