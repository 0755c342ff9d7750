"""Plausibility of the fields of a WFDB header, checked before anything is sized by them.

wfdb's header grammar (``wfdb.io.header.rx_record``) is lenient: a sampling frequency it cannot
parse (``nan``, ``abc``, ``-5``) silently becomes its default of 250 Hz, and ``1e9`` is read as
1 Hz. wfdb then sizes its buffers by the signal lines: a skew of 99,999,999 frames made it
allocate 2.3 GB to return a lead of nothing but NaN. So the fields are read here, by our own
stricter rules, and every one that sizes or scales the signal must be plausible:

* sampling frequency: a plain decimal number within the limits (absent: WFDB's documented
  default of 250 Hz);
* signal count (``MAX_CHANNELS``) and samples × signals (``MAX_SAMPLE_VALUES``);
* per signal: samples per frame (frame rate × samples per frame within the sampling limit), skew
  (``MAX_WFDB_SKEW_FRAMES``, and shorter than the record), byte offset (inside the signal file),
  ADC gain (one count between ``MIN_STEP_MV`` and ``MAX_STEP_MV``), baseline (a 32-bit integer).

Used by ``registry.read``'s WFDB preflight and by :func:`ecglens.io.wfdb_format.read` itself,
before its numpy decoder or ``wfdb.rdrecord`` runs.
"""

from __future__ import annotations

import re
from pathlib import Path

from ecglens.exceptions import ECGFormatError
from ecglens.io.limits import (
    MAX_CHANNELS,
    MAX_FILE_BYTES,
    MAX_SAMPLE_VALUES,
    MAX_SAMPLING_RATE_HZ,
    MAX_WFDB_SKEW_FRAMES,
    check_sampling_rate,
    check_step,
)

#: WFDB's default sampling frequency when the record line gives none (WFDB header(5) spec)
DEFAULT_FS = 250.0
#: the digits wfdb's own grammar reads as a sampling frequency; anything else it misreads
_FS = re.compile(r"\d+\.?\d*|\.\d+")
_FS_TOKEN = re.compile(r"(?P<fs>[^/(]*)(?:/(?P<counter>[^(]*))?(?:\((?P<base>[^)]*)\))?")
#: units -> millivolts, as wfdb_format converts them (others are taken as already in mV)
UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "v": 1e3, "nu": 1.0, "": 1.0}
_MAX_BASELINE = 2**31  # WFDB samples are at most 32-bit integers


def _lines(text: str) -> list[str]:
    return [ln for ln in (raw.strip() for raw in text.splitlines())
            if ln and not ln.startswith("#")]


def record_fields(path: Path, line: str) -> tuple[int | None, int, float, int]:
    """(segments or None, signals, sampling frequency, samples or 0) of a record line."""
    tokens = line.split()
    m = re.fullmatch(r"([-\w]+)(?:/(\d+))?", tokens[0]) if tokens else None
    if m is None or len(tokens) < 2 or not tokens[1].isdigit():
        raise ECGFormatError(path, "WFDB header has no valid record line")
    n_seg = int(m.group(2)) if m.group(2) is not None else None
    n_sig = int(tokens[1])
    if n_sig > MAX_CHANNELS:
        raise ECGFormatError(
            path,
            f"WFDB header declares {n_sig:,} signals; an ECG record has at most {MAX_CHANNELS}"
        )
    fs = DEFAULT_FS
    if len(tokens) > 2:
        fs_part = _FS_TOKEN.fullmatch(tokens[2])
        fs_text = fs_part.group("fs") if fs_part is not None else tokens[2]
        if not _FS.fullmatch(fs_text):
            raise ECGFormatError(
                path, f"WFDB header's sampling frequency {fs_text[:40]!r} is not a number "
                "(wfdb would silently read it as another rate)"
            )
        fs = check_sampling_rate(path, fs_text, "WFDB header's sampling frequency")
    sig_len = 0
    if len(tokens) > 3:
        if not tokens[3].isdigit():
            raise ECGFormatError(
                path, f"WFDB header's number of samples {tokens[3][:40]!r} is not a whole number"
            )
        sig_len = int(tokens[3])
    if n_sig * sig_len > MAX_SAMPLE_VALUES:
        raise ECGFormatError(
            path, f"WFDB header declares {n_sig} signals × {sig_len} samples, more than the "
            f"{MAX_SAMPLE_VALUES:,} sample values one ECG may hold; refusing to read it"
        )
    return n_seg, n_sig, fs, sig_len


