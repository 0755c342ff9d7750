"""Beat alignment, typing (normal / premature supraventricular / ventricular) and median beats.

The median (representative) beat is what carts measure on: averaging the dominant beats aligned
on their QRS cancels noise and beat-to-beat jitter, while ectopic beats, which would distort it,
are left out. Beats are aligned by cross-correlation of their QRS with the dominant template,
so that a detector fiducial that hops between R and S does not blur the median.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["BeatSet", "beat_windows", "classify_beats", "median_beats", "median_of_windows",
           "rr_irregularity"]

_QRS_HALF_S = 0.06  # QRS window for morphology comparison, each side of the fiducial
_MAX_SHIFT_S = 0.02  # largest re-alignment of one beat
_SAME_MORPHOLOGY = 0.7  # QRS correlation of beats counted as one morphology class


@dataclass(frozen=True)
class BeatSet:
    rpeaks: np.ndarray  # aligned fiducials (samples)
    types: list[str]  # "N", "S" (premature, normal QRS), "V" (different QRS), "Q" (unclassified)
    correlation: np.ndarray  # QRS correlation of each beat with the dominant template
    dominant: np.ndarray  # boolean mask of the beats that make the median beat


def _windows(x: np.ndarray, centers: np.ndarray, before: int, after: int) -> np.ndarray:
    """(n_beats, n_leads, before+after) windows; samples outside the record are NaN."""
    n = x.shape[0]
    idx = centers[:, None] + np.arange(-before, after)[None, :]
    valid = (idx >= 0) & (idx < n)
    w = x[np.clip(idx, 0, n - 1)]  # (beats, width, leads)
    w = np.where(valid[:, :, None], w, np.nan)
    return np.transpose(w, (0, 2, 1))


def _corr_rows(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Pearson correlation of every row of a (n, m) with the vector t (m,), NaN-free inputs."""
    a = a - a.mean(axis=1, keepdims=True)
    t = t - t.mean()
    den = np.sqrt((a * a).sum(axis=1) * (t * t).sum()) + 1e-12
    return (a @ t) / den


def _align(x: np.ndarray, r: np.ndarray, fs: float, template: np.ndarray, half: int) -> np.ndarray:
    """Shift each fiducial by up to ±20 ms to best match the template (correlation over leads)."""
    s = int(_MAX_SHIFT_S * fs)
    if s < 1:
        return r
    w = _windows(x, r, half + s, half + s)  # (beats, leads, 2(half+s))
    w = np.nan_to_num(w)
    width = 2 * half
    shifts = np.arange(0, 2 * s + 1)
    # every shifted view of every beat, flattened over leads: (beats, shifts, leads*width)
    idx = shifts[:, None] + np.arange(width)[None, :]
    views = w[:, :, idx]  # (beats, leads, shifts, width)
    views = np.transpose(views, (0, 2, 1, 3)).reshape(w.shape[0], len(shifts), -1)
    t = template.reshape(-1)
    v = views - views.mean(axis=2, keepdims=True)
    tc = t - t.mean()
    score = (v @ tc) / (np.sqrt((v * v).sum(axis=2) * (tc * tc).sum()) + 1e-12)
    best = shifts[np.argmax(score, axis=1)] - s
    return r + best


def rr_irregularity(rr: np.ndarray) -> float:
    """Median absolute successive RR difference over the median RR (0 = perfectly regular).

    Successive differences ignore the slow trend of sinus arrhythmia and respond to the
    beat-to-beat randomness of atrial fibrillation.
    """
    if rr.size < 3:
        return 0.0
    return float(np.median(np.abs(np.diff(rr))) / max(np.median(rr), 1e-9))


def _pair_correlation(x: np.ndarray, r: np.ndarray, half: int, fs: float) -> np.ndarray:
    """QRS correlation between all beats.

    A beat cut by the record's edge (at most the first and the last) is compared on the
    samples it has, at its best shift within ±_MAX_SHIFT_S: the detector's fiducial is least
    reliable there (a cut R wave peaks at the last sample), and without the shift such a beat
    matches nothing and stops counting with its class, which can tie two classes.
    """
    w = _windows(x, r, half, half).reshape(r.size, -1)
    full = ~np.isnan(w).any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # flat beats have no correlation
        c = np.corrcoef(np.nan_to_num(w)) if w.shape[0] > 1 else np.ones((1, 1))
        s = int(_MAX_SHIFT_S * fs)
        for i in np.flatnonzero(~full):
            best = np.zeros(r.size)
            for shift in range(-s, s + 1):
                wi = _windows(x, r[i : i + 1] + shift, half, half).reshape(-1)
                ok = ~np.isnan(wi)
                if ok.sum() >= w.shape[1] // 2:
                    corr = _corr_rows(np.nan_to_num(w[:, ok]), wi[ok])
                    best = np.maximum(best, np.nan_to_num(corr))
            c[i] = c[:, i] = best
    c = np.nan_to_num(c)
    np.fill_diagonal(c, 1.0)
    return c


