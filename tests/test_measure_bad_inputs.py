"""Bad inputs give a clear result (None + reason, unacceptable quality) or a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecglens.exceptions import ECGSignalError
from ecglens.io import read
from ecglens.measure import analyze
from ecglens.record import ECG, make_ecg

FIELDS = ["heart_rate_bpm", "rr_ms", "p_duration_ms", "pr_ms", "qrs_ms", "qt_ms",
          "qtc_bazett_ms", "qtc_fridericia_ms", "qtc_framingham_ms", "qtc_hodges_ms",
          "p_axis_deg", "qrs_axis_deg", "t_axis_deg"]


@pytest.fixture(scope="module")
def ecg(ludb_dir) -> ECG:  # type: ignore[no-untyped-def]
    return read(ludb_dir / "data" / "3.hea")


def _all_none_with_reason(a) -> None:  # type: ignore[no-untyped-def]
    m = a.measurements
    for f in FIELDS:
        assert getattr(m, f) is None
        assert m.not_measured[f]


def test_all_zeros(ecg: ECG) -> None:
    a = analyze(ecg.replace(signal=np.zeros_like(ecg.signal)))
    assert a.quality.verdict == "unacceptable"
    _all_none_with_reason(a)


def test_two_seconds(ecg: ECG) -> None:
    a = analyze(ecg.replace(signal=ecg.signal[: int(2 * ecg.fs)]))
    assert a.quality.verdict == "unacceptable"
    assert any("too short" in r for r in a.quality.reasons)
    _all_none_with_reason(a)


def test_one_lead_missing(ecg: ECG) -> None:
    keep = [i for i, n in enumerate(ecg.leads) if n != "V4"]
    e = make_ecg(ecg.signal[:, keep], ecg.fs, [ecg.leads[i] for i in keep])
    a = analyze(e)
    assert a.measurements.qrs_ms is not None
    assert a.lead_reversal.suspected is None  # not testable without all 12 leads
    assert a.median_beats.shape[0] == 11


def test_limb_leads_missing_gives_no_axis(ecg: ECG) -> None:
    keep = [i for i, n in enumerate(ecg.leads) if n.startswith("V")]
    a = analyze(make_ecg(ecg.signal[:, keep], ecg.fs, [ecg.leads[i] for i in keep]))
    assert a.measurements.qrs_axis_deg is None
    assert "aVF" in a.measurements.not_measured["qrs_axis_deg"]


def test_nans(ecg: ECG) -> None:
    x = np.array(ecg.signal)
    x[1000:1100, :] = np.nan  # a short gap in every lead: interpolated, quality limited
    x[:, 7] = np.nan  # one lead entirely missing
    a = analyze(ecg.replace(signal=x))
    assert a.quality.verdict in {"limited", "unacceptable"}
    v2 = next(lq for lq in a.quality.leads if lq.lead == "V2")
    assert v2.verdict == "unacceptable"
    assert a.measurements.qrs_ms is None or np.isfinite(a.measurements.qrs_ms)


def test_50_khz(ecg: ECG) -> None:
    x = np.repeat(np.asarray(ecg.signal)[:1000], 100, axis=0)  # 2 s held at 50 kHz
    a = analyze(ecg.replace(signal=x, fs=50_000.0))
    assert a.quality.verdict == "unacceptable"
    _all_none_with_reason(a)


def test_high_rate_record_measures_like_original(ecg: ECG) -> None:
    from scipy.signal import resample_poly

    x = resample_poly(np.asarray(ecg.signal), 4, 1, axis=0)  # 2 kHz
    a0, a1 = analyze(ecg), analyze(ecg.replace(signal=x, fs=2000.0))
    assert a1.measurements.qrs_ms == pytest.approx(a0.measurements.qrs_ms, abs=4)
    assert a1.measurements.heart_rate_bpm == pytest.approx(a0.measurements.heart_rate_bpm, abs=1)
    assert a1.rpeaks == pytest.approx(a0.rpeaks * 4, abs=8)
    assert a1.median_beats.shape[1] == pytest.approx(a0.median_beats.shape[1] * 4, abs=4)


def test_too_low_rate_and_empty(ecg: ECG) -> None:
    a = analyze(ecg.replace(signal=ecg.signal[::10], fs=50.0))
    assert a.quality.verdict == "unacceptable"
    with pytest.raises(ECGSignalError):
        analyze(ecg.replace(signal=np.zeros((0, 12))))
    with pytest.raises(ECGSignalError):
        analyze("not an ecg")  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=1, max_value=3000),
    fs=st.sampled_from([100.0, 250.0, 360.0, 500.0, 1000.0]),
    kind=st.sampled_from(["noise", "spikes", "const", "inf"]),
)
def test_never_crashes(n: int, fs: float, kind: str) -> None:
    rng = np.random.default_rng(n)
    x = {"noise": rng.normal(0, 1, (n, 12)),
         "spikes": (rng.random((n, 12)) > 0.99) * 5.0,
         "const": np.full((n, 12), 3.0),
         "inf": np.where(rng.random((n, 12)) > 0.9, np.inf, rng.normal(0, 1, (n, 12)))}[kind]
    e = make_ecg(x, fs, ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"])
    a = analyze(e)
    for f in FIELDS:
        v = getattr(a.measurements, f)
        assert v is None or np.isfinite(v)
