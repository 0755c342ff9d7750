"""GE MUSE RestingECG XML (MAC resting electrocardiographs exported from MUSE 7–9).

Each ``<Waveform>`` (``Rhythm``: the 10 s recording; ``Median``: GE 12SL's representative beat)
holds one ``<LeadData>`` per stored lead: Base64 of little-endian int16 samples, scaled by
``LeadAmplitudeUnitsPerBit`` in ``LeadAmplitudeUnits``, with a CRC-32 of the decoded bytes that
we verify. MAC carts store I, II and V1–V6; III, aVR, aVL and aVF are derived.

Every MUSE export starts with ``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">``: that bare
declaration is accepted, entity declarations and external references are refused
(:func:`ecglens.io.xmlsupport.parse`).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np
from lxml import etree

from ecglens.exceptions import ECGFormatError
from ecglens.io import xmlsupport as xs
from ecglens.io.deidentify import DeidOptions
from ecglens.io.limits import check_sampling_rate, check_step
from ecglens.record import ECG, Acquisition, DeviceInterpretation, Patient, make_ecg

_TO_MV = {"MICROVOLTS": 1e-3, "MILLIVOLTS": 1.0, "VOLTS": 1e3}
_AGE_UNITS = {"YEARS": 1.0, "MONTHS": 1 / 12, "WEEKS": 7 / 365.25, "DAYS": 1 / 365.25,
              "HOURS": 1 / 8766}

#: GE 12SL <RestingECGMeasurements> -> keys of ecglens.measure.Measurements. GE's QTCorrected is
#: Bazett's correction (QT 328 ms at 97 bpm gives 417 ms, as in the example file).
_MEASUREMENTS = {
    "VentricularRate": "heart_rate_bpm",
    "AtrialRate": "atrial_rate_bpm",
    "PRInterval": "pr_ms",
    "QRSDuration": "qrs_ms",
    "QTInterval": "qt_ms",
    "QTCorrected": "qtc_bazett_ms",
    "QTcFrederica": "qtc_fridericia_ms",
    "PAxis": "p_axis_deg",
    "RAxis": "qrs_axis_deg",
    "TAxis": "t_axis_deg",
}


def _root(path: Path) -> Element:
    root = xs.parse(path, allow_doctype=True)
    if xs.local(root.tag) != "RestingECG":
        raise ECGFormatError(path, "not a GE MUSE RestingECG document (root "
                                   f"<{xs.local(root.tag)}>)")
    return root


def _waveform(path: Path, root: Element,
              kind: str) -> tuple[np.ndarray, float, list[str], list[float]]:
    wf = next((w for w in xs.children(root, "Waveform") if xs.text(w, "WaveformType") == kind),
              None)
    if wf is None:
        raise ECGFormatError(path, f"GE MUSE document holds no {kind} waveform")
    base = xs.number(xs.text(wf, "SampleBase"))
    exponent_text = xs.text(wf, "SampleExponent")
    exponent = xs.number(exponent_text) if exponent_text is not None else 0.0
    if base is None or base <= 0 or exponent is None or not -3 <= exponent <= 3:
        raise ECGFormatError(path, f"GE MUSE {kind} waveform gives no valid sampling rate "
                             "(<SampleBase>, <SampleExponent>)")
    fs = check_sampling_rate(path, base * 10.0**exponent, f"GE MUSE {kind} <SampleBase>")
    leads: list[str] = []
    columns: list[np.ndarray] = []
    resolution: list[float] = []
    for ld in xs.children(wf, "LeadData"):
        lead = xs.text(ld, "LeadID") or f"lead{len(leads) + 1}"
        per_bit = xs.number(xs.text(ld, "LeadAmplitudeUnitsPerBit"))
        units = (xs.text(ld, "LeadAmplitudeUnits") or "").upper()
        if per_bit is None or units not in _TO_MV:
            raise ECGFormatError(path, f"GE MUSE lead {lead}: amplitude units not understood")
        if (xs.text(ld, "LeadSampleSize") or "2") != "2":
            raise ECGFormatError(path, f"GE MUSE lead {lead}: only 2-byte samples are supported")
        try:
            raw = base64.b64decode(xs.text(ld, "WaveFormData") or "", validate=False)
        except (binascii.Error, ValueError):
            raise ECGFormatError(path, f"GE MUSE lead {lead}: waveform is not valid "
                                       "Base64") from None
        n = xs.number(xs.text(ld, "LeadSampleCountTotal"))
        if n is None or len(raw) != 2 * int(n):
            raise ECGFormatError(
                path, f"GE MUSE lead {lead}: {len(raw)} bytes of samples, expected 2 × {n} "
                      "(truncated?)"
            )
        crc = xs.number(xs.text(ld, "LeadDataCRC32"))
        if crc is not None and zlib.crc32(raw) != int(crc):
            raise ECGFormatError(path, f"GE MUSE lead {lead}: waveform fails its CRC-32 check "
                                       "(corrupt)")
        to_mv = check_step(path, per_bit * _TO_MV[units],
                           f"GE MUSE lead {lead} <LeadAmplitudeUnitsPerBit>")
        leads.append(lead)
        columns.append(np.frombuffer(raw, dtype="<i2").astype(np.float64) * to_mv)
        resolution.append(to_mv)
    if not columns:
        raise ECGFormatError(path, f"GE MUSE {kind} waveform holds no leads")
    if len({len(c) for c in columns}) != 1:
        raise ECGFormatError(path, f"GE MUSE {kind} leads have different lengths")
    return np.column_stack(columns), fs, leads, resolution


def _muse_date(value: str | None) -> date | None:
    for fmt in ("%m-%d-%Y", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime((value or "").strip(), fmt).date()
        except ValueError:
            continue
    return None


def _patient(root: Element, when: datetime | None) -> Patient:
    pd = xs.child(root, "PatientDemographics")
    name = " ".join(p for p in (xs.text(pd, "PatientFirstName"), xs.text(pd, "PatientLastName"))
                    if p)
    age = xs.number(xs.text(pd, "PatientAge"))
    unit = _AGE_UNITS.get((xs.text(pd, "AgeUnits") or "YEARS").upper())
    birth = _muse_date(xs.text(pd, "DateofBirth"))
    height = xs.number(xs.text(pd, "HeightCM")) or (xs.number(xs.text(pd, "HeightIN")) or 0) * 2.54
    weight = (xs.number(xs.text(pd, "WeightKG"))
              or (xs.number(xs.text(pd, "WeightLBS")) or 0) * 0.45359237)
    return Patient(
        name=name or None,
        patient_id=xs.text(pd, "PatientID"),
        birth_date=birth,
        age_years=age * unit if age is not None and unit is not None else xs.age_at(birth, when),
        sex=xs.sex_code(xs.text(pd, "Gender")),
        height_cm=height or None,  # MUSE writes 0 for "not entered"
        weight_kg=weight or None,
    )


def _acquisition(root: Element) -> Acquisition:
    td = xs.child(root, "TestDemographics")
    when: datetime | None = None
    day = _muse_date(xs.text(td, "AcquisitionDate"))
    if day is not None:
        try:
            t = datetime.strptime(xs.text(td, "AcquisitionTime") or "", "%H:%M:%S").time()
        except ValueError:
            t = datetime.min.time()
        when = datetime.combine(day, t)
    rhythm = next((w for w in xs.children(root, "Waveform")
                   if xs.text(w, "WaveformType") == "Rhythm"), None)
    high_pass = xs.number(xs.text(rhythm, "HighPassFilter"))
    notch = xs.number(xs.text(rhythm, "ACFilter"))
    return Acquisition(
        time=when,
        device=xs.text(td, "AcquisitionDevice"),
        site=xs.text(td, "SiteName"),
        filter_low_hz=high_pass / 100.0 if high_pass else None,  # stored in 0.01 Hz (56 = 0.56 Hz)
        filter_high_hz=xs.number(xs.text(rhythm, "LowPassFilter")),
        notch_hz=notch or None,
    )


def _statements(diagnosis: Element | None) -> list[str]:
    """Statement lines; MUSE splits one line over several entries until an ENDSLINE flag."""
    lines: list[str] = []
    current: list[str] = []
    for st in xs.children(diagnosis, "DiagnosisStatement") if diagnosis is not None else []:
        piece = xs.text(st, "StmtText")
        if piece:
            current.append(piece)
        if any((f.text or "").strip() == "ENDSLINE" for f in xs.children(st, "StmtFlag")):
            if current:
                lines.append(" ".join(current))
            current = []
    if current:
        lines.append(" ".join(current))
    return lines


def _device(root: Element) -> DeviceInterpretation:
    meas = xs.child(root, "RestingECGMeasurements")
    measurements: dict[str, float] = {}
    for tag, key in _MEASUREMENTS.items():
        value = xs.number(xs.text(meas, tag))
        if value is not None:
            measurements[key] = value
    rr = xs.number(xs.text(root, "QRSTimesTypes", "GlobalRR"))
    if rr:
        measurements["rr_ms"] = rr
    return DeviceInterpretation(statements=_statements(xs.child(root, "Diagnosis")),
                                measurements=measurements)


def read(path: Path) -> ECG:
    """Read the Rhythm waveform of a GE MUSE XML into a 12-lead :class:`ECG` in millivolts."""
    root = _root(path)
    signal, fs, leads, resolution = _waveform(path, root, "Rhythm")
    acquisition = _acquisition(root)
    return make_ecg(
        signal, fs, leads,
        patient=_patient(root, acquisition.time), acquisition=acquisition, device=_device(root),
        source_format="ge-muse", resolution_mv=tuple(resolution),
    )


def read_median_beats(path: Path) -> ECG:
    """GE 12SL's median (representative) beat of every lead, as a short 12-lead :class:`ECG`."""
    root = _root(path)
    signal, fs, leads, resolution = _waveform(path, root, "Median")
    return make_ecg(signal, fs, leads, source_format="ge-muse", resolution_mv=tuple(resolution))


