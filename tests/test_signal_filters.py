"""Filters: zero phase (timing preserved), powerline detection, resampling."""

from __future__ import annotations

import numpy as np
import pytest

from ecglens.exceptions import ECGSignalError
from ecglens.signal import bandpass, clean, highpass, lowpass, notch, powerline_frequency, resample

FS = 500.0


def _pulse(n: int = 5000, at: int = 2500, width_s: float = 0.02) -> np.ndarray:
    t = (np.arange(n) - at) / FS
    return np.exp(-0.5 * (t / width_s) ** 2)


@pytest.mark.parametrize("f", [
    lambda x: highpass(x, FS, 0.5),
    lambda x: lowpass(x, FS, 40.0),
    lambda x: bandpass(x, FS, 5.0, 25.0),
    lambda x: notch(x, FS, 50.0),
    lambda x: clean(x, FS, high_hz=100.0, powerline_hz=60.0),
])
def test_filters_are_zero_phase(f) -> None:  # type: ignore[no-untyped-def]
    # a symmetric pulse stays centred: a causal filter would delay its peak by milliseconds
    y = f(_pulse())
    assert int(np.argmax(y)) == 2500


def test_highpass_removes_wander_and_keeps_qrs_amplitude() -> None:
    t = np.arange(5000) / FS
    wander = 1.0 * np.sin(2 * np.pi * 0.1 * t)
    y = highpass(_pulse()[:, None] + wander[:, None], FS, 0.5)
    assert abs(y[:1000].mean()) < 0.05
    assert y.max() > 0.8


def test_powerline_frequency_found_only_when_present(ludb_dir) -> None:  # type: ignore[no-untyped-def]
    from ecglens.io import read

    x = np.asarray(read(ludb_dir / "data" / "1.hea").signal)
    t = np.arange(x.shape[0]) / FS
    assert powerline_frequency(highpass(x, FS), FS) is None
    for line in (50.0, 60.0):
        noisy = x + 0.1 * np.sin(2 * np.pi * line * t)[:, None]
        assert powerline_frequency(highpass(noisy, FS), FS) == line


def test_resample_lengths_and_errors() -> None:
    x = np.random.default_rng(0).normal(size=(1000, 2))
    assert resample(x, 100.0, 500.0).shape == (5000, 2)
    assert resample(x, 360.0, 500.0).shape[0] == pytest.approx(1389, abs=1)
    with pytest.raises(ECGSignalError):
        bandpass(x, 20.0, 15.0, 25.0)
