"""EDF and EDF+ files: read with edfio, de-identify by rewriting the header bytes.

Reading keeps the signals that share the ECG's sampling rate (EDF files from sleep and ICU
systems mix ECG with slower channels), strips the EDF+ signal-type prefix from labels
(``ECG V1`` → ``V1``) and converts the physical dimension (uV, mV, V) to millivolts.

De-identification works on the bytes rather than through a library's writer, so every signal
sample of every data record is copied unchanged: the header's patient and recording fields and
start date are rewritten, and in EDF+ the annotation channel keeps only its time-keeping
entries (annotation texts are free text that may name people).
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import edfio
import numpy as np

from ecglens.exceptions import ECGFormatError
from ecglens.io.deidentify import DeidOptions
from ecglens.io.limits import check_sampling_rate, check_step
from ecglens.record import ECG, Acquisition, Patient, make_ecg, normalize_lead_name

_UNIT_TO_MV = {"uv": 1e-3, "µv": 1e-3, "mv": 1.0, "v": 1e3}
_ANNOTATION_LABEL = "EDF Annotations"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def edf_label(lead: str) -> str:
    """The EDF+ standard label of an ECG lead (``ECG V1``); 16 characters at most."""
    return f"ECG {lead}"[:16]


def _lead(label: str) -> str:
    name = re.sub(r"^(ecg|ekg)[\s_-]+", "", label.strip(), flags=re.IGNORECASE)
    return normalize_lead_name(name)


def _patient(edf: edfio.Edf) -> Patient:
    try:
        p = edf.patient
        sex = p.sex if p.sex in {"M", "F"} else None
        birth: date | None = None
        try:
            birth = p.birthdate
        except (ValueError, edfio.AnonymizedDateError):
            birth = None
        name = p.name if p.name not in {"", "X"} else None
        code = p.code if p.code not in {"", "X"} else None
        return Patient(name=name, patient_id=code, birth_date=birth, sex=sex)
    except (ValueError, AttributeError):  # plain EDF: the field is free text, treat as an ID
        text = edf.local_patient_identification.strip()
        return Patient(patient_id=text or None)


def _start(edf: edfio.Edf) -> datetime | None:
    try:
        return edf.startdatetime.replace(tzinfo=None)
    except (ValueError, edfio.AnonymizedDateError):
        return None


@dataclass(frozen=True)
class _Layout:
    header_len: int
    n_records: int
    labels: list[str]
    samples: list[int]  # per data record, per signal

    @property
    def record_bytes(self) -> int:
        return 2 * sum(self.samples)


def _layout(path: Path, data: bytes) -> _Layout:
    """The header's description of the file, checked against the file's real size.

    edfio silently drops an incomplete last data record; a truncated ECG must be refused instead.
    """
    if len(data) < 256:
        raise ECGFormatError(path, "truncated EDF header")
    try:
        ns = int(data[252:256].decode("ascii").strip())
        header_len = int(data[184:192].decode("ascii").strip())
        n_records = int(data[236:244].decode("ascii").strip())
        if header_len != 256 * (ns + 1) or ns <= 0 or len(data) < header_len:
            raise ECGFormatError(path, "EDF header length does not match its signal count")
        sig = data[256:header_len]
        labels = [sig[i * 16:(i + 1) * 16].decode("ascii", "replace").strip() for i in range(ns)]
        off = ns * (16 + 80 + 8 * 5 + 80)  # label, transducer, dimension+ranges, prefilter
        samples = [int(sig[off + i * 8: off + (i + 1) * 8].decode("ascii").strip())
                   for i in range(ns)]
    except (ValueError, UnicodeDecodeError):
        raise ECGFormatError(path, "EDF header fields are not valid numbers") from None
    return _Layout(header_len, n_records, labels, samples)


def _check_size(path: Path, layout: _Layout, size: int) -> None:
    expected = layout.header_len + layout.n_records * layout.record_bytes
    if layout.n_records < 0 or size < expected:
        raise ECGFormatError(
            path, f"EDF data records truncated: file has {size} bytes, header declares {expected}"
        )


def _signal_field(head: bytes, ns: int, at: int, width: int, i: int) -> str:
    """Signal ``i``'s value of the field at ``at`` (× ns) in the signal header block."""
    start = 256 + ns * at + i * width
    return head[start:start + width].decode("ascii", "replace").strip()