def _signal_file_size(folder: Path | None, name: str) -> int | None:
    if folder is None or name in ("", "~", "-") or "/" in name or "\\" in name:
        return None
    f = folder / name
    try:
        return f.stat().st_size if f.is_file() else None
    except OSError:
        return None


def vet_signal_lines(path: Path, lines: list[str], fs: float, sig_len: int,
                     folder: Path | None) -> None:
    """Check every field of the signal lines that sizes or scales what wfdb reads."""
    from wfdb.io.header import rx_signal

    values_per_frame = 0
    for k, ln in enumerate(lines, start=1):
        m = rx_signal.match(ln)
        if m is None:
            raise ECGFormatError(path, "WFDB header has an invalid signal line")
        label = (m.group("sig_name") or "").strip()[:20] or f"signal {k}"
        spf = int(m.group("samps_per_frame") or 1)
        if spf * fs > MAX_SAMPLING_RATE_HZ:
            raise ECGFormatError(
                path, f"WFDB header: {label} has {spf:,} samples per frame at {fs:g} frames/s, "
                f"beyond the {MAX_SAMPLING_RATE_HZ:g} Hz any ECG device records at"
            )
        values_per_frame += spf
        skew = int(m.group("skew") or 0)
        if skew > MAX_WFDB_SKEW_FRAMES or (sig_len and skew >= sig_len):
            raise ECGFormatError(
                path,
                f"WFDB header: {label} has a skew of {skew:,} frames; skews are a few samples "
                f"(at most {MAX_WFDB_SKEW_FRAMES:,} and shorter than the record's {sig_len:,})"
            )
        offset = int(m.group("byte_offset") or 0)
        size = _signal_file_size(folder, m.group("file_name"))
        if offset > MAX_FILE_BYTES or (size is not None and offset >= size > 0):
            raise ECGFormatError(
                path,
                f"WFDB header: {label} starts at byte {offset:,}, beyond the end of its signal file"
                + (f" ({size:,} bytes)" if size is not None else "")
            )
        gain_text = m.group("adc_gain") or ""
        try:
            gain = float(gain_text) if gain_text else 200.0
        except ValueError:
            raise ECGFormatError(path, f"WFDB header: {label} has an ADC gain {gain_text[:20]!r} "
                                 "that is not a number") from None
        if gain != 0.0:  # 0 means WFDB's default of 200 counts per unit
            unit = (m.group("units") or "").strip().lower()
            try:
                step = UNIT_TO_MV.get(unit, 1.0) / gain
            except OverflowError:
                step = float("inf")
            check_step(path, step, f"WFDB header: {label}'s ADC gain {gain_text}")
        baseline = m.group("baseline")
        if baseline and abs(int(baseline)) > _MAX_BASELINE:
            raise ECGFormatError(
                path,
                f"WFDB header: {label} has a baseline of {int(baseline):,} counts, beyond the "
                "range of any WFDB sample"
            )
    if values_per_frame * sig_len > MAX_SAMPLE_VALUES:
        raise ECGFormatError(
            path,
            f"WFDB header declares {values_per_frame} values per frame × {sig_len} frames, more "
            f"than the {MAX_SAMPLE_VALUES:,} sample values one ECG may hold; refusing to read it"
        )


def vet_header(path: Path, text: str, folder: Path | None, *, depth: int = 0) -> None:
    """Refuse a header whose record or signal lines hold implausible values.

    ``folder`` holds the record's files (signal files are sized against their byte offsets,
    segment headers are vetted in turn); None checks the header text alone.
    """
    lines = _lines(text)
    if not lines:
        raise ECGFormatError(path, "WFDB header has no record line")
    n_seg, n_sig, fs, sig_len = record_fields(path, lines[0])
    if n_seg is None:
        vet_signal_lines(path, lines[1:1 + n_sig], fs, sig_len, folder)
        return
    body = lines[1:1 + n_seg]
    total = 0
    for ln in body:
        parts = ln.split()
        if len(parts) > 1 and parts[1].isdigit():
            total += int(parts[1])
    if n_sig * total > MAX_SAMPLE_VALUES:
        raise ECGFormatError(
            path, f"WFDB header declares {n_sig} signals × {total} samples in segments, more than "
            f"the {MAX_SAMPLE_VALUES:,} sample values one ECG may hold; refusing to read it"
        )
    if folder is None or depth >= 1:
        return
    for name in dict.fromkeys(ln.split()[0] for ln in body):
        if name == "~" or "/" in name or "\\" in name or name.startswith("."):
            continue
        seg = folder / f"{name}.hea"
        if seg.is_file() and seg.stat().st_size <= 2**20:
            vet_header(path, seg.read_text(encoding="latin-1"), folder, depth=depth + 1)
