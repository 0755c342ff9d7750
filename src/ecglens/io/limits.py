"""Limits every reader works within, and the checks that need nothing but ``stat``.

Each limit is far above any real ECG and far below what would hurt the machine reading it:
hostile or corrupt files are refused by these numbers before any decoder allocates for them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ecglens.exceptions import ECGFormatError

#: Largest file any reader accepts. A 10 s 12-lead ECG is well under 1 MB in every format;
#: a long Holter in WFDB can reach a few hundred MB. Anything bigger is refused before reading.
MAX_FILE_BYTES = 512 * 1024 * 1024

#: Most sample values (samples × leads) a header may declare. 2**27 values are 1 GiB as
#: float64, a 24 h 3-lead Holter at 500 Hz; a header asking for more is hostile or corrupt,
#: and is refused before a decoder allocates for it.
MAX_SAMPLE_VALUES = 2**27

#: XML is parsed into a tree about ten times its size; a 10 s ECG in any XML format is < 1 MB.
MAX_XML_BYTES = 128 * 1024 * 1024

#: A WFDB header is a few hundred bytes (a long multi-segment one, a few hundred KB).
MAX_WFDB_HEADER_BYTES = 16 * 1024 * 1024

#: Sampling rates a real recording can have. Below 1 Hz nothing of an ECG survives; above
#: 100 kHz is beyond even pacemaker-spike detection. Outside that, the header is corrupt.
MIN_SAMPLING_RATE_HZ = 1.0
MAX_SAMPLING_RATE_HZ = 100_000.0

#: Largest magnitude (mV) a returned sample may have. Surface ECG waves are a few mV (a tall
#: QRS 4–5 mV; pacemaker spikes at the skin rarely above 20 mV); the widest range any real file
#: here can encode is a 16-bit ADC at 1 µV per count, ±32.8 mV (PTB-XL, the challenge
#: records). A value beyond 50 mV is not physiology but a wrong scale field (gain, sensitivity,
#: units per bit, resolution, physical range), and is refused rather than passed on.
MAX_ABS_MV = 50.0

#: Plausible size (mV) of one count of a stored sample (gain, sensitivity, units per bit,
#: resolution, EDF physical/digital range). Real devices use 0.5–5 µV; 24-bit ADCs go down to
#: ~0.05 µV. Below 1 nV is no ADC; above 1 mV per count no ECG can be recorded (a P wave is
#: 0.1–0.3 mV). Checked where the field is parsed, so the message names the field.
MIN_STEP_MV = 1e-6
MAX_STEP_MV = 1.0

#: Channels a header may declare (WFDB signals, EDF signals, DICOM channels). A 12-lead ECG has
#: 8–15, a polysomnography EDF 30–60, body-surface mapping up to ~250.
MAX_CHANNELS = 256

#: WFDB skew (frames a signal is delayed against the others): it corrects tape-head misalignment
#: of old analog recordings, a few samples. wfdb reads ``sig_len + skew`` frames for every
#: signal, so a huge skew is a huge allocation: refused before wfdb sees it.
MAX_WFDB_SKEW_FRAMES = 10_000

#: Philips Sierra waveforms are LZW-compressed: the file size does not bound what they decode to,
#: and the header's ``durationperchannel`` is the attacker's own number. This absolute cap is:
#: Sierra XML holds a resting ECG, 10–11 s per lead (5,500 samples at 500 Hz in every real file);
#: 2 minutes at 1000 Hz is 120,000 samples, 20× that. The LZW decoder stops as soon as its
#: output passes this (2 bytes a sample), whatever the header declares.
MAX_DECOMPRESSED_SAMPLES_PER_LEAD = 120_000

#: Largest single XML token (a start tag with its attributes, a text run, a comment, CDATA).
#: expat before 2.6 rescans an unfinished token on every buffer it is fed (CVE-2023-52425), so a
#: 40 MB attribute takes minutes. The largest token in the real files is 66 KB (the Base64
#: waveform of a UTF-16 Philips file; GE MUSE 14 KB a lead, HL7 aECG 27 KB a lead); 4 MiB is
#: 60× that and parses in well under a second.
MAX_XML_TOKEN_BYTES = 4 * 1024 * 1024


def check_file(path: str | os.PathLike[str]) -> Path:
    """Refuse what no reader should touch: missing, not a regular file, empty or huge.

    Only ``stat`` is used, so a 2 GB (or sparse) file is refused without reading a byte.
    """
    p = Path(path)
    if not p.exists():
        raise ECGFormatError(p, "file not found")
    if not p.is_file():
        raise ECGFormatError(p, "not a regular file")
    size = p.stat().st_size
    if size == 0:
        raise ECGFormatError(p, "file is empty")
    if size > MAX_FILE_BYTES:
        raise ECGFormatError(
            p, f"file is {size / 2**20:.0f} MB, larger than the {MAX_FILE_BYTES // 2**20} MB "
            "limit for one ECG; refusing to read it"
        )
    return p


def one_line(text: str, limit: int = 300) -> str:
    """Decoder messages can span lines; the CLI promises exactly one."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def check_sampling_rate(path: object, value: object, field: str) -> float:
    """``value`` as a sampling rate in Hz, or ECGFormatError naming ``field``.

    Anything that is not a finite number within [MIN_SAMPLING_RATE_HZ, MAX_SAMPLING_RATE_HZ]
    (text, NaN, inf, 0, negative, 1e9) is refused: a reader never substitutes a default.
    """
    try:
        # any object: what float() cannot take is refused below, with the field's name
        fs = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ECGFormatError(
            path, f"{field} {one_line(str(value), 40)!r} is not a number (a sampling rate is "
                  "needed)"
        ) from None
    if not MIN_SAMPLING_RATE_HZ <= fs <= MAX_SAMPLING_RATE_HZ:  # also False for NaN
        raise ECGFormatError(
            path, f"{field} gives a sampling rate of {fs:g} Hz, outside the "
            f"{MIN_SAMPLING_RATE_HZ:g}–{MAX_SAMPLING_RATE_HZ:g} Hz any ECG device records at"
        )
    return fs