def _check_scales(path: Path, head: bytes, layout: _Layout) -> None:
    """Refuse, naming the field, the record duration and the voltage signals' ranges that
    would give an impossible sampling rate or amplitude step (NaN, 1e308, an empty range)."""
    ns = len(layout.labels)
    try:
        duration = float(head[244:252].decode("ascii").strip())
    except (ValueError, UnicodeDecodeError):
        raise ECGFormatError(path, "EDF data record duration is not a number") from None
    for i, label in enumerate(layout.labels):
        dimension = _signal_field(head, ns, 96, 8, i).lower()
        if label == _ANNOTATION_LABEL or dimension not in _UNIT_TO_MV:
            continue
        name = label[:16] or f"signal {i + 1}"
        if not duration > 0:
            raise ECGFormatError(path, f"EDF data record duration {duration:g} s is not positive")
        check_sampling_rate(path, layout.samples[i] / duration,
                            f"EDF signal {name}: samples per data record / record duration")
        try:
            pmin = float(_signal_field(head, ns, 104, 8, i))
            pmax = float(_signal_field(head, ns, 112, 8, i))
            dmin = int(_signal_field(head, ns, 120, 8, i))
            dmax = int(_signal_field(head, ns, 128, 8, i))
        except ValueError:
            raise ECGFormatError(path, f"EDF signal {name}: physical or digital range is not a "
                                       "number") from None
        if dmax == dmin:
            raise ECGFormatError(path, f"EDF signal {name}: digital minimum equals digital maximum")
        step = (pmax - pmin) / (dmax - dmin) * _UNIT_TO_MV[dimension]
        check_step(path, step, f"EDF signal {name}: physical minimum {pmin:g} / maximum {pmax:g}")


def read(path: Path) -> ECG:
    """Read the ECG channels of an EDF/EDF+ file into millivolts."""
    with path.open("rb") as fh:
        head = fh.read(256)
        head += fh.read(256 * max(0, int(head[252:256].decode("ascii", "replace").strip() or 0)))
    layout = _layout(path, head)
    _check_size(path, layout, path.stat().st_size)
    _check_scales(path, head, layout)
    try:
        with warnings.catch_warnings():
            # the size was checked above; what edfio still warns about is trailing bytes after
            # the declared records, which it ignores as we do
            warnings.simplefilter("ignore", UserWarning)
            edf = edfio.read_edf(path, lazy_load_data=False)
    except (ValueError, OSError, IndexError, UnicodeDecodeError) as exc:
        raise ECGFormatError(path, f"corrupt or truncated EDF file ({exc})") from None
    signals = [s for s in edf.signals if s.label.strip() != _ANNOTATION_LABEL]
    voltage = [s for s in signals if s.physical_dimension.strip().lower() in _UNIT_TO_MV]
    if not voltage:
        raise ECGFormatError(path, "EDF file holds no signal measured in volts (uV, mV or V)")
    fs = Counter(s.sampling_frequency for s in voltage).most_common(1)[0][0]
    chosen = [s for s in voltage if s.sampling_frequency == fs]
    columns = [s.data for s in chosen]  # edfio calibrates on every access of .data: once only
    n = min(len(c) for c in columns)
    if n == 0:
        raise ECGFormatError(path, "EDF file holds no data records")
    to_mv = np.array([_UNIT_TO_MV[s.physical_dimension.strip().lower()] for s in chosen])
    signal = np.column_stack([c[:n] for c in columns]).astype(np.float64, copy=False)
    if np.any(to_mv != 1.0):
        signal *= to_mv
    resolution = tuple(
        float(abs(s.physical_max - s.physical_min) / abs(s.digital_max - s.digital_min) * k)
        for s, k in zip(chosen, to_mv, strict=True)
    )
    prefilter = chosen[0].prefiltering
    low = re.search(r"HP:\s*([\d.]+)\s*Hz", prefilter, re.IGNORECASE)
    high = re.search(r"LP:\s*([\d.]+)\s*Hz", prefilter, re.IGNORECASE)
    notch = re.search(r"N:\s*([\d.]+)\s*Hz", prefilter, re.IGNORECASE)
    acquisition = Acquisition(
        time=_start(edf),
        filter_low_hz=float(low.group(1)) if low else None,
        filter_high_hz=float(high.group(1)) if high else None,
        notch_hz=float(notch.group(1)) if notch else None,
    )
    fs = check_sampling_rate(path, fs, "EDF samples per data record / record duration")
    return make_ecg(
        signal, fs, [_lead(s.label) for s in chosen],
        patient=_patient(edf), acquisition=acquisition, source_format="edf",
        resolution_mv=resolution,
    )


