"""Write an :class:`~ecglens.record.ECG` as WFDB (wfdb) or EDF+ (edfio).

Both formats store 16-bit integers with a per-channel scale. We choose the scale from the
record's own quantisation step (``ECG.resolution_mv``) so that a record read from a 16-bit
source is written back sample for sample: ``digital = round(mV / step)`` is then exactly the
integer the device stored. Only when the values would not fit in 16 bits at that step (or the
step is unknown) is a coarser step chosen, and that step is what ``read`` reports afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import edfio
import numpy as np
import wfdb

from ecglens.exceptions import ECGSignalError
from ecglens.io.edf import edf_label
from ecglens.record import ECG

_DMIN, _DMAX = -32767, 32767  # -32768 is WFDB's "no sample" value, so the range is symmetric
_DEFAULT_STEP_MV = 0.001  # 1 µV, finer than any diagnostic ECG digitiser


def _steps(ecg: ECG) -> np.ndarray:
    """Per-lead quantisation step (mV) that keeps every sample within 16 bits."""
    peak = np.nanmax(np.abs(ecg.signal), axis=0, initial=0.0)
    wanted = (
        np.asarray(ecg.resolution_mv, dtype=float)
        if ecg.resolution_mv is not None
        else np.full(ecg.n_leads, _DEFAULT_STEP_MV)
    )
    wanted = np.where(np.isfinite(wanted) & (wanted > 0), wanted, _DEFAULT_STEP_MV)
    needed = peak / _DMAX
    return np.where(needed > wanted, needed * 1.0001, wanted)


def _digital(ecg: ECG, steps: np.ndarray) -> np.ndarray:
    d = np.rint(ecg.signal / steps)
    d = np.where(np.isnan(d), -32768, np.clip(d, _DMIN, _DMAX))
    return d.astype(np.int16)


def write_wfdb(ecg: ECG, path_base: str | Path) -> Path:
    """Write ``<path_base>.hea`` and ``<path_base>.dat`` (format 16). Returns the header path."""
    base = Path(path_base)
    if base.suffix.lower() in {".hea", ".dat"}:
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    steps = _steps(ecg)
    comments = []
    if ecg.patient.age_years is not None:
        comments.append(f"Age: {ecg.patient.age_years:g}")
    if ecg.patient.sex:
        comments.append(f"Sex: {'Male' if ecg.patient.sex == 'M' else 'Female'}")
    if ecg.device.codes:
        comments.append("Dx: " + ",".join(ecg.device.codes))
    when = ecg.acquisition.time
    fs = ecg.fs
    wfdb.wrsamp(
        base.name,
        fs=int(fs) if float(fs).is_integer() else fs,
        units=["mV"] * ecg.n_leads,
        sig_name=list(ecg.leads),
        d_signal=_digital(ecg, steps),
        fmt=["16"] * ecg.n_leads,
        adc_gain=[float(1.0 / s) for s in steps],
        baseline=[0] * ecg.n_leads,
        comments=comments,
        base_date=when.date() if when else None,
        base_time=when.time() if when else None,
        write_dir=str(base.parent),
    )
    return base.with_suffix(".hea")


def _edf_range(step: float) -> tuple[float, float]:
    """Physical range whose 8-character decimal form keeps the step within 0.1 % of ``step``."""
    lo, hi = -32768 * step, 32767 * step
    for digits in range(8, 0, -1):
        a, b = f"{lo:.{digits}f}", f"{hi:.{digits}f}"
        if len(a) <= 8 and len(b) <= 8:
            return float(a), float(b)
    raise ECGSignalError(f"signal range {lo:g}..{hi:g} mV cannot be written in an EDF header")


def _record_duration(ecg: ECG) -> float:
    """An EDF data-record duration (8 characters) that divides the recording into whole records.

    EDF has no way to store a partial last record, and padding would change the signal's length.
    """
    for d in (1.0, 2.0, 0.5, 5.0, 10.0, 0.25, 0.2, 0.1, ecg.duration_s):
        spr = ecg.fs * d
        text = f"{d:g}"
        if len(text) <= 8 and float(text) == d and abs(spr - round(spr)) < 1e-9 and round(spr) > 0 \
                and ecg.n_samples % round(spr) == 0:
            return d
    raise ECGSignalError(
        f"{ecg.n_samples} samples at {ecg.fs:g} Hz cannot be split into whole EDF data records; "
        "write WFDB instead, or trim the record to whole seconds"
    )


def write_edf(ecg: ECG, path: str | Path) -> Path:
    """Write an EDF+ file with one ``ECG <lead>`` signal per lead, in mV."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    steps = _steps(ecg)
    record_s = _record_duration(ecg)
    signals = []
    for k, lead in enumerate(ecg.leads):
        lo, hi = _edf_range(float(steps[k]))
        data = np.nan_to_num(ecg.signal[:, k], nan=0.0)
        # edfio maps digital -32768..32767 linearly onto lo..hi, so digital = round(mV / step)
        digital = np.clip(np.rint((data - lo) / (hi - lo) * 65535) - 32768, -32768, 32767)
        signals.append(edfio.EdfSignal.from_digital(
            digital.astype(np.int16), ecg.fs, label=edf_label(lead), physical_dimension="mV",
            physical_range=(lo, hi), digital_range=(-32768, 32767),
        ))
    sex: Literal["F", "M", "X"] = ("M" if ecg.patient.sex == "M"
                                  else "F" if ecg.patient.sex == "F" else "X")
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(sex=sex),
        recording=edfio.Recording(
            startdate=ecg.acquisition.time.date() if ecg.acquisition.time else None),
        starttime=(ecg.acquisition.time.time().replace(microsecond=0) if ecg.acquisition.time
                   else None),
        data_record_duration=record_s,
    )
    edf.write(p)
    return p
