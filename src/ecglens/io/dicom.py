"""DICOM 12-lead ECG and General ECG waveform objects (PS3.3 A.34), read and de-identified with
pydicom.

The samples of one multiplex group are interleaved integers; each channel's physical value is
``raw × ChannelSensitivity × ChannelSensitivityCorrectionFactor + ChannelBaseline`` in the unit
of *Channel Sensitivity Units* (UCUM: uV, mV, V). We take the original rhythm group (a file
may also hold derived median beats) and name leads from the channel source code, which is an
SCP-ECG (``5.6.3-9-N``) or MDC (``2:N``) code; the code meaning is the fallback.
"""

from __future__ import annotations

import contextlib
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import generate_uid

from ecglens.exceptions import ECGFormatError
from ecglens.io.deidentify import DeidOptions
from ecglens.io.limits import MAX_CHANNELS, check_offset, check_sampling_rate, check_step
from ecglens.record import (
    ECG,
    Acquisition,
    DeviceInterpretation,
    Patient,
    make_ecg,
    normalize_lead_name,
)

# Lead numbers shared by SCP-ECG (5.6.3-9-N) and the MDC ECG lead codes (2:N), ISO/IEEE 11073-10102.
_LEAD_NUMBERS = {
    1: "I", 2: "II", 61: "III", 62: "aVR", 63: "aVL", 64: "aVF",
    3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6",
}
_UNIT_TO_MV = {"uv": 1e-3, "µv": 1e-3, "mv": 1.0, "v": 1e3}
_MEASUREMENTS = {
    "rr interval": "rr_ms", "pr interval": "pr_ms", "qrs duration": "qrs_ms",
    "qt interval": "qt_ms", "p axis": "p_axis_deg",
    # the code does not say which correction formula the cart used, so no qtc_<formula>_ms key
    "qtc interval": "qtc_ms",
    "qrs axis": "qrs_axis_deg", "t axis": "t_axis_deg", "p duration": "p_duration_ms",
    "heart rate": "heart_rate_bpm", "ventricular heart rate": "heart_rate_bpm",
}


def _lead_name(channel: Dataset, index: int) -> str:
    seq = channel.get("ChannelSourceSequence")
    if not seq:
        return f"ch{index + 1}"
    code = seq[0]
    value = str(code.get("CodeValue", ""))
    m = re.fullmatch(r"(?:5\.6\.3-9-|2:)(\d+)", value)
    if m and int(m.group(1)) in _LEAD_NUMBERS:
        return _LEAD_NUMBERS[int(m.group(1))]
    meaning = re.sub(r"\s*\(.*\)\s*$", "", str(code.get("CodeMeaning", "")))
    return normalize_lead_name(meaning) if meaning else f"ch{index + 1}"


def _pick_group(path: Path, ds: Dataset) -> int:
    groups = ds.get("WaveformSequence")
    if not groups:
        raise ECGFormatError(path, "DICOM file holds no waveform (no Waveform Sequence)")

    def rank(i: int) -> tuple[int, int]:
        g = groups[i]
        original = str(g.get("WaveformOriginality", "")).upper() == "ORIGINAL"
        median = "MEDIAN" in str(g.get("MultiplexGroupLabel", "")).upper()
        return (int(original and not median), int(g.get("NumberOfWaveformSamples", 0) or 0))

    return max(range(len(groups)), key=rank)


def _raw_samples(path: Path, group: Dataset) -> np.ndarray:
    n_ch = int(group.NumberOfWaveformChannels)
    n_s = int(group.NumberOfWaveformSamples)
    if n_ch > MAX_CHANNELS:
        raise ECGFormatError(path, f"DICOM NumberOfWaveformChannels is {n_ch}; an ECG has at most "
                                   f"{MAX_CHANNELS}")
    bits = int(group.WaveformBitsAllocated)
    interp = str(group.WaveformSampleInterpretation)
    dtypes = {(16, "SS"): "<i2", (16, "US"): "<u2", (8, "SB"): "i1", (8, "UB"): "u1",
              (32, "SL"): "<i4", (32, "UL"): "<u4"}
    if (bits, interp) not in dtypes:
        raise ECGFormatError(path, f"unsupported waveform sample encoding {bits} bits {interp}")
    data = bytes(group.WaveformData)
    need = n_ch * n_s * bits // 8
    if len(data) < need:
        raise ECGFormatError(path, f"waveform data truncated: {len(data)} of {need} bytes")
    return np.frombuffer(data[:need], dtype=dtypes[(bits, interp)]).reshape(n_s, n_ch)


def _number(ds: Dataset, keyword: str, default: float) -> float:
    """A numeric attribute; ``default`` only where it is absent or empty, never for 0 or junk."""
    value = ds.get(keyword)
    if value is None or value == "":
        return default
    return float(value)