def _dominant_medoid(x: np.ndarray, r: np.ndarray, half: int, fs: float) -> int:
    """Index of the beat at the centre of the most populated QRS morphology.

    Carts measure the dominant beat type: the morphology with the most beats. Each beat's
    class size is the number of beats correlating with it above _SAME_MORPHOLOGY (a looser
    bound than the ectopy test, so that fusion and slightly varying conducted beats count with
    their class); ties go to the beat with the highest median correlation, the medoid.
    """
    c = _pair_correlation(x, r, half, fs)
    size = (c >= _SAME_MORPHOLOGY).sum(axis=1)
    return int(np.lexsort((np.median(c, axis=1), size))[-1])


def classify_beats(x: np.ndarray, rpeaks: np.ndarray, fs: float) -> BeatSet:
    """Align beats on the dominant QRS and type them by prematurity and QRS morphology."""
    n_beats = rpeaks.size
    if n_beats == 0:
        return BeatSet(rpeaks, [], np.zeros(0), np.zeros(0, dtype=bool))
    half = max(int(_QRS_HALF_S * fs), 2)
    w = np.nan_to_num(_windows(x, rpeaks, half, half).reshape(n_beats, -1))
    # dominant template: the most common QRS morphology, then the median of the beats that
    # resemble it; robust even when ectopic (or paced) beats are numerous
    sub = np.linspace(0, n_beats - 1, min(n_beats, 300)).astype(int)
    medoid = sub[_dominant_medoid(x, rpeaks[sub], half, fs)]
    corr = _corr_rows(w, w[medoid])
    like = corr > 0.9 if (corr > 0.9).sum() >= 1 else np.ones(n_beats, dtype=bool)
    template = np.median(w[like], axis=0).reshape(x.shape[1], 2 * half)
    r = _align(x, rpeaks, fs, template, half)
    w = np.nan_to_num(_windows(x, r, half, half)).reshape(n_beats, -1)
    t = template.reshape(-1)
    corr = _corr_rows(w, t)
    amp = np.sqrt((w * w).sum(axis=1)) / (np.sqrt((t * t).sum()) + 1e-12)

    rr = np.diff(r).astype(float)
    types = ["N"] * n_beats
    odd = (corr < 0.8) | (amp < 0.5) | (amp > 2.0)
    irregular = rr_irregularity(rr) > 0.08
    if rr.size >= 2:
        ref_rr = np.median(rr)
        for i in range(1, n_beats):
            premature = rr[i - 1] < 0.85 * ref_rr
            if odd[i]:
                types[i] = "V"
            elif premature and not irregular:
                types[i] = "S"
    if odd[0]:
        types[0] = "V"
    dominant = np.array([tp == "N" for tp in types])
    if dominant.sum() == 0:
        dominant = corr >= np.median(corr)
    return BeatSet(r, types, corr, dominant)


def beat_windows(
    x: np.ndarray, rpeaks: np.ndarray, fs: float, before_s: float, after_s: float
) -> np.ndarray:
    """(beats × leads × samples) windows around each R peak; NaN outside the record."""
    before, after = round(before_s * fs), round(after_s * fs)
    return _windows(x, rpeaks, before, after)


def median_of_windows(w: np.ndarray) -> np.ndarray:
    """Per-lead median beat (leads × samples) of beat windows, NaN where no beat covers it."""
    inside = ~np.isnan(w).any(axis=(1, 2))
    if inside.sum() >= 3:
        return np.median(w[inside], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        return np.nanmedian(w, axis=0)


def median_beats(
    x: np.ndarray, rpeaks: np.ndarray, fs: float, before_s: float, after_s: float
) -> np.ndarray:
    """Per-lead median of the given beats, (n_leads, before+after), NaN where no beat covers it."""
    return median_of_windows(beat_windows(x, rpeaks, fs, before_s, after_s))
