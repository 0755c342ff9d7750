"""Philips Sierra ECG XML 1.03 / 1.04 / 1.04.0x (PageWriter, TraceMaster, HeartStart),
XLI-compressed.

The document is parsed by our hardened parser. The waveform is XLI: per lead an 8-byte chunk
header, 10-bit LZW codes, then byte-split 16-bit second differences. We decode it ourselves,
with the arithmetic of the ``sierraecg`` package (``tests/test_io_hardening.py`` checks the
result is identical on the real files), because LZW output is not bounded by the file size: a
700 KB file of repeated codes expands to gigabytes. Our LZW loop counts its output after every
code and stops at :data:`~ecglens.io.limits.MAX_DECOMPRESSED_SAMPLES_PER_LEAD` (an absolute
cap; the header's ``durationperchannel`` only lowers it). Philips stores leads III, aVR, aVL
and aVF as residuals against I and II; they are rebuilt exactly as ``sierraecg`` does (floor
division, as its JS twin).

Amplitudes: ``resolution`` µV per count (5 µV on every file seen). The stored channel spans
``durationperchannel`` ms, which includes a 1 mV calibration pulse near the end; ``read`` leaves
it out (it would read as clipping in every lead), ``deidentify`` copies it with the rest.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np
from lxml import etree

from ecglens.exceptions import ECGFormatError
from ecglens.io import xmlsupport as xs
from ecglens.io.deidentify import DeidOptions
from ecglens.io.limits import (
    MAX_DECOMPRESSED_SAMPLES_PER_LEAD,
    check_sampling_rate,
    check_step,
)
from ecglens.io.xli import xli_decode
from ecglens.record import ECG, Acquisition, DeviceInterpretation, Patient, make_ecg

SUPPORTED_TYPES = ("SierraECG", "PhilipsECG")
SUPPORTED_VERSIONS = ("1.03", "1.04")  # 1.04.01, 1.04.02 share the 1.04 layout
_STD12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
_MAX_LEADS = 16  # the XLI encoder carries at most 16 channels

#: Philips interpretation measurement tags -> keys of ecglens.measure.Measurements. ``meanqtc``
#: (1.03) does not state its correction formula, so it keeps a key of its own.
_MEASUREMENTS = {
    "heartrate": "heart_rate_bpm",
    "rrint": "rr_ms",
    "pdur": "p_duration_ms",
    "print": "pr_ms",
    "meanprint": "pr_ms",
    "qrsdur": "qrs_ms",
    "meanqrsdur": "qrs_ms",
    "qtint": "qt_ms",
    "meanqtint": "qt_ms",
    "qtcb": "qtc_bazett_ms",
    "qtcf": "qtc_fridericia_ms",
    "meanqtc": "qtc_ms",
    "pfrontaxis": "p_axis_deg",
    "qrsfrontaxis": "qrs_axis_deg",
    "tfrontaxis": "t_axis_deg",
}


def _check_document(path: Path, root: Element) -> str:
    if xs.local(root.tag) != "restingecgdata":
        raise ECGFormatError(path, "not a Philips Sierra ECG document (root "
                                   f"<{xs.local(root.tag)}>)")
    doc_type = xs.text(root, "documentinfo", "documenttype") or "(none)"
    version = xs.text(root, "documentinfo", "documentversion") or "(none)"
    if doc_type not in SUPPORTED_TYPES:
        raise ECGFormatError(
            path, f"Philips XML declares document type {doc_type!r} (version {version}); only "
            f"{' and '.join(SUPPORTED_TYPES)} documents can be read"
        )
    if not version.startswith(SUPPORTED_VERSIONS):
        raise ECGFormatError(
            path, f"Philips {doc_type} version {version} is not supported (1.03 and 1.04.x are)"
        )
    return version


def _int_field(path: Path, value: str | None, what: str) -> int:
    x = xs.number(value)
    if x is None or x <= 0 or x != int(x):
        raise ECGFormatError(path, f"Philips XML: {what} is missing or invalid ({value!r})")
    return int(x)


def _rebuild_limb_leads(leads: list[np.ndarray]) -> None:
    """III, aVR, aVL, aVF are stored as residuals of the values predicted from I and II."""
    i, ii = leads[0], leads[1]
    leads[2] = ii - i - leads[2]
    iii = leads[2]
    leads[3] = -leads[3] - np.floor_divide(i + ii, 2)
    leads[4] = np.floor_divide(i - iii, 2) - leads[4]
    leads[5] = np.floor_divide(ii + iii, 2) - leads[5]


def _waveforms(path: Path, root: Element) -> tuple[np.ndarray, float, list[str], float]:
    signal_chars = xs.child(root, "dataacquisition", "signalcharacteristics")
    pw = next(xs.descendants(root, "parsedwaveforms"), None)
    if pw is None or not (pw.text or "").strip():
        raise ECGFormatError(path, "Philips XML holds no <parsedwaveforms> data")
    fs_text = pw.get("samplespersecond")
    fs_field = "Philips XML <parsedwaveforms samplespersecond>"
    if fs_text is None:
        fs_text, fs_field = xs.text(signal_chars, "samplingrate"), "Philips XML <samplingrate>"
    if fs_text is None:
        raise ECGFormatError(path, "Philips XML gives no sampling rate")
    fs = check_sampling_rate(path, fs_text.strip(), fs_field)
    duration_ms = _int_field(path, pw.get("durationperchannel"), "durationperchannel")
    n_samples = round(duration_ms * fs / 1000.0)
    if not 1 <= n_samples <= MAX_DECOMPRESSED_SAMPLES_PER_LEAD:
        raise ECGFormatError(
            path, f"Philips XML durationperchannel={duration_ms} ms at {fs:g} Hz declares "
            f"{n_samples:,} samples per lead; a resting ECG holds 1 to "
            f"{MAX_DECOMPRESSED_SAMPLES_PER_LEAD:,}"
        )
    labels_attr = (pw.get("leadlabels") or "").split()
    if labels_attr:
        n_leads = _int_field(path, pw.get("numberofleads") or str(len(labels_attr)),
                             "numberofleads")
        labels = labels_attr[:n_leads]
    else:
        n_leads = _int_field(path, xs.text(signal_chars, "numberchannelsallocated"),
                             "number of channels")
        # bounded before the label list is built from it: the count is untrusted input
        labels = (list(_STD12[:n_leads]) + [f"Channel {k + 1}" for k in range(12, n_leads)]
                  if 1 <= n_leads <= _MAX_LEADS else [])
    if not 1 <= n_leads <= _MAX_LEADS or len(labels) != n_leads:
        raise ECGFormatError(path, f"Philips XML declares {n_leads} leads; 1 to {_MAX_LEADS} "
                                   "expected")
    for where, value in (("<parsedwaveforms resolution>", pw.get("resolution")),
                         ("<resolution>", xs.text(signal_chars, "resolution")),
                         ("<signalresolution>", xs.text(signal_chars, "signalresolution"))):
        if value is not None:  # the first one present is the one used: never a silent fallback
            resolution_uv = xs.number(value)
            if resolution_uv is None or resolution_uv <= 0:
                raise ECGFormatError(path, f"Philips XML {where} is not a positive number "
                                           f"({value[:40]!r})")
            check_step(path, resolution_uv / 1000.0, f"Philips XML {where} ({resolution_uv:g} µV)")
            break
    else:
        raise ECGFormatError(path, "Philips XML gives no amplitude resolution")
    encoding = pw.get("dataencoding") or ""
    compression = pw.get("compression") or (
        pw.get("compressmethod") if (pw.get("compressflag") or "").lower() == "true" else None
    )
    if encoding == "Plain" and compression is None:
        text = pw.text or ""
        if len(text) > 8 * n_leads * n_samples:  # 16-bit values: "-32768 " is 7 characters
            raise ECGFormatError(path, f"Philips XML plain waveform is longer than {n_leads} × "
                                 f"{n_samples} values can be")
        try:
            flat = np.array(text.split(), dtype=np.int64)
        except ValueError:
            raise ECGFormatError(path, "Philips XML plain waveform holds a non-integer "
                                       "value") from None
        if flat.size != n_leads * n_samples:
            raise ECGFormatError(path, f"Philips XML plain waveform has {flat.size} values, "
                                 f"expected {n_leads} × {n_samples}")
        leads = list(flat.reshape(n_leads, n_samples))
    elif encoding == "Base64" and compression == "XLI":
        try:
            data = base64.b64decode(pw.text or "", validate=False)
        except (binascii.Error, ValueError):
            raise ECGFormatError(path, "Philips XML waveform is not valid Base64 "
                                       "(truncated?)") from None
        leads = xli_decode(path, data, n_leads, n_samples)
        if tuple(labels[:6]) == _STD12[:6]:
            _rebuild_limb_leads(leads)
    else:
        raise ECGFormatError(
            path, f"Philips XML waveform encoding {encoding!r} with compression {compression!r} "
            "is not supported (Base64 + XLI and Plain are)"
        )
    signal = np.column_stack([lead[:n_samples] for lead in leads]) * (resolution_uv / 1000.0)
    return signal, fs, labels, resolution_uv / 1000.0


def _date_time(el: Element | None) -> datetime | None:
    if el is None:
        return None
    try:
        d = date.fromisoformat((el.get("date") or "").strip())
    except ValueError:
        return None
    try:
        t = datetime.strptime((el.get("time") or "").strip(), "%H:%M:%S").time()
    except ValueError:
        return datetime(d.year, d.month, d.day)
    return datetime.combine(d, t)


def _patient(root: Element, when: datetime | None) -> Patient:
    gp = xs.child(root, "patient", "generalpatientdata")
    name = xs.child(gp, "name")
    parts = [xs.text(name, n) for n in ("firstname", "middlename", "lastname")]
    age_el = xs.child(gp, "age")
    age = xs.number(xs.text(age_el, "years"))
    if age is None and (months := xs.number(xs.text(age_el, "months"))) is not None:
        age = months / 12.0
    birth: date | None = None
    with contextlib.suppress(ValueError):
        birth = date.fromisoformat(xs.text(age_el, "dateofbirth") or "")
    height = xs.number(xs.text(gp, "height", "cm"))
    inch = xs.number(xs.text(gp, "height", "inch"))
    weight = xs.number(xs.text(gp, "weight", "kg"))
    lb = xs.number(xs.text(gp, "weight", "lb"))
    return Patient(
        name=" ".join(p for p in parts if p) or None,
        patient_id=xs.text(gp, "patientid"),
        birth_date=birth,
        age_years=age if age is not None else xs.age_at(birth, when),
        sex=xs.sex_code(xs.text(gp, "sex")),
        height_cm=height if height else (inch * 2.54 if inch else None),
        weight_kg=weight if weight else (lb * 0.45359237 if lb else None),
    )


def _acquisition(root: Element) -> Acquisition:
    acq = xs.child(root, "dataacquisition")
    sc = xs.child(acq, "signalcharacteristics")
    machine = xs.child(acq, "machine")
    device = " ".join(
        t for t in (xs.text(machine),
                    machine.get("detaildescription") if machine is not None else None) if t
    ) or None
    low, high = xs.number(xs.text(sc, "hipass")), xs.number(xs.text(sc, "lowpass"))
    band = (xs.text(sc, "signalbandwidth") or "").split("-")
    if low is None and len(band) == 2:
        low, high = xs.number(band[0]), xs.number(band[1])
    notch = None
    if (xs.text(sc, "notchfiltered") or "").lower() == "true":
        notch = xs.number((xs.text(sc, "notchfilterfreqs") or "").split(",")[0])
    return Acquisition(
        time=_date_time(acq), device=device, site=xs.text(acq, "acquirer", "institutionname"),
        filter_low_hz=low, filter_high_hz=high, notch_hz=notch,
    )


def _device(root: Element) -> DeviceInterpretation:
    interp = xs.child(root, "interpretations", "interpretation")
    measurements: dict[str, float] = {}
    statements: list[str] = []
    codes: list[str] = []
    if interp is None:
        return DeviceInterpretation()
    for block in ("globalmeasurements", "interpretationmeasurements"):
        section = xs.child(interp, block)
        for el in section if section is not None else []:
            key = _MEASUREMENTS.get(xs.local(el.tag))
            value = xs.number(el.text)
            if key is not None and value is not None:
                measurements.setdefault(key, value)
    for st in xs.children(interp, "statement"):
        left = xs.text(st, "leftstatement")
        if left:
            statements.append(left)
        code = xs.text(st, "statementcode")
        if code:
            codes.append(code)
    severity = xs.text(interp, "severity")
    if severity:
        statements.append(severity.strip(" -"))
    return DeviceInterpretation(statements=statements, codes=codes, measurements=measurements)


#: the calibration tail some Philips carts (MRx, PageWriter) append to every lead after the
#: 10 s tracing: flat, a 1 mV square pulse of 200 ms, flat again, identical in all leads
_CAL_TAIL_S, _CAL_MIN_PULSE_S, _CAL_MV = 1.2, 0.15, (0.5, 2.0)


def strip_calibration_pulse(signal: np.ndarray, fs: float) -> np.ndarray:
    """The signal without a trailing calibration pulse, or unchanged if it has none.

    Left in, the square pulse reads as signal: every lead is flagged for clipping (it sits on
    one value at its extreme) and its edges look like beats. It is recognised by what no
    tracing does: all leads exactly equal, flat at 0 or on one plateau of 0.5–2 mV lasting at
    least 150 ms, from some point in the last 1.2 s to the end; the tracing ends there.
    """
    n = signal.shape[0]
    tail = signal[max(n - round(_CAL_TAIL_S * fs), 0):]
    if tail.size == 0 or signal.shape[1] < 2:
        return signal
    same = np.all(np.abs(tail - tail[:, :1]) < 1e-9, axis=1)
    other = np.flatnonzero(~same)
    start = other[-1] + 1 if other.size else 0
    pulse = tail[start:, 0]
    plateau = pulse[np.abs(pulse) > 1e-9]
    if (plateau.size < _CAL_MIN_PULSE_S * fs or np.ptp(plateau) > 1e-6
            or not _CAL_MV[0] <= plateau[0] <= _CAL_MV[1]):
        return signal
    return signal[: n - len(tail) + start]


def read(path: Path) -> ECG:
    """Read a Philips Sierra XML ECG into an :class:`ECG` in millivolts (the calibration pulse
    a cart appends after the tracing is left out: :func:`strip_calibration_pulse`)."""
    root = xs.parse(path)
    _check_document(path, root)
    signal, fs, labels, res = _waveforms(path, root)
    signal = strip_calibration_pulse(signal, fs)
    acquisition = _acquisition(root)
    return make_ecg(
        signal, fs, labels,
        patient=_patient(root, acquisition.time), acquisition=acquisition, device=_device(root),
        source_format="philips-sierra", resolution_mv=tuple([res] * len(labels)),
    )


_PAD = 32767  # repbeat samples past the end of the beat window are padded with 0x7FFF


def read_median_beats(path: Path) -> ECG:
    """The cart's representative beat of every lead (``<repbeats>``, 1.04 files), in millivolts."""
    root = xs.parse(path)
    _check_document(path, root)
    reps = next(xs.descendants(root, "repbeats"), None)
    if reps is None or reps.get("dataencoding", "Base64") != "Base64":
        raise ECGFormatError(path, "Philips XML holds no Base64 representative beats")
    if reps.get("samplespersec") is None or reps.get("resolution") is None:
        raise ECGFormatError(path, "Philips XML representative beats lack sampling rate or "
                                   "resolution")
    fs = check_sampling_rate(path, reps.get("samplespersec"),
                             "Philips XML <repbeats samplespersec>")
    res_uv = xs.number(reps.get("resolution"))
    if res_uv is None or res_uv <= 0:
        raise ECGFormatError(path, "Philips XML <repbeats resolution> is not a positive number")
    check_step(path, res_uv / 1000.0, f"Philips XML <repbeats resolution> ({res_uv:g} µV)")
    labels: list[str] = []
    columns: list[np.ndarray] = []
    for rep in xs.children(reps, "repbeat"):
        wave = xs.child(rep, "waveform")
        payload = (wave if wave is not None else rep).text or ""
        try:
            raw = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            raise ECGFormatError(path, "Philips XML representative beat is not valid "
                                       "Base64") from None
        labels.append(rep.get("leadname") or f"lead{len(labels) + 1}")
        columns.append(np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int64))
    if not columns or len({len(c) for c in columns}) != 1 or len(columns[0]) == 0:
        raise ECGFormatError(path, "Philips XML representative beats are missing or of unequal "
                                   "length")
    counts = np.column_stack(columns)
    valid = ~np.all(counts == _PAD, axis=1)
    end = int(np.nonzero(valid)[0][-1]) + 1 if valid.any() else 0
    if end == 0:
        raise ECGFormatError(path, "Philips XML representative beats hold only padding")
    return make_ecg(counts[:end] * (res_uv / 1000.0), fs, labels, source_format="philips-sierra",
                    resolution_mv=tuple([res_uv / 1000.0] * len(labels)))


