"""Properties of the global delineation that the LUDB interval figures depend on."""

from __future__ import annotations

import numpy as np
import pytest

from ecglens.io import read
from ecglens.measure import analyze
from ecglens.measure.delineate import (
    PACE_HALF_S,
    PACED_QRS_DELAY_S,
    _foot,
    _p_lead_onset,
    delineate,
)

FS = 500.0


def _bump(n: int, start: int, width: int) -> np.ndarray:
    """A smooth half-sine wave from start lasting width samples."""
    y = np.zeros(n)
    t = np.arange(width)
    y[start:start + width] = np.sin(np.pi * t / width)
    return y


def test_p_lead_onset_is_second_earliest_lead() -> None:
    # five leads carry the P wave, starting at different times; the others are flat
    n = 200
    starts = [40, 50, 60, 62, 65]
    seg = np.zeros((12, n))
    for k, s in enumerate(starts):
        seg[k] = 0.1 * _bump(n, s, 50)
    mag = np.sqrt((seg * seg).sum(axis=0))
    pk = int(np.argmax(mag))
    on = _p_lead_onset(seg, pk, int(0.05 * FS), int(0.05 * FS), FS)
    assert on is not None
    assert abs(on - starts[1]) <= 4, on  # second-earliest lead, not the earliest outlier


def test_p_lead_onset_needs_three_leads() -> None:
    seg = np.zeros((12, 200))
    seg[0] = 0.1 * _bump(200, 60, 50)
    seg[1] = 0.1 * _bump(200, 62, 50)
    assert _p_lead_onset(seg, 85, 25, 25, FS) is None


@pytest.mark.parametrize("rec", [8, 34, 74, 104])
def test_paced_qrs_starts_after_the_spike(ludb_dir, rec: int) -> None:  # type: ignore[no-untyped-def]
    a = analyze(read(ludb_dir / "data" / f"{rec}.hea"))
    assert a.fs == FS
    rr = float(np.median(np.diff(a.rpeaks))) / FS
    fid = delineate(a.median_beats, a.median_r_index, FS, rr)
    assert fid.pacing_spikes, "LUDB marks this record as paced"
    spike = max(s for s in fid.pacing_spikes if s < a.median_r_index)
    assert fid.qrs_on is not None
    assert fid.qrs_on >= spike + int(PACE_HALF_S * FS) + round(PACED_QRS_DELAY_S * FS)
    # and the paced complex is measured whole: wide, as pacing makes it
    assert a.measurements.qrs_ms is not None and a.measurements.qrs_ms >= 120


def test_dominant_beat_is_the_most_common_morphology(ludb_dir) -> None:  # type: ignore[no-untyped-def]
    # LUDB 95: atrial fibrillation with 5 ventricular-paced beats then 6 conducted ones (the last
    # cut by the end of the record); the median beat must be built from the conducted majority
    a = analyze(read(ludb_dir / "data" / "95.hea"))
    assert a.beat_types[:5] == ["V"] * 5
    assert sum(t != "V" for t in a.beat_types) >= 5
    assert a.measurements.qrs_ms is not None and a.measurements.qrs_ms < 120


def test_atrial_pacing_spike_is_not_a_p_wave(ludb_dir) -> None:  # type: ignore[no-untyped-def]
    # LUDB 45: atrial and ventricular pacing; the atrial spike was once measured as the P wave
    a = analyze(read(ludb_dir / "data" / "45.hea"))
    assert a.paced and len(a.pacing_spikes) == 2
    assert a.pacing_spikes[0] < a.median_r_index - 0.08 * a.fs
    assert a.measurements.p_duration_ms is None and a.measurements.pr_ms is None
    assert "atrial pacing" in a.measurements.not_measured["pr_ms"]
    assert a.measurements.qrs_ms is not None and a.measurements.qrs_ms >= 120


@pytest.mark.parametrize("rec", [1, 2, 3, 52, 101, 130])
def test_unpaced_records_have_no_spikes(ludb_dir, rec: int) -> None:  # type: ignore[no-untyped-def]
    assert not analyze(read(ludb_dir / "data" / f"{rec}.hea")).paced


def test_terminal_hump_is_part_of_the_qrs() -> None:
    # spatial velocity: the core ends at 40, a dip, then a second hump; the walk's edge (20
    # samples) ends inside the hump
    sv = np.full(200, 0.5)
    sv[:40] = 100.0
    sv[40:50] = [8, 6, 4, 3, 2, 2, 3, 4, 6, 8]  # dip above the threshold (1.0)
    sv[50:64] = 20.0  # terminal R' / S: 20 % of the peak
    assert _foot(sv, 1.0, 39, 1, +1, 20, 199, 10.0) == 63  # the hump's own foot
    sv[50:64] = 5.0  # a low deflection (5 %): not ventricular, the walk stops at its edge
    assert _foot(sv, 1.0, 39, 1, +1, 20, 199, 10.0) == 59
