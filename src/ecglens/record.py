"""The one in-memory ECG record that flows through every stage of ecglens.

Signals are stored in **millivolts** as float64, shape ``(n_samples, n_leads)`` (the wfdb
``p_signal`` convention). Patient fields are PHI and live apart from the signal so that
de-identification and logging can treat them separately.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ecglens.exceptions import ECGSignalError

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)

_ALIASES = {
    "i": "I", "ii": "II", "iii": "III",
    "avr": "aVR", "avl": "aVL", "avf": "aVF",
    "v1": "V1", "v2": "V2", "v3": "V3", "v4": "V4", "v5": "V5", "v6": "V6",
    "mdc_ecg_lead_i": "I", "mdc_ecg_lead_ii": "II", "mdc_ecg_lead_iii": "III",
    "mdc_ecg_lead_avr": "aVR", "mdc_ecg_lead_avl": "aVL", "mdc_ecg_lead_avf": "aVF",
    "lead i": "I", "lead ii": "II", "lead iii": "III",
    "lead avr": "aVR", "lead avl": "aVL", "lead avf": "aVF",
    "mlii": "MLII", "ml2": "MLII",
}


def normalize_lead_name(name: str) -> str:
    """Map a vendor's lead label (``MDC_ECG_LEAD_AVR``, ``avr``, ``Lead V1``) to its standard name.

    Names that are not one of the 12 standard leads are returned stripped but otherwise unchanged.
    """
    key = name.strip().lower().replace("-", "_")
    if key in _ALIASES:
        return _ALIASES[key]
    for prefix in ("mdc_ecg_lead_", "lead_", "lead "):
        if key.startswith(prefix):
            rest = key[len(prefix):]
            if rest in _ALIASES:
                return _ALIASES[rest]
    return name.strip()


def derive_limb_leads(lead_i: np.ndarray, lead_ii: np.ndarray) -> dict[str, np.ndarray]:
    """Einthoven and Goldberger: III, aVR, aVL, aVF from I and II."""
    return {
        "III": lead_ii - lead_i,
        "aVR": -(lead_i + lead_ii) / 2.0,
        "aVL": lead_i - lead_ii / 2.0,
        "aVF": lead_ii - lead_i / 2.0,
    }


class Patient(BaseModel):
    """Patient fields as stored by the device. All of it is PHI except sex and age."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    patient_id: str | None = None
    birth_date: date | None = None
    age_years: float | None = None
    sex: str | None = None  # "M", "F" or None
    height_cm: float | None = None
    weight_kg: float | None = None
    extra: dict[str, str] = {}


class Acquisition(BaseModel):
    """Where, when and how the ECG was recorded."""

    model_config = ConfigDict(extra="forbid")

    time: datetime | None = None
    device: str | None = None
    site: str | None = None
    filter_low_hz: float | None = None
    filter_high_hz: float | None = None
    notch_hz: float | None = None


class DeviceInterpretation(BaseModel):
    """What the recording device itself concluded (GE 12SL, Philips, SNOMED labels of a dataset).

    A free reference to compare our own measurements and findings with.
    """

    model_config = ConfigDict(extra="forbid")

    statements: list[str] = []
    codes: list[str] = []  # machine-readable codes (SNOMED-CT, SCP), when the file has them
    measurements: dict[str, float] = {}  # keys as in ecglens.measure: heart_rate_bpm, pr_ms, ...


