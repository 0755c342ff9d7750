"""HL7 v3 annotated ECG (FDA aECG, ``<AnnotatedECG xmlns="urn:hl7-org:v3">``).

Samples are spelled out as integers in ``<digits>``; the physical value is
``origin + scale × digit`` in the unit of ``scale`` (µV or mV). Time comes from the
``TIME_ABSOLUTE``/``TIME_RELATIVE`` sequence's ``increment`` (s or ms). The rhythm
``<series>`` is preferred; a representative-beat ``<derivedSeries>`` is read only when a
document holds nothing else. The device's own annotations (intervals, axes, rhythm) become
``ecg.device``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from xml.etree.ElementTree import Element

import numpy as np

from ecglens.exceptions import ECGFormatError
from ecglens.io import xmlsupport as xs
from ecglens.io.deidentify import DeidOptions
from ecglens.io.limits import check_offset, check_sampling_rate, check_step
from ecglens.record import ECG, Acquisition, DeviceInterpretation, Patient, make_ecg

_TO_MV = {"uv": 1e-3, "µv": 1e-3, "mv": 1.0, "v": 1e3, "nv": 1e-6}
_TO_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_TO_MS = {"s": 1000.0, "ms": 1.0, "us": 1e-3}
_TS = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})?(\d{2})?(?:\.\d+)?)?(?:[+-]\d{2,4})?$")

#: MDC codes of global measurements -> (key in ecglens.measure.Measurements, unit kind)
_MEASUREMENTS = {
    "MDC_ECG_HEART_RATE": ("heart_rate_bpm", "rate"),
    "MDC_ECG_TIME_PD_RR": ("rr_ms", "time"),
    "MDC_ECG_TIME_PD_P": ("p_duration_ms", "time"),
    "MDC_ECG_TIME_PD_PR": ("pr_ms", "time"),
    "MDC_ECG_TIME_PD_QRS": ("qrs_ms", "time"),
    "MDC_ECG_TIME_PD_QT": ("qt_ms", "time"),
    # plain "QTc" does not say which correction the device used: keep it apart
    "MDC_ECG_TIME_PD_QTc": ("qtc_ms", "time"),
    "MDC_ECG_TIME_PD_QTcB": ("qtc_bazett_ms", "time"),
    "MDC_ECG_TIME_PD_QTcF": ("qtc_fridericia_ms", "time"),
    "MDC_ECG_ANGLE_P_FRONT": ("p_axis_deg", "angle"),
    "MDC_ECG_ANGLE_QRS_FRONT": ("qrs_axis_deg", "angle"),
    "MDC_ECG_ANGLE_T_FRONT": ("t_axis_deg", "angle"),
}


def _code(el: Element | None) -> str:
    c = xs.child(el, "code")
    return (c.get("code") or "").strip() if c is not None else ""


def parse_ts(value: str | None) -> datetime | date | None:
    """HL7 TS (``YYYYMMDD[HHMM[SS[.ffff]]][+ZZZZ]``) to a date or naive datetime."""
    m = _TS.match((value or "").strip())
    if not m:
        return None
    y, mo, d, hh, mi, ss = m.groups()
    try:
        if hh is None:
            return date(int(y), int(mo), int(d))
        return datetime(int(y), int(mo), int(d), int(hh), int(mi or 0), int(ss or 0))
    except ValueError:
        return None


def _series(root: Element) -> Element | None:
    series = list(xs.descendants(root, "series"))
    for s in series:
        if _code(s).upper() == "RHYTHM":
            return s
    if series:
        return series[0]
    return next(xs.descendants(root, "derivedSeries"), None)


def _sequence_set(path: Path, series: Element) -> Element:
    for comp in xs.children(series, "component"):
        seq_set = xs.child(comp, "sequenceSet")
        if seq_set is not None:
            return seq_set
    raise ECGFormatError(path, "HL7 aECG series holds no <sequenceSet> of waveforms")


def _quantity(path: Path, el: Element | None, what: str, table: dict[str, float]) -> float:
    if el is None:
        raise ECGFormatError(path, f"HL7 aECG sequence lacks its <{what}>")
    value, unit = xs.number(el.get("value")), (el.get("unit") or "").strip().lower()
    if value is None or unit not in table:
        raise ECGFormatError(
            path, f"HL7 aECG <{what}> value {el.get('value')!r} unit {el.get('unit')!r} not "
                  "understood"
        )
    return value * table[unit]


def _read_waveforms(path: Path,
                    series: Element) -> tuple[np.ndarray, float, list[str], list[float]]:
    increment_s: float | None = None
    leads: list[str] = []
    columns: list[np.ndarray] = []
    resolution: list[float] = []
    for comp in xs.children(_sequence_set(path, series), "component"):
        seq = xs.child(comp, "sequence")
        if seq is None:
            continue
        code, value = _code(seq), xs.child(seq, "value")
        if code.startswith("TIME_"):
            increment_s = _quantity(path, xs.child(value, "increment"), "increment", _TO_S)
            continue
        digits = xs.text(value, "digits")
        if digits is None:
            raise ECGFormatError(path, f"HL7 aECG lead {code or '?'} has no <digits> samples")
        scale = xs.child(value, "scale")
        to_mv = check_step(path, _quantity(path, scale, "scale", _TO_MV),
                           f"HL7 aECG lead {code} <scale>")
        origin = xs.child(value, "origin")
        origin_mv = 0.0
        if origin is not None:
            assert scale is not None  # _quantity refused a missing <scale>
            unit = (origin.get("unit") or scale.get("unit") or "").strip().lower()
            o = xs.number(origin.get("value"))
            if o is None or unit not in _TO_MV:
                raise ECGFormatError(path, "HL7 aECG <origin> not understood")
            origin_mv = check_offset(path, o * _TO_MV[unit], f"HL7 aECG lead {code} <origin>")
        try:
            samples = np.array(digits.split(), dtype=np.float64)
        except ValueError:
            raise ECGFormatError(path, f"HL7 aECG lead {code}: <digits> holds a non-numeric "
                                       "value") from None
        if not np.all(np.isfinite(samples)):
            raise ECGFormatError(path, f"HL7 aECG lead {code}: <digits> holds non-finite values")
        leads.append(code or f"lead{len(leads) + 1}")
        columns.append(origin_mv + samples * to_mv)
        resolution.append(abs(to_mv))
    if not columns:
        raise ECGFormatError(path, "HL7 aECG document holds no lead waveforms")
    if increment_s is None or increment_s <= 0:
        raise ECGFormatError(path, "HL7 aECG document gives no positive sampling increment")
    fs = check_sampling_rate(path, 1.0 / increment_s, "HL7 aECG time <increment> (1 / increment)")
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise ECGFormatError(path, f"HL7 aECG leads have different lengths {sorted(lengths)}")
    return np.column_stack(columns), fs, leads, resolution


def _patient(root: Element) -> Patient:
    subject = next(xs.descendants(root, "trialSubject"), None)
    person = xs.child(subject, "subjectDemographicPerson")
    name_el = xs.child(person, "name")
    name = (" ".join(t.strip() for t in name_el.itertext() if t.strip())
            if name_el is not None else "")
    ident = xs.child(subject, "id")
    birth_el = xs.child(person, "birthTime")
    birth = parse_ts(birth_el.get("value")) if birth_el is not None else None
    age: float | None = None
    for obs in xs.descendants(root, "relatedObservation"):
        if _code(obs) == "21612-7":  # LOINC "reported age"
            v = xs.child(obs, "value")
            if v is not None and (v.get("unit") or "a") == "a":
                age = xs.number(v.get("value"))
    sex = xs.child(person, "administrativeGenderCode")
    return Patient(
        name=name or None,
        patient_id=(ident.get("extension") or None) if ident is not None else None,
        birth_date=birth.date() if isinstance(birth, datetime) else birth,
        age_years=age,
        sex=xs.sex_code(sex.get("code") if sex is not None else None),
    )


def _filters(series: Element) -> dict[str, float]:
    out: dict[str, float] = {}
    names = {"LOW_PASS": "filter_high_hz", "HIGH_PASS": "filter_low_hz", "NOTCH": "notch_hz"}
    for cv in xs.descendants(series, "controlVariable"):
        code = _code(cv)
        for suffix, key in names.items():
            if code == f"MDC_ECG_CTL_VBL_ATTR_FILTER_{suffix}":
                for v in xs.descendants(cv, "value"):
                    hz = xs.number(v.get("value")) if (v.get("unit") or "") == "Hz" else None
                    if hz is not None:
                        out.setdefault(key, hz)
    return out


def _acquisition(root: Element, series: Element) -> Acquisition:
    when: datetime | date | None = None
    eff = xs.child(root, "effectiveTime")
    for part in ("center", "low"):
        el = xs.child(eff, part)
        if el is not None and when is None:
            when = parse_ts(el.get("value"))
    model = next(xs.descendants(series, "manufacturerModelName"), None)
    maker = xs.child(next(xs.descendants(series, "manufacturerOrganization"), None), "name")
    device = " ".join(t for t in (xs.text(maker), xs.text(model)) if t) or None
    site = xs.text(next(xs.descendants(root, "testingSite"), None), "location", "name")
    if isinstance(when, date) and not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day)
    return Acquisition(time=when, device=device, site=site, **_filters(series))


def _device(series: Element) -> DeviceInterpretation:
    measurements: dict[str, float] = {}
    statements: list[str] = []
    codes: list[str] = []
    ann_set = next(xs.descendants(series, "annotationSet"), None)
    if ann_set is None:
        return DeviceInterpretation()
    for ann in xs.descendants(ann_set, "annotation"):
        code, value = _code(ann), xs.child(ann, "value")
        if value is None:
            continue
        if code in _MEASUREMENTS and code not in measurements:
            key, kind = _MEASUREMENTS[code]
            if any(_code(b).startswith("MDC_ECG_LEAD_") for b in xs.descendants(ann, "boundary")):
                continue  # a lead-specific value, not the global one
            x, unit = xs.number(value.get("value")), (value.get("unit") or "").lower()
            if x is None:
                continue
            if kind == "time" and unit in _TO_MS:
                measurements.setdefault(key, x * _TO_MS[unit])
            elif kind != "time":
                measurements.setdefault(key, x)
        elif code in {"MDC_ECG_RHY", "MDC_ECG_INTERPRETATION_STATEMENT", "MDC_ECG_INTERPRETATION"}:
            label = value.get("displayName") or (value.text or "").strip()
            if label and label not in statements:
                statements.append(label)
            if value.get("code") and value.get("code") not in codes:
                codes.append(value.get("code") or "")
    return DeviceInterpretation(statements=statements, codes=codes, measurements=measurements)


def read(path: Path) -> ECG:
    """Read an HL7 aECG document (rhythm series) into an :class:`ECG` in millivolts."""
    root = xs.parse(path)
    if xs.local(root.tag) != "AnnotatedECG":
        raise ECGFormatError(path, f"not an HL7 aECG document (root <{xs.local(root.tag)}>)")
    series = _series(root)
    if series is None:
        raise ECGFormatError(path, "HL7 aECG document holds no waveform <series>")
    signal, fs, leads, resolution = _read_waveforms(path, series)
    return make_ecg(
        signal, fs, leads,
        patient=_patient(root), acquisition=_acquisition(root, series), device=_device(series),
        source_format="hl7-aecg", resolution_mv=tuple(resolution),
    )


def read_median_beats(path: Path) -> ECG:
    """The representative beat (``REPRESENTATIVE_BEAT`` derived series), when the file has one."""
    root = xs.parse(path)
    derived = next((d for d in xs.descendants(root, "derivedSeries")
                    if _code(d).upper() == "REPRESENTATIVE_BEAT"), None)
    if derived is None:
        raise ECGFormatError(path, "HL7 aECG document holds no representative-beat series")
    signal, fs, leads, resolution = _read_waveforms(path, derived)
    return make_ecg(signal, fs, leads, source_format="hl7-aecg", resolution_mv=tuple(resolution))


# --- de-identification -------------------------------------------------------------------

#: elements whose text is a person's or place's name, an address or free text
_FREE_TEXT = {"name", "addr", "text", "telecom"}


def _shift_ts(value: str, options: DeidOptions) -> str | None:
    parsed = parse_ts(value)
    if parsed is None:
        return value
    d = parsed.date() if isinstance(parsed, datetime) else parsed
    new = xs.shift_date(d, options)
    if new is None:
        return None
    return new.strftime("%Y%m%d") + value.strip()[8:]  # keeps time, fraction and zone as they were


def deidentify(src: Path, dst: Path, options: DeidOptions) -> None:
    """Rewrite an aECG without patient identity; the ``<digits>`` text is copied unchanged."""
    tree = xs.load_for_rewrite(src)
    root = tree.getroot()
    if xs.local(root.tag) != "AnnotatedECG":
        raise ECGFormatError(src, "not an HL7 aECG document")
    xs.drop_comments(tree)
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        name = xs.local(el.tag)
        parent = el.getparent()
        if name == "birthTime":
            if parent is not None:
                parent.remove(el)
            continue
        if (name in _FREE_TEXT and parent is not None
                and xs.local(parent.tag) != "manufacturerOrganization"):
            xs.blank(el)
            for c in list(el):
                el.remove(c)
        elif name == "id":
            # extensions are subject, site, investigator and document numbers; UUID roots
            # identify this very record. OIDs (dotted numbers) name organisations: kept.
            for attr in ("extension", "root"):
                v = el.get(attr)
                if v is None or (attr == "root" and re.fullmatch(r"[\d.]+", v)):
                    continue
                pseudo = options.pseudonym(v)
                if attr == "root" and pseudo:
                    pseudo = _uuid_like(pseudo)
                if pseudo:
                    el.set(attr, pseudo)
                elif attr == "extension":
                    del el.attrib[attr]
                else:
                    el.set(attr, "2.25.0")  # an anonymous OID keeps the id element valid
        elif (name in {"center", "low", "high", "head", "activityTime", "time"}
              and el.get("unit") is None):
            v = el.get("value")
            if v and parse_ts(v) is not None:
                shifted = _shift_ts(v, options)
                if shifted is None:
                    del el.attrib["value"]
                    el.set("nullFlavor", "MSK")
                else:
                    el.set("value", shifted)
        elif name == "value" and el.get("unit") == "a":
            age = xs.number(el.get("value"))
            if age is not None and age > xs.AGE_CAP_YEARS:
                el.set("value", str(xs.AGE_CAP_YEARS))
    xs.write(tree, dst)


def _uuid_like(pseudo: str) -> str:
    h = (pseudo.replace("ANON-", "").lower() + "0" * 32)[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
