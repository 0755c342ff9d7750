"""Zero-phase preprocessing: resampling, baseline-wander removal, powerline notch, band-pass.

Every filter that feeds a timing measurement runs forwards and backwards (``sosfiltfilt``) so it
adds no delay: a 4 ms shift of the QRS onset would already use half of the IEC tolerance.
Filter designs are cached per (rate, band) because designing them costs more than applying
them to a 10 s record.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import signal as sps

from ecglens.exceptions import ECGSignalError

Design = tuple[np.ndarray, np.ndarray]  # second-order sections and their step-response state


@lru_cache(maxsize=64)
def _butter(order: int, cutoff: tuple[float, ...],
            btype: Literal["highpass", "lowpass", "bandpass"], fs: float) -> Design:
    wn = cutoff[0] if len(cutoff) == 1 else list(cutoff)
    sos = sps.butter(order, wn, btype=btype, fs=fs, output="sos")
    return sos, sps.sosfilt_zi(sos)


@lru_cache(maxsize=16)
def _notch(freq_hz: float, quality: float, fs: float) -> Design:
    sos = sps.tf2sos(*sps.iirnotch(freq_hz, quality, fs=fs))
    return sos, sps.sosfilt_zi(sos)


def _filtfilt(design: Design, x: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfiltfilt`` along axis 0 (odd extension, same output), with the initial
    state cached with the design: recomputing it was a tenth of a 12-lead measurement."""
    sos, zi = design
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 4:
        return x.copy()
    # padlen must stay below the record length; short records get a shorter pad instead of an error
    pad = max(min(3 * (2 * len(sos) + 1) * 10, n - 1), 1)
    ext = np.concatenate([2 * x[:1] - x[pad:0:-1], x, 2 * x[-1:] - x[-2:-pad - 2:-1]])
    z = zi.reshape(zi.shape + (1,) * (x.ndim - 1))
    y, _ = sps.sosfilt(sos, ext, axis=0, zi=z * ext[0])
    y, _ = sps.sosfilt(sos, y[::-1], axis=0, zi=z * y[-1])
    return y[::-1][pad:n + pad]


def highpass(x: np.ndarray, fs: float, cutoff_hz: float = 0.5, *, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth high-pass along axis 0 (removes baseline wander)."""
    return _filtfilt(_butter(order, (cutoff_hz,), "highpass", fs), x)


def lowpass(x: np.ndarray, fs: float, cutoff_hz: float = 40.0, *, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0; no-op if the cutoff is above Nyquist."""
    if cutoff_hz >= 0.5 * fs * 0.98:
        return np.asarray(x, dtype=np.float64).copy()
    return _filtfilt(_butter(order, (cutoff_hz,), "lowpass", fs), x)


def bandpass(
    x: np.ndarray, fs: float, low_hz: float, high_hz: float, *, order: int = 2
) -> np.ndarray:
    """Zero-phase Butterworth band-pass along axis 0."""
    high = min(high_hz, 0.45 * fs)
    if low_hz >= high:
        raise ECGSignalError(f"band {low_hz}-{high_hz} Hz is empty at {fs:g} Hz")
    return _filtfilt(_butter(order, (low_hz, high), "bandpass", fs), x)


def notch(x: np.ndarray, fs: float, freq_hz: float = 50.0, *, quality: float = 30.0) -> np.ndarray:
    """Zero-phase IIR notch at the powerline frequency and nothing else (Q=30: ±~1 Hz)."""
    if freq_hz >= 0.5 * fs:
        return np.asarray(x, dtype=np.float64).copy()
    return _filtfilt(_notch(freq_hz, quality, fs), x)


def powerline_frequency(x: np.ndarray, fs: float) -> float | None:
    """50 or 60 Hz if that line stands out of its spectral neighbourhood (summed over leads)."""
    n = x.shape[0]
    if fs < 130 or n < int(fs):
        return None
    spec = np.abs(np.fft.rfft(x, axis=0))
    p = (spec * spec).sum(axis=1) if spec.ndim == 2 else spec * spec
    df = fs / n
    best: tuple[float, float] | None = None
    for line in (50.0, 60.0):
        k = round(line / df)
        half = max(round(0.5 / df), 1)
        peak = p[max(k - half, 0):k + half + 1].max()
        around = np.r_[p[max(k - 6 * half, 0):max(k - 2 * half, 0)], p[k + 2 * half:k + 6 * half]]
        if around.size == 0:
            continue
        ratio = float(peak / (np.median(around) + 1e-12))
        if ratio > 20.0 and (best is None or ratio > best[1]):
            best = (line, ratio)
    return best[0] if best else None


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along axis 0 (anti-aliased, no phase shift)."""
    if abs(fs_in - fs_out) < 1e-9:
        return np.asarray(x, dtype=np.float64)
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    if ratio.numerator == 0:
        raise ECGSignalError(f"cannot resample from {fs_in:g} Hz to {fs_out:g} Hz")
    x = np.asarray(x)
    h = _poly_fir(ratio.numerator, ratio.denominator)
    taps = h.astype(x.dtype) if x.dtype.kind in "fc" else h
    # scipy-stubs type window as a window name only; scipy also takes the FIR taps as an array
    return sps.resample_poly(  # type: ignore[call-overload]
        x, ratio.numerator, ratio.denominator, axis=0, window=taps)


@lru_cache(maxsize=32)
def _poly_fir(up: int, down: int) -> np.ndarray:
    """resample_poly's own anti-aliasing filter (Kaiser, beta 5), designed once per ratio: the
    design cost as much as filtering a median beat."""
    m = max(up, down)
    h = sps.firwin(20 * m + 1, 1.0 / m, window=("kaiser", 5.0))
    h.flags.writeable = False
    return h


def clean(x: np.ndarray, fs: float, *, low_hz: float = 0.5, high_hz: float | None = None,
          powerline_hz: float | None = None, hp: np.ndarray | None = None) -> np.ndarray:
    """The measurement chain: baseline removal, optional notch, optional low-pass; all zero-phase.

    ``hp`` is x already high-passed at ``low_hz`` when the caller has it.
    """
    y = highpass(x, fs, low_hz) if hp is None else hp
    if powerline_hz is not None:
        y = notch(y, fs, powerline_hz)
    return y if high_hz is None else lowpass(y, fs, high_hz)