# --- de-identification on the raw header bytes -------------------------------------------------

def _field(value: str, width: int) -> bytes:
    return value.encode("ascii", "replace")[:width].ljust(width)


def _deid_patient(old: str, edfplus: bool, options: DeidOptions) -> str:
    parts = old.split()
    if edfplus and len(parts) >= 4:
        code = options.pseudonym(parts[0]) if parts[0] != "X" else ""
        sex = parts[1] if parts[1] in {"M", "F"} else "X"
        return f"{code or 'X'} {sex} X X"
    return options.pseudonym(old.strip()) or "X"


def _deid_recording(old: str, edfplus: bool, start: date | None) -> str:
    if edfplus:
        stamp = f"{start.day:02d}-{_MONTHS[start.month - 1]}-{start.year}" if start else "X"
        return f"Startdate {stamp} X X X"
    return "X"


def _annotation_bytes(raw: bytes) -> bytes:
    """Keep the time-keeping TAL of an EDF+ annotation block (the first), drop the rest."""
    first = raw.split(b"\x00", 1)[0]
    end = first.find(b"\x14\x14")  # "+onset\x14\x14" is the time stamp; texts may follow it
    keep = first[:end + 2] + b"\x00" if end > 0 else b""
    return keep.ljust(len(raw), b"\x00")


def deidentify(src: Path, dst: Path, options: DeidOptions) -> None:
    """Write a de-identified copy of an EDF/EDF+ file; signal samples are copied byte for byte."""
    data = src.read_bytes()
    layout = _layout(src, data)
    _check_size(src, layout, len(data))
    header_len, n_records, record_bytes = layout.header_len, layout.n_records, layout.record_bytes
    labels, samples = layout.labels, layout.samples
    sig_hdr = data[256:header_len]
    try:
        old_date = datetime.strptime(data[168:176].decode("ascii"), "%d.%m.%y").date()
    except (ValueError, UnicodeDecodeError):
        raise ECGFormatError(src, "EDF start date is not a valid dd.mm.yy date") from None
    edfplus = data[192:197] == b"EDF+C" or data[192:197] == b"EDF+D"

    new_date: date | None = old_date
    if options.drop_dates:
        new_date = None
    elif options.date_shift_days:
        new_date = old_date + timedelta(days=options.date_shift_days)
    header = bytearray(data[:256])
    header[8:88] = _field(_deid_patient(data[8:88].decode("latin-1"), edfplus, options), 80)
    header[88:168] = _field(_deid_recording(data[88:168].decode("latin-1"), edfplus, new_date), 80)
    # EDF stores two-digit years (1985–2084); 01.01.85 is the spec's "date removed" value
    if new_date is not None and not 1985 <= new_date.year <= 2084:
        raise ECGFormatError(src, "shifted start date falls outside the EDF date range 1985-2084")
    header[168:176] = (new_date.strftime("%d.%m.%y") if new_date else "01.01.85").encode()
    if options.drop_dates:
        header[176:184] = b"00.00.00"

    out = bytearray(header) + sig_hdr
    body = bytearray(data[header_len:header_len + n_records * record_bytes])
    if _ANNOTATION_LABEL in labels:  # scrubbed even where the header does not claim EDF+
        offsets = np.concatenate([[0], np.cumsum(samples)]) * 2
        for k, label in enumerate(labels):
            if label != _ANNOTATION_LABEL:
                continue
            for r in range(n_records):
                a = r * record_bytes + int(offsets[k])
                b = r * record_bytes + int(offsets[k + 1])
                body[a:b] = _annotation_bytes(bytes(body[a:b]))
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(bytes(out + body))
