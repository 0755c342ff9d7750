"""Multi-lead R-peak (QRS complex) detection.

All usable leads vote through one envelope: the per-lead slope (5–25 Hz band, where QRS energy
lives and T waves and baseline do not) is squared, scaled so that no single lead dominates, summed
and smoothed over 80 ms. Peaks of that spatial energy are accepted above an adaptive threshold
that follows the local QRS amplitude (as Pan & Tompkins 1985 do for one lead), with a 250 ms
refractory period and a T-wave check inside 360 ms of the previous beat. Working on all leads at
once is what makes it robust: a QRS that is small or noisy in one lead is large in another.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import find_peaks

from ecglens.signal.filters import bandpass

__all__ = ["detect_rpeaks", "qrs_energy"]


def qrs_energy(x: np.ndarray, fs: float, *, usable: np.ndarray | None = None) -> np.ndarray:
    """Spatial QRS energy envelope (n_samples,) of a (n_samples × n_leads) signal in mV."""
    if x.ndim == 1:
        x = x[:, None]
    if usable is not None and usable.any():
        x = x[:, usable]
    band = bandpass(x, fs, 5.0, 25.0)
    slope = np.diff(band, axis=0, prepend=band[:1]) * fs
    e = slope * slope
    # scale each lead by its typical QRS energy (98th percentile): a lead full of bursts gets a
    # high percentile and so a small weight instead of drowning the others
    scale = np.percentile(e[:: max(int(fs // 125), 1)], 98, axis=0)
    scale[scale <= 0] = np.inf
    e = (e / scale).sum(axis=1)
    return uniform_filter1d(e, size=max(int(0.08 * fs), 1), mode="nearest")


def detect_rpeaks(
    x: np.ndarray, fs: float, *, usable: np.ndarray | None = None,
    threshold: float = 0.25, refractory_s: float = 0.25,
) -> np.ndarray:
    """Sample indices of the QRS complexes (the peak of the spatial QRS energy).

    Args:
        x: samples × leads (or one lead), mV, any baseline.
        fs: sampling rate in Hz.
        usable: boolean mask of the leads to use (leads judged flat or clipped are left out).
        threshold: fraction of the local QRS energy a peak must reach.
        refractory_s: minimum distance between two QRS complexes.
    """
    n = x.shape[0]
    if n < int(0.5 * fs):
        return np.zeros(0, dtype=np.int64)
    env = qrs_energy(x, fs, usable=usable)
    if not np.isfinite(env).all() or env.max() <= 0:
        return np.zeros(0, dtype=np.int64)
    cand, props = find_peaks(env, distance=max(int(refractory_s * fs), 1),
                             height=0.02 * np.percentile(env, 99))
    if cand.size == 0:
        return cand.astype(np.int64)
    h = props["peak_heights"]
    # local QRS level: the running maximum of candidate heights over ±4 s, capped at three times
    # the typical beat height so that a few huge beats (aberrant PACs, PVCs) or an artefact do
    # not raise the threshold above the ordinary beats around them
    level = np.zeros(n)
    level[cand] = h
    local = maximum_filter1d(level, size=int(8 * fs), mode="constant")[cand]
    beat_like = h[h >= 0.2 * np.percentile(h, 90)]
    local = np.minimum(local, 3.0 * np.median(beat_like))
    keep = h >= threshold * local
    cand, h = cand[keep], h[keep]
    if cand.size < 2:
        return cand.astype(np.int64)
    # T-wave check: a peak soon after a beat and far smaller than it (or than a typical beat,
    # when the previous one was a giant ectopic) is that beat's T wave
    typical = float(np.median(beat_like))
    out = [int(cand[0])]
    last_h = min(h[0], typical)
    t_window = int(0.36 * fs)
    for c, hc in zip(cand[1:], h[1:], strict=True):
        if c - out[-1] < t_window and hc < 0.4 * last_h:
            continue
        out.append(int(c))
        last_h = min(hc, typical)
    return np.asarray(out, dtype=np.int64)