def _scaling(path: Path, group: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (mV per raw unit, baseline in mV)."""
    gains, baselines = [], []
    for i, ch in enumerate(group.ChannelDefinitionSequence):
        units = ch.get("ChannelSensitivityUnitsSequence")
        unit = str(units[0].get("CodeValue", "")).strip().lower() if units else ""
        if unit not in _UNIT_TO_MV:
            raise ECGFormatError(path, f"channel {i + 1} has sensitivity unit {unit!r}, not a "
                                       "voltage")
        to_mv = _UNIT_TO_MV[unit]
        sens = _number(ch, "ChannelSensitivity", 1.0)  # absent: uncalibrated, 1 unit a count
        corr = _number(ch, "ChannelSensitivityCorrectionFactor", 1.0)
        gains.append(check_step(path, sens * corr * to_mv,
                                f"DICOM channel {i + 1} ChannelSensitivity × CorrectionFactor"))
        baselines.append(check_offset(path, _number(ch, "ChannelBaseline", 0.0) * to_mv,
                                      f"DICOM channel {i + 1} ChannelBaseline"))
    return np.asarray(gains), np.asarray(baselines)


def _patient(ds: Dataset) -> Patient:
    birth: date | None = None
    with contextlib.suppress(ValueError):
        birth = datetime.strptime(str(ds.get("PatientBirthDate", "")), "%Y%m%d").date()
    age: float | None = None
    m = re.fullmatch(r"(\d{3})([DWMY])", str(ds.get("PatientAge", "")))
    if m:
        age = int(m.group(1)) / {"D": 365.25, "W": 52.18, "M": 12.0, "Y": 1.0}[m.group(2)]
    sex = str(ds.get("PatientSex", "")).upper()
    size = ds.get("PatientSize")
    weight = ds.get("PatientWeight")
    return Patient(
        name=str(ds.get("PatientName", "")) or None,
        patient_id=str(ds.get("PatientID", "")) or None,
        birth_date=birth,
        age_years=age,
        sex=sex if sex in {"M", "F"} else None,
        height_cm=float(size) * 100 if size not in (None, "") else None,
        weight_kg=float(weight) if weight not in (None, "") else None,
    )


def _acquisition(ds: Dataset, group: Dataset) -> Acquisition:
    when: datetime | None = None
    stamp = str(ds.get("AcquisitionDateTime", "")) or (
        str(ds.get("ContentDate", "")) + str(ds.get("ContentTime", ""))
    )
    for fmt in ("%Y%m%d%H%M%S", "%Y%m%d%H%M", "%Y%m%d"):
        try:
            width = len(datetime(2000, 1, 1).strftime(fmt))
            when = datetime.strptime(stamp.split(".")[0][:width], fmt)
            break
        except ValueError:
            continue
    ch0 = (group.ChannelDefinitionSequence[0] if group.get("ChannelDefinitionSequence")
           else Dataset())

    def num(name: str) -> float | None:
        v = ch0.get(name)
        return float(v) if v not in (None, "") and float(v) > 0 else None

    device = " ".join(str(ds.get(k, "")) for k in ("Manufacturer", "ManufacturerModelName")).strip()
    return Acquisition(
        time=when, device=device or None, site=str(ds.get("InstitutionName", "")) or None,
        filter_low_hz=num("FilterLowFrequency"), filter_high_hz=num("FilterHighFrequency"),
        notch_hz=num("NotchFilterFrequency"),
    )


def _interpretation(ds: Dataset) -> DeviceInterpretation:
    statements: list[str] = []
    measurements: dict[str, float] = {}
    for ann in ds.get("WaveformAnnotationSequence", []):
        text = ann.get("UnformattedTextValue")
        if text:
            statements.append(str(text).strip())
            continue
        concept = ann.get("ConceptNameCodeSequence")
        value = ann.get("NumericValue")
        if concept and value not in (None, ""):
            key = _MEASUREMENTS.get(str(concept[0].get("CodeMeaning", "")).strip().lower())
            if key and key not in measurements:
                measurements[key] = float(value)
    if ("rr_ms" in measurements and measurements["rr_ms"] > 0
            and "heart_rate_bpm" not in measurements):
        measurements["heart_rate_bpm"] = round(60000.0 / measurements["rr_ms"], 1)
    return DeviceInterpretation(statements=statements, measurements=measurements)


def _load(path: Path) -> Dataset:
    # From memory, not the file: pydicom reads each element with fp.read(declared length), and a
    # regular file object allocates that length up front, so one corrupt length field would ask
    # for gigabytes. A BytesIO returns only what is there. (check_file bounds the file size.)
    try:
        return pydicom.dcmread(io.BytesIO(path.read_bytes()))
    except InvalidDicomError as exc:
        raise ECGFormatError(path, f"not a valid DICOM file ({exc})") from None
    except (EOFError, OSError, ValueError, KeyError) as exc:
        raise ECGFormatError(path, "corrupt or truncated DICOM file "
                                   f"({type(exc).__name__})") from None


def read(path: Path) -> ECG:
    """Read the rhythm waveform of a DICOM ECG into millivolts."""
    ds = _load(path)
    idx = _pick_group(path, ds)
    group = ds.WaveformSequence[idx]
    if "WaveformData" not in group or "ChannelDefinitionSequence" not in group:
        raise ECGFormatError(path, "waveform group lacks its data or channel definitions")
    raw = _raw_samples(path, group)
    gains, baselines = _scaling(path, group)
    if len(gains) != raw.shape[1]:
        raise ECGFormatError(path, f"{raw.shape[1]} channels but {len(gains)} channel definitions")
    leads = [_lead_name(ch, i) for i, ch in enumerate(group.ChannelDefinitionSequence)]
    signal = raw * gains + baselines
    padding = group.get("WaveformPaddingValue")
    if padding is not None:  # samples holding the padding value are not data
        pad = (np.frombuffer(bytes(padding), dtype=raw.dtype)[:1] if isinstance(padding, bytes)
               else None)
        if pad is not None and len(pad):
            signal[raw == pad[0]] = np.nan
    fs = check_sampling_rate(path, group.get("SamplingFrequency"), "DICOM SamplingFrequency")
    return make_ecg(
        signal,
        fs,
        leads,
        patient=_patient(ds),
        acquisition=_acquisition(ds, group),
        device=_interpretation(ds),
        source_format="dicom",
        resolution_mv=tuple(float(g) for g in gains),
    )


# --- de-identification -------------------------------------------------------------------------

#: Identifying attributes removed outright (PS3.15 Basic Profile "X"/"Z" actions, the ones ECG
#: carts fill in). Names are replaced by a pseudonym when a key is given, else emptied.
_BLANK = (
    "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientAddress",
    "PatientTelephoneNumbers", "PatientMotherBirthName", "MilitaryRank", "EthnicGroup",
    "PatientComments", "AdditionalPatientHistory", "PatientBirthName", "PatientBirthTime",
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "ReferringPhysicianName", "ReferringPhysicianAddress", "NameOfPhysiciansReadingStudy",
    "PerformingPhysicianName", "OperatorsName", "RequestingPhysician", "PhysiciansOfRecord",
    "StationName", "AccessionNumber", "AdmissionID", "CurrentPatientLocation",
    "PatientInstitutionResidence", "VisitComments", "ReasonForStudy",
    "RequestedProcedureDescription",
    "ReasonForTheRequestedProcedure", "StudyID", "DeviceSerialNumber", "ImageComments",
    "StudyComments", "RequestAttributesSequence", "ReferencedPatientSequence", "IssuerOfPatientID",
    "PatientBirthDate",
)


def _shift_value(vr: str, value: str, days: int) -> str:
    if not value:
        return value
    if vr == "DA":
        return (datetime.strptime(value[:8], "%Y%m%d") + timedelta(days=days)).strftime("%Y%m%d")
    head, rest = value[:8], value[8:]  # DT: YYYYMMDD then time; the time of day is unchanged
    return (datetime.strptime(head, "%Y%m%d") + timedelta(days=days)).strftime("%Y%m%d") + rest


def _new_uid(value: str, options: DeidOptions) -> str:
    # keyed: the same original UID always maps to the same new one, so series stay linked
    if options.pseudonym_key:
        return str(generate_uid(entropy_srcs=[options.pseudonym_key.hex(), value]))
    return str(generate_uid())


def deidentify(src: Path, dst: Path, options: DeidOptions) -> None:
    """Write a de-identified copy of a DICOM ECG; Waveform Data bytes are copied unchanged."""
    ds = _load(src)
    ds.remove_private_tags()  # vendors' private elements are undocumented and may hold anything
    for keyword in _BLANK:
        if keyword in ds:
            del ds[keyword]
    ds.PatientName = options.pseudonym(str(ds.get("PatientName", "")))
    ds.PatientID = options.pseudonym(str(ds.get("PatientID", "")))
    age = re.fullmatch(r"(\d{3})Y", str(ds.get("PatientAge", "")))
    if age and int(age.group(1)) > 90:
        ds.PatientAge = "090Y"
    uid_map: dict[str, str] = {}

    def visit(dataset: Dataset, elem: DataElement) -> None:
        if elem.VR == "PN" and elem.keyword != "PatientName":  # any person, in any sequence
            elem.value = ""
            return
        if elem.tag == 0x00080016 or elem.VR != "UI" and elem.VR not in {"DA", "DT", "TM"}:
            return
        if elem.VR == "UI":  # instance/study/series UIDs embed dates and device serials
            if elem.value and str(elem.value) not in uid_map:
                uid_map[str(elem.value)] = _new_uid(str(elem.value), options)
            if elem.value and elem.keyword not in {"SOPClassUID", "ReferencedSOPClassUID",
                                                   "TransferSyntaxUID", "CodingSchemeUID"}:
                elem.value = uid_map[str(elem.value)]
            return
        if options.drop_dates:
            elem.value = ""
        elif options.date_shift_days and elem.VR in {"DA", "DT"}:
            elem.value = _shift_value(elem.VR, str(elem.value or ""), options.date_shift_days)

    ds.walk(visit)
    meta = ds.file_meta
    if "MediaStorageSOPInstanceUID" in meta and "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "ecglens: PS3.15 basic profile subset" + (
        "; dates removed" if options.drop_dates else
        "; dates shifted" if options.date_shift_days else "")
    dst.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(str(dst), enforce_file_format=True)
