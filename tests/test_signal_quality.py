"""Signal quality on real LUDB records with controlled defects added."""

from __future__ import annotations

import numpy as np
import pytest

from ecglens.io import read
from ecglens.measure import analyze


@pytest.fixture(scope="module")
def ecg(ludb_dir):  # type: ignore[no-untyped-def]
    return read(ludb_dir / "data" / "2.hea")


def _with(ecg, lead: str, values: np.ndarray):  # type: ignore[no-untyped-def]
    x = np.array(ecg.signal)
    x[:, ecg.leads.index(lead)] = values
    return ecg.replace(signal=x)


def _lead(q, name: str):  # type: ignore[no-untyped-def]
    return next(lq for lq in q.leads if lq.lead == name)


def test_clean_record_is_acceptable(ecg) -> None:  # type: ignore[no-untyped-def]
    q = analyze(ecg).quality
    assert q.verdict == "acceptable", q.reasons


def test_lead_off_is_found(ecg) -> None:  # type: ignore[no-untyped-def]
    q = analyze(_with(ecg, "V3", np.zeros(ecg.n_samples))).quality
    assert _lead(q, "V3").verdict == "unacceptable"
    assert "flat line / lead off" in _lead(q, "V3").problems
    assert q.verdict == "limited"


def test_clipping_noise_and_wander_are_found(ecg) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    v2 = ecg.lead("V2")
    lim = np.percentile(v2, [10, 90])
    t = np.arange(ecg.n_samples) / ecg.fs
    x = _with(ecg, "V2", np.clip(v2, lim[0], lim[1]))
    x = _with(x, "V5", ecg.lead("V5") + rng.normal(0, 0.2, ecg.n_samples))
    x = _with(x, "I", ecg.lead("I") + 2.0 * np.sin(2 * np.pi * 0.15 * t))
    q = analyze(x).quality
    assert "clipping / saturation" in _lead(q, "V2").problems
    assert "high-frequency noise" in _lead(q, "V5").problems
    assert "baseline wander" in _lead(q, "I").problems
    assert q.verdict != "acceptable"