# --- de-identification -------------------------------------------------------------------

#: identifiers replaced by a keyed pseudonym (or emptied without a key)
_IDS = {"patientid", "uniquepatientid", "MRN", "mrn", "ordernumber", "uniqueorderid",
        "documentname", "encounterid", "accountnumber", "visitnumber"}
#: names, places, people and free text: emptied
_FREE_TEXT = {
    "lastname", "firstname", "middlename", "filename", "comments", "editor", "orderremarks",
    "reasonfororder", "orderbillingcode", "inbox", "operator", "operatorid", "departmentid",
    "departmentname", "institutionid", "institutionname", "institutionlocationid", "facilityid",
    "facilityname", "mdsignatureline", "overreader", "reviewer", "technician", "physician",
    "referringphysician", "orderingphysician", "room", "bed", "location", "address",
}


#: top-level sections whose content is technical or clinical; any other section (vendors add
#: their own) is emptied, as are order details and unlisted patient fields
_CLINICAL_SECTIONS = {"documentinfo", "userdefines", "reportinfo", "dataacquisition", "patient",
                      "measurements", "internalmeasurements", "interpretations", "waveforms"}
_PATIENT_FIELDS = {"patientid", "uniquepatientid", "MRN", "mrn", "name", "age", "sex", "pacestatus",
                   "height", "weight", "race"}