# --- de-identification -------------------------------------------------------------------

#: per identifying section, the fields that are kept as they are; everything else in the
#: section is emptied, except identifiers (pseudonymised) and dates (shifted or dropped)
_KEEP = {
    "PatientDemographics": {"PatientAge", "AgeUnits", "Gender", "Race", "HeightCM", "WeightKG",
                            "HeightIN", "WeightLBS"},
    "TestDemographics": {"DataType", "AcquisitionDevice", "Status", "EditListStatus", "Priority",
                         "AcquisitionTime", "AcquisitionSoftwareVersion", "AnalysisSoftwareVersion",
                         "EditTime", "HISStatus"},
    "Order": {"OrderTime", "OrderPlacementTime", "HISDisposition", "AdmitSource",
              "DischargeDisposition", "AmbulatoryStatus", "AdmissionType"},
}
#: sections of measurements, statements and waveforms, kept as they are
_CLINICAL_SECTIONS = {"MuseInfo", "RestingECGMeasurements", "OriginalRestingECGMeasurements",
                      "MeasurementMatrix", "IntervalMeasurements", "AmplitudeMeasurements",
                      "QRSTimesTypes", "Waveform", "ACITIPIAnalysis"}
_IDS = {"PatientID", "SecondaryID", "RequisitionNumber", "HISAccountNumber", "HISOrderNumber"}
_DATES = {"AcquisitionDate", "EditDate", "OrderPlacementDate", "AdmitDate", "DischargeDate"}


