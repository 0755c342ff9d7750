"""ECGs stored as plain arrays: CSV text and NumPy ``.npy`` / ``.npz`` files.

Neither format carries a sampling rate by itself, so the file must say it; nothing is guessed.

**CSV** (``,`` ``;`` or tab separated), one row per sample, one column per lead, a header row
with the lead names, values in millivolts::

    # fs=500
    # units=uV            (optional: uV, mV (default) or V)
    I,II,V1,V2,V3,V4,V5,V6
    0.012,0.034,...

The sampling rate comes from a ``# fs=<Hz>`` comment line before the header, or from a first
column named ``time``/``t``/``time_s``/``seconds`` holding seconds (fs = 1 / median step).

**NumPy**: an ``.npz`` archive with ``signal`` (samples × leads, mV), ``fs`` (scalar) and
``leads`` (array of names), optionally ``resolution_mv``. A bare ``.npy`` array has no room
for the sampling rate and is refused with a message saying how to save it as ``.npz``.
Archives are loaded with ``allow_pickle=False``: object arrays (which could run code) are refused.

Missing samples: an empty or ``nan`` CSV cell, and a NaN in ``signal``, is a sample that was not
recorded (the :class:`~ecglens.record.ECG` contract; ``write_csv``/``write_npz`` write an SCP-ECG
record's unrecorded stretches that way). Infinite values, values beyond ±50 mV and leads with no
recorded sample at all are refused by ``registry.read``. The sampling rate must be a number
within the limits of :mod:`ecglens.io.limits`; nothing is guessed or defaulted.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ecglens.exceptions import ECGFormatError
from ecglens.io.deidentify import DeidOptions
from ecglens.io.limits import MAX_STEP_MV, check_sampling_rate
from ecglens.record import ECG, make_ecg

_TIME_COLUMNS = {"time", "t", "time_s", "times", "seconds", "time (s)", "time[s]", "sec"}
_UNIT_TO_MV = {"uv": 1e-3, "µv": 1e-3, "mv": 1.0, "v": 1e3}
_HOW_TO_FS = (
    "add a line '# fs=<sampling rate in Hz>' before the header row, or a first column "
    "'time' in seconds"
)


def _comment_fields(lines: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in lines:
        for m in re.finditer(r"(\w+)\s*[=:]\s*([^\s,;]+)", line.lstrip("#")):
            fields[m.group(1).lower()] = m.group(2)
    return fields


def read_csv(path: Path) -> ECG:
    """Read a CSV file laid out as described in the module docstring."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ECGFormatError(path, "CSV file is not UTF-8 text") from None
    lines = text.splitlines()
    comments = [ln for ln in lines if ln.lstrip().startswith("#")]
    body = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if len(body) < 2:
        raise ECGFormatError(path, "CSV file needs a header row of lead names and at least one row "
                                   "of samples")
    delimiter = csv.Sniffer().sniff(body[0], delimiters=",;\t").delimiter
    header = [h.strip() for h in next(csv.reader([body[0]], delimiter=delimiter))]
    if len({ln.count(delimiter) for ln in body}) > 1:  # pandas would pad short rows with NaN
        raise ECGFormatError(path, f"CSV rows do not all have the header's {len(header)} columns")
    try:  # pandas' C parser: a 10 s 12-lead file is 60,000 numbers
        frame = pd.read_csv(io.StringIO("\n".join(body[1:])), sep=delimiter, header=None,
                            engine="c", dtype=np.float64)
    except (ValueError, pd.errors.ParserError):
        raise ECGFormatError(path, "CSV samples must all be numbers, in rows of equal length "
                             "(first row = lead names)") from None
    values = frame.to_numpy(dtype=np.float64)
    if values.shape[1] != len(header):
        raise ECGFormatError(path, f"CSV rows do not all have the header's {len(header)} columns")
    fields = _comment_fields(comments)
    fs: float | None = None
    if "fs" in fields:
        try:
            float(fields["fs"])
        except ValueError:
            raise ECGFormatError(path, f"'# fs=' comment is not a number; {_HOW_TO_FS}") from None
        fs = check_sampling_rate(path, fields["fs"], "CSV '# fs=' comment")
    if header[0].lower() in _TIME_COLUMNS:
        times, values, header = values[:, 0], values[:, 1:], header[1:]
        step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
        if fs is None:
            if not step > 0:
                raise ECGFormatError(path, "time column does not increase; cannot derive the "
                                           "sampling rate")
            fs = check_sampling_rate(path, round(1.0 / step, 6), "CSV time column (1 / step)")
    if fs is None:
        raise ECGFormatError(path, f"CSV file does not give its sampling rate: {_HOW_TO_FS}")
    unit = fields.get("units", fields.get("unit", "mv")).lower()
    if unit not in _UNIT_TO_MV:
        raise ECGFormatError(path, f"unknown units {unit!r} in CSV comment (use uV, mV or V)")
    if not header:
        raise ECGFormatError(path, "CSV file has no lead columns")
    return make_ecg(values * _UNIT_TO_MV[unit], fs, header, source_format="csv")


