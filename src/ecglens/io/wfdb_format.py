"""WFDB records (PhysioNet), including PhysioNet/CinC challenge headers with ``# Dx:`` codes.

Decoding is done by the wfdb package; we add lead-name normalisation and the challenge's
comment fields (age, sex, SNOMED-CT diagnoses).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from ecglens.exceptions import ECGFormatError
from ecglens.record import DeviceInterpretation, Patient, make_ecg

_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "v": 1e3, "nu": 1.0, "": 1.0}


def _record_base(path: Path) -> Path:
    return path.with_suffix("") if path.suffix.lower() in {".hea", ".dat", ".mat"} else path


def _parse_comments(comments: list[str]) -> tuple[Patient, DeviceInterpretation]:
    fields: dict[str, str] = {}
    for c in comments:
        key, sep, value = c.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    age: float | None = None
    try:
        a = float(fields.get("age", "nan"))
        age = a if np.isfinite(a) and 0 <= a < 130 else None
    except ValueError:
        pass
    sex_raw = fields.get("sex", "").lower()
    sex = "M" if sex_raw in {"male", "m"} else "F" if sex_raw in {"female", "f"} else None
    codes = [c.strip() for c in fields.get("dx", "").split(",") if c.strip()]
    return Patient(age_years=age, sex=sex), DeviceInterpretation(codes=codes)


def read(path: Path) -> ECG:  # noqa: F821 - forward ref resolved below
    base = _record_base(path)
    try:
        rec = wfdb.rdrecord(str(base), physical=True)
    except FileNotFoundError as exc:
        raise ECGFormatError(path, f"WFDB record incomplete: {exc.filename or exc} is missing") from None
    if rec.p_signal is None or rec.p_signal.size == 0:
        raise ECGFormatError(path, "WFDB record holds no samples")
    scale = np.array([_MV.get((u or "").strip().lower(), 1.0) for u in rec.units])
    signal = rec.p_signal * scale
    expected = rec.sig_len
    if signal.shape[0] < expected:
        raise ECGFormatError(path, f"signal file truncated: {signal.shape[0]} of {expected} samples")
    patient, device = _parse_comments(rec.comments or [])
    adc = np.asarray(rec.adc_gain, dtype=float)
    resolution = tuple(float(s / g) if g else 0.0 for s, g in zip(scale, adc))
    return make_ecg(
        signal,
        rec.fs,
        list(rec.sig_name),
        patient=patient,
        device=device,
        source_format="wfdb",
        resolution_mv=resolution,
    )


from ecglens.record import ECG  # noqa: E402  (type name for the annotation above)
