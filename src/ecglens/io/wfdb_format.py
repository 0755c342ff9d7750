"""WFDB records (PhysioNet), including PhysioNet/CinC challenge headers with ``# Dx:`` codes.

Reading has two paths that give identical arrays (``tests/test_io_binary.py`` checks this on
PTB-XL, LUDB and challenge records):

* a fast path for the layouts resting 12-lead ECGs use — one signal file, format 16 or 212,
  one sample per frame, no skew (this covers PTB-XL ``.dat``, LUDB and challenge ``.mat``, whose
  header declares format 16 at byte offset 24). The header lines are matched with wfdb's own
  grammar (``wfdb.io.header.rx_record`` / ``rx_signal``) and the samples decoded with numpy, using
  wfdb's arithmetic (``(d - baseline) / gain``, NaN where d is the format's invalid value).
  wfdb.rdrecord spends most of a 10 s record's read time filling its header fields through
  pandas lookups; skipping that is what makes the fast path fast (benchmarks/bench_read.py).
* ``wfdb.rdrecord`` for everything else (multi-segment, other formats, several files...).

Both paths run after :func:`ecglens.io.wfdb_header.vet_header` has checked every header field
that sizes or scales the signal (sampling frequency, counts, skew, byte offsets, gains,
baselines): neither numpy nor wfdb allocates from an implausible header. Samples stored as
the format's "no sample" value (-32768 in format 16, -2048 in 212) are NaN: missing samples, as
:class:`ecglens.record.ECG` documents.

De-identification rewrites the header (record line dates; comment lines other than age, sex
and diagnoses are removed) and copies the signal file bytes unchanged.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import wfdb
from wfdb.io.header import rx_record, rx_signal

from ecglens.exceptions import ECGFormatError
from ecglens.io.deidentify import DeidOptions
from ecglens.io.wfdb_header import UNIT_TO_MV, vet_header
from ecglens.record import ECG, DeviceInterpretation, Patient, make_ecg

_MV = UNIT_TO_MV
_INVALID = {"16": -32768, "212": -2048}
#: comment keys kept by de-identification (PhysioNet challenge and LUDB spellings)
_KEEP_KEYS = {"age", "sex", "dx", "diagnoses"}


def _record_base(path: Path) -> Path:
    return path.with_suffix("") if path.suffix.lower() in {".hea", ".dat", ".mat"} else path


def _comment_key(comment: str) -> str:
    return comment.partition(":")[0].strip().strip("<>").strip().lower()


def _parse_comments(comments: list[str]) -> tuple[Patient, DeviceInterpretation]:
    fields: dict[str, str] = {}
    statements: list[str] = []
    in_diagnoses = False
    for c in comments:
        key, sep, value = c.partition(":")
        key = key.strip().strip("<>").strip().lower()
        if in_diagnoses:  # LUDB: the lines after "<diagnoses>:" are the cardiologist's statements
            statements.append(c.strip())
            continue
        if sep:
            fields[key] = value.strip()
            in_diagnoses = key == "diagnoses" and not value.strip()
    age: float | None = None
    try:
        a = float(fields.get("age", "nan"))
        age = a if np.isfinite(a) and 0 <= a < 130 else None
    except ValueError:
        pass
    sex_raw = fields.get("sex", "").lower()
    sex = "M" if sex_raw in {"male", "m"} else "F" if sex_raw in {"female", "f"} else None
    codes = [c.strip() for c in fields.get("dx", "").split(",") if c.strip()]
    return Patient(age_years=age, sex=sex), DeviceInterpretation(codes=codes, statements=statements)


@dataclass(frozen=True)
class _Header:
    fs: float
    sig_len: int
    file_name: str
    fmt: str
    byte_offset: int
    gains: np.ndarray
    baselines: np.ndarray
    units: list[str]
    names: list[str]
    comments: list[str]


def _fast_header(text: str) -> _Header | None:
    """The header if the fast path can decode its record, else None."""
    lines = [ln.strip() for ln in text.splitlines()]
    comments = [ln.strip(" \t#") for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    if not body:
        return None
    rec = rx_record.match(body[0])
    if rec is None or rec["n_seg"] or not rec["sig_len"] or not rec["fs"]:
        return None
    n_sig = int(rec["n_sig"])
    sigs = [m for m in (rx_signal.match(ln) for ln in body[1:1 + n_sig]) if m is not None]
    if n_sig == 0 or len(sigs) != n_sig:
        return None
    first = sigs[0]
    for s in sigs:
        if (s["file_name"] != first["file_name"] or s["fmt"] != first["fmt"]
                or s["samps_per_frame"] not in ("", "1") or s["skew"] not in ("", "0")
                or s["byte_offset"] != first["byte_offset"]):
            return None
    if first["fmt"] not in _INVALID or first["file_name"] in ("", "-", "~"):
        return None
    gains, baselines = [], []
    for s in sigs:
        g = float(s["adc_gain"]) if s["adc_gain"] else 200.0
        gains.append(200.0 if g == 0 else g)  # WFDB: a gain of 0 means the default, 200
        if s["baseline"]:
            baselines.append(int(s["baseline"]))
        else:
            baselines.append(int(s["adc_zero"]) if s["adc_zero"] else 0)
    return _Header(
        fs=float(rec["fs"]), sig_len=int(rec["sig_len"]), file_name=first["file_name"],
        fmt=first["fmt"], byte_offset=int(first["byte_offset"] or 0),
        gains=np.asarray(gains, dtype=np.float64), baselines=np.asarray(baselines),
        units=[s["units"] or "mV" for s in sigs], names=[s["sig_name"] for s in sigs],
        comments=comments,
    )


def _decode(path: Path, h: _Header) -> np.ndarray:
    n_sig = len(h.names)
    total = h.sig_len * n_sig
    if h.fmt == "16":
        raw = np.fromfile(path, dtype="<i2", count=total, offset=h.byte_offset)
        digital = raw
    else:  # 212: two 12-bit samples packed in three bytes
        b = np.fromfile(path, dtype=np.uint8, count=(total * 3 + 1) // 2, offset=h.byte_offset)
        b = b.astype(np.int16)
        full = b[: len(b) - len(b) % 3].reshape(-1, 3)
        pairs = np.empty((len(full), 2), dtype=np.int16)
        pairs[:, 0] = full[:, 0] | ((full[:, 1] & 0x0F) << 8)
        pairs[:, 1] = full[:, 2] | ((full[:, 1] & 0xF0) << 4)
        digital = pairs.reshape(-1)
        if len(b) % 3 == 2:  # an odd sample count ends on a half triple
            digital = np.append(digital, b[-2] | ((b[-1] & 0x0F) << 8)).astype(np.int16)
        digital = np.where(digital > 2047, digital - 4096, digital)[:total]
    if len(digital) < total:
        raise ECGFormatError(path, f"signal file truncated: {len(digital) // n_sig} of {h.sig_len} "
                                   "samples")
    d = digital.reshape(h.sig_len, n_sig)
    nanlocs = d == _INVALID[h.fmt]
    p = d.astype(np.float64)
    np.subtract(p, h.baselines, p)
    np.divide(p, h.gains, p)
    p[nanlocs] = np.nan
    return p


def _read_fast(path: Path, base: Path, text: str) -> ECG | None:
    h = _fast_header(text)
    if h is None:
        return None
    sig_path = base.parent / h.file_name
    if not sig_path.is_file():
        raise ECGFormatError(path, f"WFDB record incomplete: signal file {h.file_name} is missing")
    p = _decode(sig_path, h)
    scale = np.array([_MV.get(u.strip().lower(), 1.0) for u in h.units])
    if np.any(scale != 1.0):  # most ECGs are stored in mV: skip a 10 s × 12 lead copy
        p *= scale
    return _build(p, h.fs, h.names, h.comments, scale / h.gains)


def _build(signal: np.ndarray, fs: float, names: list[str], comments: list[str],
           resolution: np.ndarray) -> ECG:
    patient, device = _parse_comments(comments)
    return make_ecg(
        signal, fs, names, patient=patient, device=device, source_format="wfdb",
        resolution_mv=tuple(float(r) for r in resolution),
    )


def read_with_wfdb(path: Path) -> ECG:
    """Read through ``wfdb.rdrecord`` (any layout wfdb supports), after vetting the header."""
    base = _record_base(path)
    hea = base.with_suffix(".hea")
    if hea.is_file():
        vet_header(path, hea.read_text(encoding="latin-1"), hea.parent)
    try:
        rec = wfdb.rdrecord(str(base), physical=True)
    except FileNotFoundError as exc:
        raise ECGFormatError(path, f"WFDB record incomplete: {exc.filename or exc} is "
                                   "missing") from None
    if rec.p_signal is None or rec.p_signal.size == 0:
        raise ECGFormatError(path, "WFDB record holds no samples")
    scale = np.array([_MV.get((u or "").strip().lower(), 1.0) for u in rec.units])
    signal = rec.p_signal * scale
    if rec.sig_len and signal.shape[0] < rec.sig_len:
        raise ECGFormatError(path, f"signal file truncated: {signal.shape[0]} of {rec.sig_len} "
                                   "samples")
    adc = np.asarray(rec.adc_gain, dtype=float)
    resolution = np.array([s / g if g else 0.0 for s, g in zip(scale, adc, strict=False)])
    return _build(signal, rec.fs, list(rec.sig_name), rec.comments or [], resolution)


def read(path: Path) -> ECG:
    """Read a WFDB record given its ``.hea`` (or signal file, or base name)."""
    base = _record_base(path)
    hea = base.with_suffix(".hea")
    try:
        text = hea.read_text(encoding="latin-1")
    except OSError:
        text = None  # wfdb.rdrecord says what is missing
    if text is not None:
        vet_header(path, text, hea.parent)
        fast = _read_fast(path, base, text)
        if fast is not None:
            return fast
    return read_with_wfdb(path)


# --- de-identification -------------------------------------------------------------------------

def _deid_record_line(line: str, options: DeidOptions) -> str:
    tokens = line.split()
    # name nsig [fs[/counter[(base)]] [siglen [basetime [basedate]]]]
    if len(tokens) <= 4:
        return line
    base_time, base_date = tokens[4], tokens[5] if len(tokens) > 5 else None
    if options.drop_dates:
        return " ".join(tokens[:4])
    if base_date and options.date_shift_days:
        shifted = datetime.strptime(base_date, "%d/%m/%Y") + timedelta(days=options.date_shift_days)
        base_date = shifted.strftime("%d/%m/%Y")
    return " ".join(tokens[:4] + [base_time] + ([base_date] if base_date else []))


def _deid_comment(line: str) -> str | None:
    key = _comment_key(line.lstrip("#"))
    if key not in _KEEP_KEYS:
        return None
    if key == "age":
        m = re.search(r":\s*(\d+(?:\.\d+)?)", line)
        if m and float(m.group(1)) > 90:
            return line[: m.start(1)] + "90" + line[m.end(1):]
    return line


def deidentify(src: Path, dst: Path, options: DeidOptions) -> None:
    """De-identified copy of a WFDB record: ``dst`` names the new header (or base name)."""
    src_base = _record_base(src)
    dst_base = _record_base(dst)
    header = src_base.with_suffix(".hea")
    if not header.is_file():
        raise ECGFormatError(src, "WFDB header (.hea) not found next to the record")
    lines = header.read_text(encoding="latin-1").splitlines()
    body_idx = [i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not body_idx:
        raise ECGFormatError(src, "WFDB header has no record line")
    out: list[str] = []
    renames: dict[str, str] = {}
    in_diagnoses = False
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            # LUDB lists its diagnoses as the comment lines after "<diagnoses>:"
            kept = line if in_diagnoses else _deid_comment(line)
            if kept is not None:
                out.append(kept)
                if _comment_key(stripped.lstrip("#")) == "diagnoses":
                    in_diagnoses = True
            continue
        if i == body_idx[0]:
            tokens = line.split()
            tokens[0] = re.sub(r"^[-\w]+", dst_base.name, tokens[0])  # record name = file name
            out.append(_deid_record_line(" ".join(tokens), options))
            continue
        m = rx_signal.match(line)
        if m and m["file_name"] not in ("", "~", "-"):
            old = m["file_name"]
            if old not in renames:
                suffix = Path(old).suffix
                taken = set(renames.values())
                new = dst_base.name + suffix
                renames[old] = (new if new not in taken
                                else f"{dst_base.name}_{len(renames)}{suffix}")
            line = renames[old] + line[m.end("file_name"):]
        out.append(line)
    dst_base.parent.mkdir(parents=True, exist_ok=True)
    for old, new in renames.items():
        source = src_base.parent / old
        if not source.is_file():
            raise ECGFormatError(src, f"WFDB signal file {old} is missing")
        shutil.copyfile(source, dst_base.parent / new)
    dst_base.with_suffix(".hea").write_text("\n".join(out) + "\n", encoding="latin-1")