def write_csv(ecg: ECG, path: str | Path) -> Path:
    """Write ``ecg`` in the CSV layout :func:`read_csv` reads (mV, ``# fs=`` comment)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8", newline="") as fh:
        fh.write(f"# fs={ecg.fs:g}\n# units=mV\n")
        np.savetxt(fh, ecg.signal, delimiter=",", header=",".join(ecg.leads), comments="",
                   fmt="%.9g")
    return p


def read(path: Path) -> ECG:
    """Read a NumPy ``.npz`` archive (``signal``, ``fs``, ``leads``)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ECGFormatError(path, f"NumPy file refused: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ECGFormatError(path, "corrupt or truncated NumPy file "
                                   f"({type(exc).__name__})") from None
    if isinstance(loaded, np.ndarray):
        raise ECGFormatError(
            path, "a bare .npy array has no sampling rate or lead names; save it with "
            "numpy.savez(path, signal=<samples x leads, mV>, fs=<Hz>, leads=<names>)"
        )
    with loaded as npz:
        missing = [k for k in ("signal", "fs", "leads") if k not in npz.files]
        if missing:
            raise ECGFormatError(path, f".npz archive lacks {missing}; it needs signal, fs and "
                                       "leads")
        try:
            signal = np.asarray(npz["signal"], dtype=np.float64)
            fs = float(np.asarray(npz["fs"]).reshape(-1)[0])
            leads = [str(x) for x in np.asarray(npz["leads"]).reshape(-1)]
            res = (tuple(float(x) for x in npz["resolution_mv"])
                   if "resolution_mv" in npz.files else None)
        except (ValueError, TypeError, IndexError) as exc:
            raise ECGFormatError(path, ".npz arrays have the wrong type or shape "
                                       f"({exc})") from None
    fs = check_sampling_rate(path, fs, ".npz 'fs' array")
    if res is not None and not all(0.0 <= abs(r) <= MAX_STEP_MV for r in res):  # also False for NaN
        raise ECGFormatError(path, ".npz 'resolution_mv' holds an implausible step "
                                   f"({max(res, key=abs):g} mV)")
    if signal.ndim == 2 and signal.shape[1] != len(leads) and signal.shape[0] == len(leads):
        signal = signal.T  # leads × samples, the layout of many deep-learning datasets
    return make_ecg(signal, fs, leads, source_format="numpy", resolution_mv=res)


def write_npz(ecg: ECG, path: str | Path) -> Path:
    """Write ``ecg`` as the ``.npz`` layout :func:`read` reads."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "signal": ecg.signal, "fs": np.asarray(ecg.fs, dtype=np.float64),
        "leads": np.asarray(ecg.leads),
    }
    if ecg.resolution_mv is not None:
        arrays["resolution_mv"] = np.asarray(ecg.resolution_mv)
    with p.open("wb") as fh:  # a file handle: np.savez would append ".npz" to other names
        # numpy's stub checks **arrays against savez's allow_pickle: bool
        np.savez(fh, **arrays)  # type: ignore[arg-type]
    return p


def deidentify(src: Path, dst: Path, options: DeidOptions) -> None:
    """Copy keeping only what this module reads: samples, fs, lead names, units, resolution.

    Array files have no patient fields, but a CSV comment or an extra ``.npz`` array can hold
    anything, so everything else is dropped. Sample text and arrays are copied unchanged.
    """
    del options  # nothing to pseudonymise or shift
    if zipfile.is_zipfile(src):
        with np.load(src, allow_pickle=False) as npz:
            kept = {k: npz[k] for k in ("signal", "fs", "leads", "resolution_mv") if k in npz.files}
        with dst.open("wb") as fh:  # a file handle: np.savez would append ".npz" to other names
            np.savez(fh, **kept)
        return
    lines = src.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    kept_lines = [
        ln for ln in lines
        if not ln.lstrip().startswith("#") or set(_comment_fields([ln])) <= {"fs", "units", "unit"}
        and _comment_fields([ln])
    ]
    dst.write_text("".join(kept_lines), encoding="utf-8")
