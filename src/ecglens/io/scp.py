"""SCP-ECG (EN 1064 / ISO 11073-91064) files: read and de-identify.

Waveform decoding (Huffman tables of Section 2, difference encoding, reference-beat
subtraction from Sections 4/5, statements of Sections 8/11) is ecgdatakit's: a maintained
decoder that implements the general case, checked against an independent decode in the tests.
In front of it, :mod:`ecglens.io.scp_structure` checks every CRC, length and pointer and bounds
the declared sample counts by the stored bytes, so a damaged or hostile file is refused with a
clear :class:`ECGFormatError` before anything is decoded.

Leads are kept as stored (the real Welch Allyn files hold I, II and six chest leads, one of
them a paediatric set with V3R and V7); III, aVR, aVL and aVF are derived from I and II.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ecglens.exceptions import ECGFormatError
from ecglens.io.limits import check_sampling_rate, check_step
from ecglens.io.registry import check_file
from ecglens.io.scp_deid import deidentify
from ecglens.io.scp_structure import (
    Section,
    check_sample_bounds,
    decode_date,
    decode_time,
    parse_layout,
    split_tags,
)
from ecglens.record import (
    ECG,
    Acquisition,
    DeviceInterpretation,
    Patient,
    derive_limb_leads,
    make_ecg,
    normalize_lead_name,
)

__all__ = ["deidentify", "read"]

#: Section 7 marks a value it does not hold with 29999 (and some writers with 0xFFFF).
_UNDEFINED = {29999, 0xFFFF}


def read(path: Path) -> ECG:
    """Read an SCP-ECG file into an ECG in millivolts. Raises ECGFormatError."""
    data = check_file(path).read_bytes()
    sections = parse_layout(data, path)
    ranges = check_sample_bounds(data, sections, path)
    record = _decode(path)
    leads = record.leads
    if not leads or len(leads) != len(ranges):
        raise ECGFormatError(path, "SCP-ECG rhythm data do not match the lead definition")
    fs = _sampling_rate(int(record.raw_metadata.get("rhythm_sample_interval_us", 0)), path)
    # Leads recorded one group after another (3-channel carts) start at different sample
    # numbers; each is placed at its own time and the samples it lacks are NaN, not zero.
    signal = np.full((max(end for _, end in ranges), len(leads)), np.nan)
    resolution: list[float] = []
    for i, (lead, (start, _)) in enumerate(zip(leads, ranges, strict=False)):
        if lead.resolution_unit != "uV" or lead.resolution <= 0:
            raise ECGFormatError(path, "SCP-ECG Section 6 has no amplitude multiplier (AVM is 0)")
        # Samples are stored integers; one multiplication keeps them exactly reproducible.
        step_mv = check_step(path, lead.resolution / 1000.0,
                             "SCP-ECG Section 6 amplitude multiplier (AVM)")
        signal[start - 1: start - 1 + len(lead.samples), i] = lead.samples * step_mv
        resolution.append(step_mv)
    names = [normalize_lead_name(lead.label) for lead in leads]
    signal, names, resolution = _with_limb_leads(signal, names, resolution)
    return make_ecg(
        signal, fs, names,
        patient=_patient(record, data, sections, path),
        acquisition=_acquisition(record, data, sections, path),
        device=DeviceInterpretation(
            statements=[text for text, _ in record.interpretation.statements],
            measurements=_measurements(record),
        ),
        source_format="scp-ecg",
        resolution_mv=tuple(resolution),
    )


def _decode(path: Path) -> Any:
    from ecgdatakit import ECGDataKitError
    from ecgdatakit.parsing.parsers.scp_ecg import SCPECGParser

    try:
        with warnings.catch_warnings():
            # CRCs and lengths were checked strictly above; its remaining notes are about
            # optional parts it skipped, which do not concern the rhythm data we return.
            warnings.simplefilter("ignore")
            return SCPECGParser().parse(path)
    except ECGDataKitError as exc:
        raise ECGFormatError(path, f"SCP-ECG data could not be decoded: {exc}") from None
    except Exception as exc:  # a third-party decoder on data we could not fully vet
        raise ECGFormatError(
            path, f"SCP-ECG data could not be decoded ({type(exc).__name__}: {exc})"
        ) from exc


def _sampling_rate(interval_us: int, path: Path) -> float:
    """Rate from the stored whole-microsecond interval: 1667 µs is 600 Hz, not 599.88 Hz.

    The interval is the nominal rate's period rounded to an integer, so the nominal rate is the
    whole number of Hz whose period rounds back to the stored value, when there is one.
    """
    if interval_us <= 0:
        raise ECGFormatError(path, "SCP-ECG sample interval is 0")
    hz = round(1e6 / interval_us)
    fs = float(hz) if hz > 0 and round(1e6 / hz) == interval_us else 1e6 / interval_us
    return check_sampling_rate(path, fs, f"SCP-ECG sample interval ({interval_us} µs)")


def _with_limb_leads(
    signal: np.ndarray, names: list[str], resolution: list[float]
) -> tuple[np.ndarray, list[str], list[float]]:
    """Add III/aVR/aVL/aVF after I and II, whatever chest leads the file has."""
    if "I" not in names or "II" not in names:
        return signal, names, resolution
    i, ii = names.index("I"), names.index("II")
    derived = {k: v for k, v in derive_limb_leads(signal[:, i], signal[:, ii]).items()
               if k not in names}
    if not derived:
        return signal, names, resolution
    step = max(resolution[i], resolution[ii])
    rest = [k for k in range(len(names)) if k not in (i, ii)]
    cols = [signal[:, i], signal[:, ii], *derived.values(), *(signal[:, k] for k in rest)]
    new_names = ["I", "II", *derived, *(names[k] for k in rest)]
    new_res = [resolution[i], resolution[ii], *([step] * len(derived)),
               *(resolution[k] for k in rest)]
    return np.column_stack(cols), new_names, new_res


def _section1(data: bytes, sections: dict[int, Section], path: Path) -> dict[int, bytes]:
    if 1 not in sections:
        return {}
    return dict(split_tags(sections[1].body(data), path))


def _patient(record: Any, data: bytes, sections: dict[int, Section], path: Path) -> Patient:
    p = record.patient
    tags = _section1(data, sections, path)
    name = " ".join(part for part in (p.first_name, p.last_name) if part) or None
    birth, _ = decode_date(tags.get(5, b""))
    return Patient(
        name=name,
        patient_id=p.patient_id or None,
        birth_date=birth,
        age_years=float(p.age) if p.age else None,
        sex=p.sex if p.sex in ("M", "F") else None,
        height_cm=p.height,
        weight_kg=p.weight,
    )


def _acquisition(record: Any, data: bytes, sections: dict[int, Section], path: Path) -> Acquisition:
    rec = record.recording
    tags = _section1(data, sections, path)
    day, _ = decode_date(tags.get(25, b""))
    clock = decode_time(tags.get(26, b""))
    when = datetime.combine(day, clock) if day is not None and clock is not None else None
    device = " ".join(part for part in (rec.device.manufacturer, rec.device.model) if part)
    filters = rec.acquisition.filters
    return Acquisition(
        time=when,
        device=device or None,
        site=rec.device.institution or None,
        filter_low_hz=filters.highpass,
        filter_high_hz=filters.lowpass,
        notch_hz=filters.notch if filters.notch_active else None,
    )


def _measurements(record: Any) -> dict[str, float]:
    """Section 7 global measurements, under ecglens.measure's names.

    Section 7 stores wave boundaries of the reference beat (ms); PR, QRS and QT are the
    differences between them, as every SCP-ECG viewer prints them.
    """
    gm = record.measurements
    out: dict[str, float] = {}
    for key, value in (
        ("heart_rate_bpm", gm.heart_rate), ("rr_ms", gm.rr_interval),
        ("qtc_bazett_ms", gm.qtc_bazett), ("p_axis_deg", gm.p_axis),
        ("qrs_axis_deg", gm.qrs_axis), ("t_axis_deg", gm.t_axis),
    ):
        if value is not None:
            out[key] = float(value)
    blocks = record.raw_metadata.get("measurement_blocks") or []
    if blocks:
        b = blocks[0]

        def span(start: str, end: str) -> float | None:
            a, z = b[start], b[end]
            if a in _UNDEFINED or z in _UNDEFINED or z <= a:
                return None
            return float(z - a)

        for key, value in (
            ("p_duration_ms", span("p_onset", "p_offset")),
            ("pr_ms", span("p_onset", "qrs_onset")),
            ("qrs_ms", span("qrs_onset", "qrs_offset")),
            ("qt_ms", span("qrs_onset", "t_offset")),
        ):
            if value is not None:
                out[key] = value
    return out
