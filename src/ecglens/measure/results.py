"""Result schemas of lead-reversal detection and measurement (quality: ``ecglens.signal.results``).

Defined once; reused by the CLI, the interpretation result, the API, FHIR and the PDF report.
All durations are milliseconds, axes degrees. A value that could not be measured is ``None``
with its reason in ``Measurements.not_measured``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ecglens.signal.results import Quality


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


class MeasurementSpec(BaseModel):
    """How one measurement is named and shown: defined here once for the CLI, the PDF, FHIR
    and the viewer (which reads the list from ``GET /api/v1/schema``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str  # the Measurements attribute
    label: str
    unit: str
    #: the adult range outside which a value is flagged for attention (not a diagnosis)
    low: float | None = None
    high: float | None = None


MEASUREMENT_SPECS: tuple[MeasurementSpec, ...] = tuple(
    MeasurementSpec(field=f, label=label, unit=unit, low=low, high=high)
    for f, label, unit, low, high in (
        ("heart_rate_bpm", "Heart rate", "bpm", 50, 100),
        ("rr_ms", "RR interval", "ms", 600, 1200),
        ("p_duration_ms", "P duration", "ms", None, 120),
        ("pr_ms", "PR interval", "ms", 120, 200),
        ("qrs_ms", "QRS duration", "ms", None, 120),
        ("qt_ms", "QT interval", "ms", None, None),
        ("qtc_bazett_ms", "QTc Bazett", "ms", None, 460),
        ("qtc_fridericia_ms", "QTc Fridericia", "ms", None, 460),
        ("qtc_framingham_ms", "QTc Framingham", "ms", None, 460),
        ("qtc_hodges_ms", "QTc Hodges", "ms", None, 460),
        ("p_axis_deg", "P axis", "°", 0, 75),
        ("qrs_axis_deg", "QRS axis", "°", -30, 90),
        ("t_axis_deg", "T axis", "°", None, None),
    )
)
#: the measurement fields, in print order
MEASUREMENT_FIELDS: tuple[str, ...] = tuple(s.field for s in MEASUREMENT_SPECS)

#: bump the major part when a field changes meaning or disappears, the minor part when one is added
MEASUREMENT_REPORT_VERSION = "1.0"
#: the highest rate median beats are kept at: a cart's median beat is 500 Hz; records sampled
#: faster are resampled to it, slower ones are kept at their own rate (nothing is invented)
MEDIAN_BEAT_MAX_FS = 500.0


class BeatSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = 0
    premature_ventricular: int = 0  # beats of another QRS morphology (ectopic or paced)
    premature_supraventricular: int = 0  # early beats with the dominant QRS
    rr_irregular: bool = False
    p_waves_present: bool = False


class Pacing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paced: bool = False
    spikes_ms_from_r: list[float] = []  # relative to the median beat's R peak: negative = before


class MedianBeats(BaseModel):
    """The representative beat of every lead, the one the measurements were made on."""

    model_config = ConfigDict(extra="forbid")

    fs: float  # samples per second of ``values_uv``, at most MEDIAN_BEAT_MAX_FS
    start_ms: float  # time of the first sample relative to the R peak (negative)
    leads: list[str]
    values_uv: list[list[int | None]]  # leads × samples, µV (1 µV steps); None: no beat covers it
    #: the delineation, ms from the R peak (None where not found)
    fiducials_ms: dict[str, float | None] = {}


class MeasurementReport(BaseModel):
    """Everything the measurement stage reports about one ECG, versioned: what ``ecglens measure
    --json`` prints (``measurements`` flattened to the top for compatibility) and what travels
    inside the interpretation to the PDF, the viewer and FHIR."""

    model_config = ConfigDict(extra="forbid")

    version: str = MEASUREMENT_REPORT_VERSION
    measurements: Measurements = Measurements()
    quality: Quality
    lead_reversal: LeadReversal = LeadReversal()
    beats: BeatSummary = BeatSummary()
    pacing: Pacing = Pacing()
    median_beats: MedianBeats | None = None
