"""When not to interpret: unusable signal or input unlike anything the network was trained on.

A network outputs probabilities for noise, a flat line or a sine wave as readily as for an ECG.
Before any finding is reported we check that the input is a 12-lead ECG the network can read:
the measurement stage's quality verdict (flat, clipped, noisy leads), detected heartbeats, a
plausible amplitude, and sharp QRS complexes somewhere. Thresholds were set on a random 400
records of PTB-XL folds 1–8 (not on the fold-9 records the abstention rate is reported on):
the PTB-XL extremes were excess kurtosis of the first difference ≥ 4.9 in the sharpest lead and
0.97–11.3 mV largest peak-to-peak; the limits below leave a wide margin around those.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps
from scipy import stats

from ecglens.measure.results import Quality
from ecglens.record import ECG, STANDARD_LEADS

MIN_SHARPNESS = 3.0  # excess kurtosis of the derivative; Gaussian noise 0, a sine −1.5
MAX_PTP_MV = 20.0  # no lead of a human ECG spans 20 mV; a unit error (µV read as mV) does
MIN_PTP_MV = 0.3  # every lead below 0.3 mV: lead off, or a unit error the other way
MIN_BEATS = 2


def signal_checks(ecg: ECG) -> list[str]:
    """Reasons the signal is out of distribution (empty when it looks like an ECG)."""
    x = np.asarray(ecg.signal, dtype=float)
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if x.shape[0] >= 3 * ecg.fs:
        sos = sps.butter(2, 0.5, btype="highpass", fs=ecg.fs, output="sos")
        x = sps.sosfiltfilt(sos, x, axis=0)
    else:
        x = x - np.median(x, axis=0)
    reasons: list[str] = []
    ptp = np.percentile(x, 99.5, axis=0) - np.percentile(x, 0.5, axis=0)
    if ptp.max() > MAX_PTP_MV:
        lead = ecg.leads[int(ptp.argmax())]
        reasons.append(f"implausible amplitude ({ptp.max():.0f} mV in lead {lead}; "
                       "check the units)")
    elif ptp.max() < MIN_PTP_MV:
        reasons.append(f"implausibly small amplitude (largest lead {ptp.max():.2f} mV)")
    d = np.diff(x, axis=0)
    with np.errstate(all="ignore"):
        sharp = np.nan_to_num(stats.kurtosis(d, axis=0), nan=-3.0)
    if sharp.max() < MIN_SHARPNESS:
        reasons.append("no sharp QRS complexes in any lead: the waveform does not look like "
                       "an ECG")
    return reasons


def quality_checks(quality: Quality, n_beats: int) -> list[str]:
    """Reasons to abstain from the measurement stage: unacceptable record, unusable leads."""
    reasons: list[str] = []
    if quality.verdict == "unacceptable":
        reasons += [f"signal quality unacceptable: {r}" for r in quality.reasons] or [
            "signal quality unacceptable"]
    bad = [lq for lq in quality.leads if lq.verdict == "unacceptable"]
    if bad and quality.verdict != "unacceptable":
        what = ", ".join(f"{lq.lead} ({'; '.join(lq.problems) or 'unusable'})" for lq in bad)
        reasons.append(f"unusable lead(s) {what}: the network reads all 12 leads together")
    if n_beats < MIN_BEATS and quality.verdict != "unacceptable":
        reasons.append("fewer than two heartbeats detected")
    return reasons


def caution_checks(quality: Quality) -> list[str]:
    """Reasons to report findings as possible only, never confident: leads the measurement
    stage rated *limited* for noise. Abstaining on these too withheld 4.1 % of PTB-XL fold 9
    (89 of 2,183 records, nearly all with a noisy chest lead), more than the 2 % goal."""
    noisy = [lq.lead for lq in quality.leads if lq.verdict == "limited"
             and any("noise" in p for p in lq.problems)]
    if not noisy:
        return []
    return [(f"noise in lead(s) {', '.join(noisy)}: findings are reported as possible, not "
            "confident")]


def lead_checks(ecg: ECG) -> list[str]:
    """The network needs the 12 standard leads (III, aVR, aVL, aVF may be derived)."""
    try:
        ecg.to_standard_12()
    except ValueError:
        missing = [lead for lead in STANDARD_LEADS if lead not in ecg.leads]
        return [f"not a 12-lead ECG (missing {', '.join(missing)}): the network needs all 12"]
    return []