def _blank_unlisted(root: Any) -> None:
    for section in root:
        if not isinstance(section.tag, str):
            continue
        if xs.local(section.tag) not in _CLINICAL_SECTIONS:
            xs.blank(section)
    gp = xs.child(xs.child(root, "patient"), "generalpatientdata")
    for field in gp if gp is not None else []:
        if isinstance(field.tag, str) and xs.local(field.tag) not in _PATIENT_FIELDS:
            xs.blank(field)


def deidentify(src: Path, dst: Path, options: DeidOptions) -> None:
    """Rewrite a Sierra XML without patient identity; the waveform text is copied unchanged."""
    root_check = xs.parse(src)
    _check_document(src, root_check)
    tree = xs.load_for_rewrite(src)
    xs.drop_comments(tree)
    _age_from_birth_date(tree.getroot(), _date_time(xs.child(root_check, "dataacquisition")))
    for el in list(tree.getroot().iter()):
        if not isinstance(el.tag, str):
            continue
        name = xs.local(el.tag)
        parent = el.getparent()
        if name == "dateofbirth":
            if parent is not None:  # never the root
                parent.remove(el)
            continue
        if name in _IDS:
            el.text = options.pseudonym((el.text or "").strip()) or None
        elif name in _FREE_TEXT or (name == "value" and parent is not None
                                    and xs.local(parent.tag) == "userdefine"):
            xs.blank(el)
        elif name == "machine" and (machine_id := el.get("machineid")):
            el.set("machineid", options.pseudonym(machine_id))
        elif name == "years":
            age = xs.number(el.text)
            if age is not None and age > xs.AGE_CAP_YEARS:
                el.text = str(xs.AGE_CAP_YEARS)
        elif name in {"leftstatement", "rightstatement"} and xs.looks_like_signature(el.text):
            el.text = None
        if date_text := el.get("date"):
            try:
                d = date.fromisoformat(date_text.strip())
            except ValueError:
                continue
            new = xs.shift_date(d, options)
            if new is None:
                del el.attrib["date"]
                if "time" in el.attrib:
                    del el.attrib["time"]
            else:
                el.set("date", new.isoformat())
    _blank_unlisted(tree.getroot())
    xs.write(tree, dst)


def _age_from_birth_date(root: Any, when: datetime | None) -> None:
    """Where only a birth date gives the age, write the age in years (the date then goes)."""
    gp = xs.child(xs.child(root, "patient"), "generalpatientdata")
    age_el = xs.child(gp, "age")
    if age_el is None or xs.child(age_el, "years") is not None:
        return
    birth_text = xs.text(age_el, "dateofbirth")
    try:
        birth = date.fromisoformat(birth_text or "")
    except ValueError:
        return
    years = xs.age_at(birth, when)
    if years is not None:
        ns = age_el.tag[: -len("age")]
        years_el = etree.SubElement(age_el, ns + "years")
        years_el.text = str(int(xs.cap_age(years)))