def deidentify(src: Path, dst: Path, options: DeidOptions) -> None:
    """Rewrite a MUSE XML without patient identity; the Base64 waveform text is copied unchanged."""
    _root(src)
    tree = xs.load_for_rewrite(src, allow_doctype=True)
    xs.drop_comments(tree)
    root = tree.getroot()
    _age_from_birth_date(root)
    for section in root:
        sname = xs.local(section.tag)
        if sname in _KEEP:
            for field in list(section):
                fname = xs.local(field.tag)
                if fname == "DateofBirth":
                    section.remove(field)
                elif fname in _IDS:
                    field.text = options.pseudonym((field.text or "").strip()) or None
                elif fname in _DATES:
                    d = _muse_date(field.text)
                    new = xs.shift_date(d, options) if d is not None else None
                    fmt = "%Y-%m-%d" if (field.text or "").strip()[4:5] == "-" else "%m-%d-%Y"
                    field.text = new.strftime(fmt) if new is not None else None
                elif fname == "PatientAge":
                    age = xs.number(field.text)
                    in_years = (xs.text(section, "AgeUnits") or "YEARS").upper() == "YEARS"
                    if age is not None and in_years and age > xs.AGE_CAP_YEARS:
                        field.text = str(xs.AGE_CAP_YEARS)
                elif fname not in _KEEP[sname]:
                    xs.blank(field)
        elif sname in {"Diagnosis", "OriginalDiagnosis"}:
            _scrub_signatures(section)
        elif sname not in _CLINICAL_SECTIONS and isinstance(section.tag, str):
            xs.blank(section)  # vendor or site sections (PharmaData, questionnaires...): emptied
    xs.write(tree, dst)


def _scrub_signatures(diagnosis: etree._Element) -> None:
    """Empty "Confirmed by NAME ..." lines, including pieces continued on following entries."""
    scrubbing = False
    for st in xs.children(diagnosis, "DiagnosisStatement"):
        text_el = xs.child(st, "StmtText")
        if text_el is not None and xs.looks_like_signature(text_el.text):
            scrubbing = True
        if scrubbing and text_el is not None:
            text_el.text = None
        if any((f.text or "").strip() == "ENDSLINE" for f in xs.children(st, "StmtFlag")):
            scrubbing = False


def _age_from_birth_date(root: Any) -> None:
    """Where only a birth date gives the age, write PatientAge in years (the date then goes)."""
    pd = xs.child(root, "PatientDemographics")
    if pd is None or xs.text(pd, "PatientAge") is not None:
        return
    when = _acquisition(root).time
    years = xs.age_at(_muse_date(xs.text(pd, "DateofBirth")), when)
    if years is not None:
        for tag, value in (("PatientAge", str(int(xs.cap_age(years)))), ("AgeUnits", "YEARS")):
            el = xs.child(pd, tag)
            if el is None:
                el = etree.SubElement(pd, tag)
            el.text = value