@dataclass(frozen=True)
class ECG:
    """A multi-lead ECG in physical units.

    Missing samples are NaN. A file can say that a sample was not recorded (WFDB's "no sample"
    value, -32768 in format 16; SCP-ECG leads recorded one group after another; a DICOM padding
    value; an empty or ``nan`` cell of ecglens' own CSV/NPZ): such samples are NaN here, and
    every stage downstream treats NaN as missing (``measure`` interpolates over gaps and reports
    the missing fraction in its quality verdict; reports draw gaps). ``ecglens.io.read``
    guarantees the rest: no sample is ±inf or beyond ±50 mV
    (:data:`ecglens.io.limits.MAX_ABS_MV`), no lead is missing every sample (such a file is
    refused, naming the lead), and ``fs`` is within 1–100,000 Hz. An ECG built directly from
    arrays is not checked against these limits.

    Attributes:
        signal: samples × leads, millivolts, float64, NaN where a sample is missing. Read-only.
        fs: sampling rate in Hz.
        leads: lead names, standard names where the lead is one of the 12.
        patient, acquisition, device: metadata read from the file.
        source_format: the format the record was read from (``"wfdb"``, ``"hl7-aecg"``...).
        resolution_mv: per-lead quantisation step of the stored samples, when known.
    """

    signal: np.ndarray
    fs: float
    leads: tuple[str, ...]
    patient: Patient = field(default_factory=Patient)
    acquisition: Acquisition = field(default_factory=Acquisition)
    device: DeviceInterpretation = field(default_factory=DeviceInterpretation)
    source_format: str = "array"
    resolution_mv: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        sig = np.asarray(self.signal, dtype=np.float64)
        if sig.ndim == 1:
            sig = sig[:, None]
        if sig.ndim != 2:
            raise ECGSignalError(f"signal must be 2-D (samples × leads), got shape {sig.shape}")
        if sig.shape[1] != len(self.leads):
            raise ECGSignalError(
                f"signal has {sig.shape[1]} leads but {len(self.leads)} lead names were given"
            )
        if not (np.isfinite(self.fs) and self.fs > 0):
            raise ECGSignalError(f"sampling rate must be a positive number, got {self.fs!r}")
        if len(set(self.leads)) != len(self.leads):
            raise ECGSignalError(f"duplicate lead names: {list(self.leads)}")
        sig = np.array(sig, dtype=np.float64, copy=sig is self.signal)
        sig.setflags(write=False)
        object.__setattr__(self, "signal", sig)
        object.__setattr__(self, "leads", tuple(self.leads))
        object.__setattr__(self, "fs", float(self.fs))

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[0])

    @property
    def n_leads(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def lead(self, name: str) -> np.ndarray:
        """One lead's samples (mV)."""
        try:
            return self.signal[:, self.leads.index(name)]
        except ValueError:
            raise ECGSignalError(f"lead {name!r} not in record (has {list(self.leads)})") from None

    def has_standard_12(self) -> bool:
        return all(lead in self.leads for lead in STANDARD_LEADS)

    def replace(self, **changes: Any) -> ECG:
        return dataclasses.replace(self, **changes)

    def to_standard_12(self) -> ECG:
        """The 12 standard leads in standard order; derives III/aVR/aVL/aVF from I and II if absent.

        Raises ECGSignalError if a lead is missing and cannot be derived.
        """
        if self.leads == STANDARD_LEADS:
            return self
        cols: dict[str, np.ndarray] = {n: self.signal[:, i] for i, n in enumerate(self.leads)}
        res: list[float] | None = None
        if self.resolution_mv is not None:
            res_map = dict(zip(self.leads, self.resolution_mv, strict=False))
        if "I" in cols and "II" in cols:
            for name, values in derive_limb_leads(cols["I"], cols["II"]).items():
                cols.setdefault(name, values)
        missing = [n for n in STANDARD_LEADS if n not in cols]
        if missing:
            raise ECGSignalError(
                f"record lacks leads {missing} and they cannot be derived "
                f"(has {list(self.leads)})"
            )
        if self.resolution_mv is not None:
            base = max(res_map.get("I", 0.0), res_map.get("II", 0.0))
            res = [res_map.get(n, base) for n in STANDARD_LEADS]
        return self.replace(
            signal=np.column_stack([cols[n] for n in STANDARD_LEADS]),
            leads=STANDARD_LEADS,
            resolution_mv=tuple(res) if res is not None else None,
        )


def make_ecg(
    signal: np.ndarray,
    fs: float,
    leads: list[str] | tuple[str, ...],
    *,
    complete: bool = True,
    **meta: Any,
) -> ECG:
    """Build an ECG from raw arrays, normalising lead names and (by default) deriving missing limb
    leads."""
    names = tuple(normalize_lead_name(n) for n in leads)
    ecg = ECG(signal=signal, fs=fs, leads=names, **meta)
    if complete and "I" in names and "II" in names and len(names) >= 8:
        try:
            return ecg.to_standard_12()
        except ECGSignalError:
            return ecg
    return ecg
