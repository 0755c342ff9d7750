"""Multi-lead R-peak detection against MIT-BIH record 100's reference beat annotations."""

from __future__ import annotations

import numpy as np
import wfdb

from ecglens.signal import detect_rpeaks

BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


def _matched(ref: np.ndarray, det: np.ndarray, tol: int) -> int:
    i = np.clip(np.searchsorted(det, ref), 1, len(det) - 1)
    d = np.minimum(np.abs(det[i] - ref), np.abs(det[i - 1] - ref))
    return int((d <= tol).sum())


def test_mitbih_100_sensitivity_and_ppv(formats_dir) -> None:  # type: ignore[no-untyped-def]
    base = str(formats_dir / "mitbih" / "100")
    fs = 360
    n = 10 * 60 * fs  # first 10 minutes keep the test fast; the benchmark runs all 30
    rec = wfdb.rdrecord(base, sampto=n)
    ann = wfdb.rdann(base, "atr", sampto=n)
    ref = np.array([s for s, sym in zip(ann.sample, ann.symbol, strict=True)
                    if sym in BEAT_SYMBOLS])
    # the first and last beat can be cut by the window edge
    det = detect_rpeaks(rec.p_signal, fs)
    tol = int(0.15 * fs)
    se = _matched(ref, det, tol) / len(ref)
    ppv = _matched(det, ref, tol) / len(det)
    assert se >= 0.995, se
    assert ppv >= 0.995, ppv


def test_flat_signal_has_no_beats() -> None:
    assert detect_rpeaks(np.zeros((5000, 12)), 500.0).size == 0


def test_large_ectopic_beats_do_not_hide_the_normal_ones(formats_dir) -> None:  # type: ignore[no-untyped-def]
    """Ningbo JS20001 (sinus tachycardia with PACs): three aberrant beats have 5x the QRS energy
    of the others; every beat of the 10 s strip must still be found."""
    from ecglens.io import read

    ecg = read(formats_dir / "physionet-challenge" / "JS20001.hea")
    r = detect_rpeaks(np.asarray(ecg.signal), ecg.fs)
    rr = np.diff(r) / ecg.fs
    assert 15 <= r.size <= 17
    assert rr.max() < 0.9  # no beat skipped
