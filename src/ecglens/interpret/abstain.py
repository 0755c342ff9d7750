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

from ecglens.record import ECG, STANDARD_LEADS
from ecglens.signal.results import Quality

MIN_SHARPNESS = 3.0  # excess kurtosis of the derivative; Gaussian noise 0, a sine −1.5
MAX_PTP_MV = 20.0  # no lead of a human ECG spans 20 mV; a unit error (µV read as mV) does
MIN_PTP_MV = 0.3  # every lead below 0.3 mV: lead off, or a unit error the other way
MIN_BEATS = 2
#: a lead whose beats agree this little with their own median beat is noise, not ECG. On 300
#: random PTB-XL fold 1–8 records the smallest per-record value was < 0.15 in 3.7 %; with one
#: independent lead replaced by noise of that lead's own size, in 100 %.
MIN_BEAT_R2 = 0.15
INDEPENDENT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


def baseline_removed(ecg: ECG) -> np.ndarray:
    """The record without baseline wander (0.5 Hz zero-phase high-pass; median removal when too
    short to filter), non-finite samples zeroed: what both signal checks below look at."""
    x = np.nan_to_num(np.asarray(ecg.signal, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    if x.shape[0] >= 3 * ecg.fs:
        sos = sps.butter(2, 0.5, btype="highpass", fs=ecg.fs, output="sos")
        return sps.sosfiltfilt(sos, x, axis=0)
    return x - np.median(x, axis=0)


def signal_checks(ecg: ECG, x: np.ndarray | None = None) -> list[str]:
    """Reasons the signal is out of distribution (empty when it looks like an ECG).

    ``x``: ``baseline_removed(ecg)`` when the caller already has it."""
    x = baseline_removed(ecg) if x is None else x
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


def beat_r2(ecg: ECG, rpeaks: np.ndarray, x: np.ndarray | None = None) -> dict[str, float]:
    """Per independent lead: the fraction of beat-to-beat variance its median beat explains
    (windows −250…+450 ms around each R peak). Heartbeats repeat; noise does not.

    ``x``: ``baseline_removed(ecg)`` when the caller already has it."""
    if not all(lead in ecg.leads for lead in INDEPENDENT_LEADS):
        return {}
    x = baseline_removed(ecg) if x is None else x
    a, b = int(0.25 * ecg.fs), int(0.45 * ecg.fs)
    r = [int(v) for v in rpeaks if v - a >= 0 and v + b <= x.shape[0]]
    if len(r) < 3:
        return {}
    out = {}
    for lead in INDEPENDENT_LEADS:
        beats = np.stack([x[v - a:v + b, ecg.leads.index(lead)] for v in r])
        resid = ((beats - np.median(beats, axis=0)) ** 2).sum()
        total = max(float(((beats - beats.mean()) ** 2).sum()), 1e-12)
        out[lead] = 1.0 - resid / total
    return out


def caution_checks(quality: Quality, r2: dict[str, float] | None = None) -> list[str]:
    """Reasons to report findings as possible only, never confident: leads the measurement
    stage rated *limited* for noise, and leads whose beats do not repeat. Abstaining on the
    former too withheld 4.1 % of PTB-XL fold 9 (89 of 2,183 records, nearly all with a noisy
    chest lead), more than the 2 % goal."""
    out = []
    noisy = [lq.lead for lq in quality.leads if lq.verdict == "limited"
             and any("noise" in p for p in lq.problems)]
    if noisy:
        out.append(f"noise in lead(s) {', '.join(noisy)}: findings are reported as possible, "
                   "not confident")
    erratic = [lead for lead, v in (r2 or {}).items() if v < MIN_BEAT_R2 and lead not in noisy]
    if erratic:
        out.append(f"lead(s) {', '.join(erratic)} do not repeat from beat to beat (noise or a "
                   "loose electrode?): findings are reported as possible, not confident")
    return out


def lead_checks(ecg: ECG) -> list[str]:
    """The network needs the 12 standard leads (III, aVR, aVL, aVF may be derived)."""
    try:
        ecg.to_standard_12()
    except ValueError:
        missing = [lead for lead in STANDARD_LEADS if lead not in ecg.leads]
        return [f"not a 12-lead ECG (missing {', '.join(missing)}): the network needs all 12"]
    return []