def check_step(path: object, step_mv: float, field: str) -> float:
    """A per-count amplitude step (mV) within [MIN_STEP_MV, MAX_STEP_MV], sign ignored."""
    step = float(step_mv)
    if not MIN_STEP_MV <= abs(step) <= MAX_STEP_MV:  # also False for NaN
        raise ECGFormatError(
            path, f"{field} gives {step:g} mV per count, outside the {MIN_STEP_MV:g}–"
            f"{MAX_STEP_MV:g} mV a real ECG is stored at (corrupt or wrong scale field)"
        )
    return step


def check_offset(path: object, offset_mv: float, field: str) -> float:
    """A baseline/origin (mV) added to every sample: finite and within ±MAX_ABS_MV."""
    offset = float(offset_mv)
    if not abs(offset) <= MAX_ABS_MV:  # also False for NaN
        raise ECGFormatError(
            path, f"{field} shifts every sample by {offset:g} mV, beyond the ±{MAX_ABS_MV:g} mV "
            "an ECG can have (corrupt or wrong field)"
        )
    return offset


def check_signal(path: object, signal: np.ndarray, leads: tuple[str, ...] | list[str],
                 what: str = "file") -> None:
    """Every reader's output obeys one rule, checked here centrally (``registry.read``).

    * no sample is ±inf, and no finite sample is beyond ±MAX_ABS_MV;
    * NaN marks a missing sample (the contract of :class:`ecglens.record.ECG`), but a lead with
      no sample at all is refused: it is not returned as if it had been recorded.
    """
    sig = np.asarray(signal, dtype=np.float64)
    if sig.ndim != 2 or sig.shape[0] == 0:
        return
    with np.errstate(invalid="ignore"):
        peak = np.nanmax(np.abs(sig), axis=0, initial=0.0) if sig.size else np.zeros(sig.shape[1])
    missing = np.asarray(np.isnan(sig).all(axis=0))
    for j, name in enumerate(leads):
        if np.isinf(peak[j]):
            raise ECGFormatError(
                path, f"{what}: lead {name} holds infinite sample values (corrupt or wrong scale "
                      "field)"
            )
        if peak[j] > MAX_ABS_MV:
            raise ECGFormatError(
                path, f"{what}: lead {name} holds samples up to {peak[j]:.3g} mV, beyond the "
                f"±{MAX_ABS_MV:g} mV an ECG can have (corrupt or wrong scale field)"
            )
        if missing[j]:
            raise ECGFormatError(
                path, f"{what}: lead {name} holds no recorded sample (every sample is missing)"
            )
