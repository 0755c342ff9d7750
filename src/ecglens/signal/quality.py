"""Signal quality per lead and per record: lead off, clipping, baseline wander, noise, bursts.

Thresholds are in millivolts on the unfiltered signal and follow what resting-ECG carts warn on:
a lead with under 50 µV peak-to-peak is off; a lead that sits on one value for a long run at its
extreme is clipped; baseline excursions above 1.5 mV below 0.5 Hz are wander; more than 50 µV RMS
above 40 Hz (after the powerline notch) is muscle or electrode noise.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

from ecglens.signal.filters import highpass
from ecglens.signal.results import LeadQuality, Quality, Verdict

__all__ = ["VERDICT_ORDER", "lead_quality", "record_quality"]

VERDICT_ORDER = {"acceptable": 0, "limited": 1, "unacceptable": 2}

FLAT_PP_MV = 0.05
WANDER_PP_MV = 1.5
HF_RMS_LIMITED_MV = 0.05
HF_RMS_BAD_MV = 0.15
CLIP_FRACTION_LIMITED = 0.005
CLIP_FRACTION_BAD = 0.05


def _worst(a: Verdict, b: Verdict) -> Verdict:
    return a if VERDICT_ORDER[a] >= VERDICT_ORDER[b] else b


def _clipped_fraction(x: np.ndarray, fs: float) -> np.ndarray:
    """Per lead, the fraction of samples in runs ≥ 10 ms stuck at that lead's max or min value."""
    run = max(int(0.01 * fs), 2) | 1  # odd, so the centred windows below line up
    if x.shape[0] < run:
        return np.zeros(x.shape[1])
    hi, lo = x.max(axis=0), x.min(axis=0)
    tol = 1e-6 * np.maximum(np.maximum(np.abs(hi), np.abs(lo)), 1.0)
    stuck = ((x >= hi - tol) | (x <= lo + tol)) & (hi - lo > 0)
    if (stuck.sum(axis=0) < run).all():  # no lead has enough stuck samples for one run
        return np.zeros(x.shape[1])
    stuck = stuck.astype(np.uint8)
    # a sample belongs to a long run if some window of `run` samples around it is all stuck:
    # erosion finds the windows, dilation gives back their samples
    core = minimum_filter1d(stuck, size=run, axis=0, mode="constant", cval=0)
    full = maximum_filter1d(core, size=run, axis=0, mode="constant", cval=0)
    return (full & stuck).mean(axis=0)


def _window_rms(x: np.ndarray, win: int) -> np.ndarray:
    """RMS of consecutive windows of win samples, (n_windows × leads)."""
    nwin = max(x.shape[0] // win, 1)
    seg = x[: nwin * win].reshape(nwin, -1, x.shape[1]) if x.shape[0] >= win else x[None]
    return np.sqrt((seg * seg).mean(axis=1))


def lead_quality(
    x: np.ndarray, fs: float, leads: tuple[str, ...], nan_fraction: np.ndarray,
    *, hp: np.ndarray | None = None,
) -> list[LeadQuality]:
    """Quality of each lead of x (samples × leads, mV, NaNs already filled).

    ``hp`` is x high-passed at 0.5 Hz when the caller has it already (saves a filter pass).
    """
    if hp is None:
        hp = highpass(x, fs, 0.5)
    lo_hi = np.percentile(hp[:: max(int(fs // 250), 1)], [0.5, 99.5], axis=0)
    pp = lo_hi[1] - lo_hi[0]
    # what the 0.5 Hz high-pass removed is the baseline wander (plus the DC offset)
    wander = x - hp
    wander_pp = ((wander.max(axis=0) - wander.min(axis=0)) if x.shape[0] > fs
                 else np.zeros(x.shape[1]))
    # content above ~40 Hz: what a centred 12 ms moving average removes (a box filter is
    # zero-phase and ten times cheaper than a second IIR pass over the record)
    hf = hp - uniform_filter1d(hp, size=max(round(0.0125 * fs), 1), axis=0, mode="nearest")
    # noise floor: median RMS over 100 ms windows — at most one or two windows per beat hold a
    # QRS (whose own high-frequency content is not noise), so the median sees the quiet parts
    rms_short = _window_rms(hf, max(int(0.1 * fs), 1))
    hf_rms = np.median(rms_short, axis=0)
    # bursts: a 1 s window far noisier than the floor (every 1 s window holds a QRS, so the
    # QRS alone does not make one stand out)
    rms_long = _window_rms(hf, max(int(fs), 1))
    burst = (rms_long.max(axis=0) > 5 * np.median(rms_long, axis=0)) & (rms_long.max(axis=0) > 0.1)
    clip = _clipped_fraction(x, fs)

    out: list[LeadQuality] = []
    for j, name in enumerate(leads):
        verdict: Verdict = "acceptable"
        problems: list[str] = []
        if nan_fraction[j] > 0.2:
            verdict, problems = "unacceptable", [f"{nan_fraction[j]:.0%} of samples missing"]
        elif pp[j] < FLAT_PP_MV:
            verdict, problems = "unacceptable", ["flat line / lead off"]
        else:
            if nan_fraction[j] > 0:
                verdict = "limited"
                problems.append(f"{nan_fraction[j]:.0%} of samples missing (interpolated)")
            if clip[j] > CLIP_FRACTION_BAD:
                verdict = _worst(verdict, "unacceptable")
                problems.append("clipping / saturation")
            elif clip[j] > CLIP_FRACTION_LIMITED:
                verdict = _worst(verdict, "limited")
                problems.append("clipping / saturation")
            if wander_pp[j] > WANDER_PP_MV:
                verdict = _worst(verdict, "limited")
                problems.append("baseline wander")
            if hf_rms[j] > HF_RMS_BAD_MV:
                verdict = _worst(verdict, "unacceptable")
                problems.append("high-frequency noise")
            elif hf_rms[j] > HF_RMS_LIMITED_MV:
                verdict = _worst(verdict, "limited")
                problems.append("high-frequency noise")
            if burst[j]:
                verdict = _worst(verdict, "limited")
                problems.append("burst noise / artefact")
        out.append(LeadQuality(lead=name, verdict=verdict, problems=problems))
    return out


def record_quality(
    leads: list[LeadQuality], *, duration_s: float, n_beats: int, extra: list[str] | None = None
) -> Quality:
    """Record-level verdict: unacceptable if half the leads are unusable or there are no beats."""
    reasons = list(extra or [])
    verdict: Verdict = "acceptable"
    bad = [lq.lead for lq in leads if lq.verdict == "unacceptable"]
    limited = [lq.lead for lq in leads if lq.verdict == "limited"]
    if duration_s < 2.5:
        verdict = "unacceptable"
        reasons.append(f"record too short ({duration_s:.1f} s; at least 2.5 s needed)")
    elif duration_s < 5.0:
        verdict = "limited"
        reasons.append(f"short record ({duration_s:.1f} s)")
    if leads and len(bad) * 2 >= len(leads):
        verdict = "unacceptable"
        reasons.append(f"unusable leads: {', '.join(bad)}")
    elif bad:
        verdict = _worst(verdict, "limited")
        reasons.append(f"unusable leads: {', '.join(bad)}")
    if limited:
        verdict = _worst(verdict, "limited")
        reasons.append(f"leads with limited quality: {', '.join(limited)}")
    if n_beats < 2 and verdict != "unacceptable":
        verdict = "unacceptable"
        reasons.append("fewer than two heartbeats detected")
    if extra:
        verdict = _worst(verdict, "limited")
    return Quality(verdict=verdict, reasons=reasons, leads=leads)
