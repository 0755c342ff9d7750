"""Global intervals on LUDB records against the cardiologists' annotations, and the AF rule.

The records here are a handful of sinus-rhythm records; bench_measure.py reports all 140.
Tolerances are per record (a single record is noisier than the IEC mean/SD over a database).
"""

from __future__ import annotations

import numpy as np
import pytest

from ecglens.io import read
from ecglens.measure import analyze, measure
from ecglens.measure.reference import reference_intervals

TOL_MS = {"p_duration_ms": 25, "pr_ms": 20, "qrs_ms": 15, "qt_ms": 30}


@pytest.mark.parametrize("rec", [1, 4, 20, 50, 100])
def test_intervals_close_to_reference(ludb_dir, rec: int) -> None:  # type: ignore[no-untyped-def]
    m = measure(read(ludb_dir / "data" / f"{rec}.hea"))
    ref = reference_intervals(ludb_dir / "data" / str(rec))
    for key, tol in TOL_MS.items():
        assert ref[key] is not None
        value = getattr(m, key)
        assert value is not None, m.not_measured.get(key)
        assert abs(value - ref[key]) <= tol, (key, value, ref[key])
    assert m.heart_rate_bpm is not None and 30 < m.heart_rate_bpm < 200
    assert m.qtc_bazett_ms is not None and m.qt_ms is not None
    rr = m.rr_ms / 1000.0  # type: ignore[operator]
    assert m.qtc_bazett_ms == pytest.approx(m.qt_ms / np.sqrt(rr), abs=0.2)


@pytest.mark.parametrize("rec", [38, 51, 112])
def test_atrial_fibrillation_has_no_p_wave(ludb_dir, rec: int) -> None:  # type: ignore[no-untyped-def]
    a = analyze(read(ludb_dir / "data" / f"{rec}.hea"))
    assert a.rr_irregular
    assert not a.p_waves_present
    assert a.measurements.pr_ms is None and a.measurements.p_duration_ms is None
    assert a.measurements.p_axis_deg is None
    assert "P wave" in a.measurements.not_measured["pr_ms"]
    assert a.measurements.qrs_ms is not None


def test_analysis_interface(ludb_dir) -> None:  # type: ignore[no-untyped-def]
    ecg = read(ludb_dir / "data" / "7.hea")
    a = analyze(ecg)
    assert a.median_beats.shape[0] == 12
    f = a.fiducials
    assert set(f) == {"p_on", "p_off", "qrs_on", "qrs_off", "t_off"}
    assert f["p_on"] < f["p_off"] <= f["qrs_on"] < a.median_r_index < f["qrs_off"] < f["t_off"]
    assert len(a.beat_types) == a.rpeaks.size
    assert set(a.beat_types) <= {"N", "S", "V", "Q"}
    assert (np.diff(a.rpeaks) > 0).all()
    # LUDB 7 has one premature atrial beat (see ludb.csv): it is typed S and not used in the median
    assert "S" in a.beat_types


def test_axes_follow_the_limb_leads(ludb_dir) -> None:  # type: ignore[no-untyped-def]
    ecg = read(ludb_dir / "data" / "1.hea")
    ax = measure(ecg).qrs_axis_deg
    assert ax is not None and -30 <= ax <= 90  # LUDB 1: normal axis in ludb.csv
    # inverting the heart vector in the frontal plane turns the axis by 180°
    x = np.array(ecg.signal)
    x[:, :6] *= -1
    ax2 = measure(ecg.replace(signal=x)).qrs_axis_deg
    assert ax2 is not None
    assert abs(((ax2 - ax) % 360) - 180) < 2
