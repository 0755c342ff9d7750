"""Global delineation of the median beats, all leads combined (the way electrocardiographs do it).

* QRS onset / offset: where the spatial velocity (root of the summed squared slopes of all
  leads) leaves / returns to the isoelectric level, with thresholds set between the noise floor
  and the QRS peak velocity (Glasgow / 12SL style global boundaries).
* T offset: the trapezium-area method (Vázquez-Seisdedos et al., 2011) on the spatial magnitude
  of the baseline-corrected ST-T segment; robust to T-wave shape and polarity in single leads.
* P onset / offset: the same trapezium method on the spatial magnitude of the P window, run only
  if the P wave passes a presence test: large enough in the median beat and reproducible from
  beat to beat. In atrial fibrillation the fibrillatory waves are not locked to the QRS, average
  out of the median beat and fail the test, so P is reported absent instead of invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from ecglens.exceptions import ModelError
from ecglens.measure.artefacts import read_json
from ecglens.measure.qrs_net import net_qrs_bounds
from ecglens.signal.filters import lowpass

__all__ = ["Fiducials", "delineate", "p_absence_model", "p_presence_features", "p_wave_present",
           "qrs_bounds", "spatial_velocity"]

# thresholds as fractions of (peak - noise) of the spatial velocity; chosen on odd LUDB records
CORE_FRACTION = 0.20
QRS_ON_FRACTION = 0.02
QRS_OFF_FRACTION = 0.03
EDGE_S = 0.04
PACE_RATIO = 3.0
PACE_HALF_S = 0.006
# pre-QRS spikes: in LUDB the largest ratio before the QRS of a non-paced record is 0.7, the atrial
# pacing spike of record 45 is 2.3
ATRIAL_PACE_RATIO = 1.5
ATRIAL_PACE_LEAD_S = 0.08  # ...and only this far before the R peak (the QRS upstroke is excluded)
HUMP_FRACTION = 0.1  # a second velocity hump above this (of peak) is still QRS (see _foot)
QRS_LP_HZ = 40.0
EDGE_GAP_S = 0.002
QRS_ON_LAG_S = 0.008
QRS_OFF_LAG_S = 0.006
P_MIN_AMP_MV = 0.04
T_MIN_AMP_MV = 0.04
IRREGULAR_RR = 0.08  # rr_irregularity above this: irregular rhythm
# the P-absence logistic model (p_wave_present) is data: weights/measure/p-presence.json, written
# by training/train_measure_p_presence.py, read by p_absence_model
P_REACH_S = 0.05  # trapezium bound before the steepest rise of the P wave
P_OFF_REACH_S = 0.09  # and after its steepest fall
P_LEAD_MIN_FRACTION = 0.2  # leads whose P is this fraction of the largest give a lead onset
P_LEAD_WEIGHT = 0.4  # weight of the second-earliest lead onset against the spatial onset
P_LEAD_HALF_S = 0.07  # each lead's P apex is sought this far either side of the spatial apex
# a dip of the velocity shorter than this does not end the QRS (notched wide complexes)
GAP_S = 0.025
PACED_QRS_DELAY_S = 0.006  # paced QRS onset: no earlier than this after the bridged spike
BEAT_WEIGHT = 0.5  # weight of the median of single-beat QRS boundaries against the median beat's
NET_WEIGHT = 0.5  # weight of the learned QRS boundaries (qrs_net) against the rule's
MIN_BEATS_QRS = 3


@dataclass
class Fiducials:
    p_on: int | None = None
    p_off: int | None = None
    qrs_on: int | None = None
    qrs_off: int | None = None
    t_off: int | None = None
    t_peak: int | None = None
    p_present: bool = False
    pacing_spikes: list[int] = field(default_factory=list)  # pacemaker spikes found
    p_amplitude_mv: float = 0.0  # spatial amplitude of the largest atrial deflection
    p_reproducibility: float | None = None  # median correlation of single beats with the median
    reasons: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int | None]:
        return {"p_on": self.p_on, "p_off": self.p_off, "qrs_on": self.qrs_on,
                "qrs_off": self.qrs_off, "t_off": self.t_off}


def _trapezium(y: np.ndarray, xm: int, xr: int) -> int:
    """Trapezium-area end point of a hump in y between its steepest point xm and a bound xr.

    Works on either side: xr < xm searches leftwards (wave onset).
    """
    if xr == xm:
        return xm
    step = 1 if xr > xm else -1
    xi = np.arange(xm, xr + step, step)
    area = 0.5 * (y[xm] - y[xi]) * np.abs(2 * xr - xi - xm)
    # on the rising side of an onset the hump is to the right; same formula, mirrored
    return int(xi[int(np.argmax(area))])


def _extent(above: np.ndarray, start: int, gap: int, direction: int, stop: int) -> int:
    """Walk from start in direction while above-threshold samples continue (gaps < gap)."""
    idx = np.flatnonzero(above)
    if direction < 0:
        idx = idx[(idx <= start) & (idx >= stop)][::-1]
    else:
        idx = idx[(idx >= start) & (idx <= stop)]
    if idx.size == 0:
        return start
    steps = np.abs(np.diff(idx))
    brk = np.flatnonzero(steps > gap)
    return int(idx[brk[0]] if brk.size else idx[-1])


def _foot(sv: np.ndarray, thr: float, start: int, gap: int, direction: int, edge: int,
          limit: int, hump: float) -> int:
    """Boundary of the QRS from the end of its core: where the velocity falls below thr.

    Normally the velocity falls below thr within ``edge`` samples. If it does not, the walk has
    met a second deflection before reaching the baseline and stopped somewhere inside it. When
    that deflection rises above ``hump`` (velocities no P or T wave reaches) it is a terminal
    R' or S wave, or a slurred onset, separated from the core by a dip longer than GAP_S: it
    belongs to the QRS and its own foot is the boundary.
    """
    stop = max(start - edge, limit) if direction < 0 else min(start + edge, limit)
    end = _extent(sv > thr, start, gap, direction, stop)
    if end != stop or stop == limit:
        return end
    a, b = (stop, start) if direction < 0 else (start, stop)
    trough = a + int(np.argmin(sv[a:b + 1]))
    far = max(trough - edge, limit) if direction < 0 else min(trough + edge, limit)
    nxt = _extent(sv > thr, trough, gap, direction, far)
    c, d = (nxt, trough) if direction < 0 else (trough, nxt)
    return nxt if nxt != far and sv[c:d + 1].max() >= hump else end


def remove_pacing_spikes(med: np.ndarray, fs: float, r: int,
                         lp: np.ndarray | None = None) -> tuple[np.ndarray, list[int]]:
    """Find pacemaker spikes in the median beats and bridge them by linear interpolation.

    A spike is a slope far steeper than anything physiological: the unfiltered spatial slope
    exceeds PACE_RATIO times the largest 40 Hz low-passed spatial slope (the QRS upstroke). In
    LUDB the ratio is 4–25 for paced records and below 2 for most others; a very sharp R wave
    can pass too, so only spikes ending before the QRS energy peak r are taken (pacemaker spikes
    precede the P wave or the QRS they trigger). ``lp`` is med already low-passed at QRS_LP_HZ.
    """
    d = np.diff(med, axis=1) * fs
    sv = np.sqrt((d * d).sum(axis=0))
    lp = lowpass(med.T, fs, QRS_LP_HZ).T if lp is None else lp
    dl = np.diff(lp, axis=1) * fs
    ref = float(np.sqrt((dl * dl).sum(axis=0)).max())
    if ref <= 0:
        return med, []
    hits = np.flatnonzero(sv > ATRIAL_PACE_RATIO * ref)
    if hits.size == 0:
        return med, []
    groups = np.split(hits, np.flatnonzero(np.diff(hits) > int(0.006 * fs)) + 1)
    out = med.copy()
    half = max(int(PACE_HALF_S * fs), 1)
    spikes = []
    for g in groups:
        c = int(g[np.argmax(sv[g])])
        if c > r - int(0.008 * fs):
            continue
        # an atrial pacing spike is smaller than a ventricular one (and blunted by the median
        # over beats, whose atrial timing jitters): a lower bound holds well before the QRS,
        # for a narrow event only, where no physiological wave is steep
        atrial = c < r - int(ATRIAL_PACE_LEAD_S * fs) and g[-1] - g[0] <= int(PACE_HALF_S * fs)
        if sv[c] <= PACE_RATIO * ref and not atrial:
            continue
        a, b = max(c - half, 0), min(c + half + 1, med.shape[1] - 1)
        t = np.arange(a, b + 1)
        out[:, a:b + 1] = med[:, [a]] + (med[:, [b]] - med[:, [a]]) * ((t - a) / max(b - a, 1))
        spikes.append(c)
    return out, spikes


def spatial_velocity(x: np.ndarray, fs: float, lp: np.ndarray | None = None) -> np.ndarray:
    """Root of the summed squared QRS_LP_HZ-low-passed slopes over leads (mV/s).

    x: leads × samples, or beats × leads × samples (one filter call for all beats); ``lp`` is x
    already low-passed.
    """
    if lp is None:
        flat = x.reshape(-1, x.shape[-1])
        lp = lowpass(flat.T, fs, QRS_LP_HZ).T.reshape(x.shape)
    slope = np.diff(lp, axis=-1, prepend=lp[..., :1]) * fs
    return np.sqrt((slope * slope).sum(axis=-2))


def _qrs_search(r: int, fs: float, n: int) -> tuple[int, int]:
    """The window a QRS is sought in: 150 ms before to 200 ms after R, inside the beat's n samples.
    A pacing spike before it is atrial."""
    ms = fs / 1000.0
    return max(r - int(150 * ms), 1), min(r + int(200 * ms), n - 2)


def _paced_qrs_start(lo: int, fs: float, spikes: list[int]) -> int:
    """The earliest QRS onset: the search window's start ``lo``, or just after a ventricular
    pacing spike (one at or after ``lo``), which starts the paced QRS, as cardiologists annotate
    it. Greater than ``lo`` exactly when there is such a spike."""
    v_spikes = [k for k in spikes if lo <= k]
    if v_spikes:
        lo = max(lo, v_spikes[-1] + int(PACE_HALF_S * fs) + round(PACED_QRS_DELAY_S * fs))
    return lo


def qrs_bounds(sv: np.ndarray, r: int, fs: float, spikes: list[int]) -> tuple[int, int] | str:
    """QRS onset and offset from one beat's spatial velocity (R at r), or why there is none.

    ``spikes`` are pacemaker spikes already bridged in the beat (see remove_pacing_spikes).
    """
    n = sv.size
    ms = fs / 1000.0
    search_lo, hi = _qrs_search(r, fs, n)
    lo = _paced_qrs_start(search_lo, fs, spikes)
    paced = lo > search_lo
    core = slice(max(r - int(50 * ms), 0), min(r + int(50 * ms), n))
    peak_i = core.start + int(np.argmax(sv[core]))
    peak = sv[peak_i]
    noise = float(np.percentile(sv, 10))
    if peak <= 3 * noise or peak <= 0:
        return "no QRS complex distinguishable from noise in the median beat"
    gap = max(int(GAP_S * fs), 1)
    # stage 1: the robust core of the complex at a high threshold (dips shorter than GAP_S merge)
    core_thr = noise + CORE_FRACTION * (peak - noise)
    on = _extent(sv > core_thr, peak_i, gap, -1, lo)
    off = _extent(sv > core_thr, peak_i, gap, +1, hi)
    # stage 2: follow the slope down to a low threshold, without gaps and at most EDGE_S, so a
    # low threshold finds the true foot of the complex but cannot run into the P or T wave
    edge = int(EDGE_S * fs)
    g2 = max(int(EDGE_GAP_S * fs), 1)
    hump = noise + HUMP_FRACTION * (peak - noise)
    on = _foot(sv, noise + QRS_ON_FRACTION * (peak - noise), on, g2, -1, edge, lo, hump)
    off = _foot(sv, noise + QRS_OFF_FRACTION * (peak - noise), off, g2, +1, edge, hi, hump)
    # threshold crossings sit inside the true boundaries, where the complex has already
    # gathered some slope; move them out by the mean lag measured on odd LUDB records
    # (but never back into a bridged pacing spike)
    on = max(on - round(QRS_ON_LAG_S * fs), lo if paced else 0)
    off = min(off + round(QRS_OFF_LAG_S * fs), n - 1)
    return on, off


def delineate(
    med: np.ndarray,
    r: int,
    fs: float,
    rr_s: float,
    *,
    beats: np.ndarray | None = None,
    rhythm: tuple[float, float] = (0.0, 0.0),
) -> Fiducials:
    """Global fiducials of the median beats ``med`` (leads × samples, mV) with R at index r.

    Args:
        beats: individual dominant beats (beats × leads × samples, same frame): each one's QRS
            is measured too, and they feed the P-wave reproducibility test; None uses the
            median beat alone.
        rhythm: (rr_irregularity, RR coefficient of variation) of the record's supraventricular
            beats, for the P presence test: an irregular rhythm needs a clearer P wave.
    """
    fid = Fiducials()
    n = med.shape[1]
    ms = fs / 1000.0
    if not np.isfinite(med).all() or n < int(0.5 * fs):
        fid.reasons["qrs"] = "median beat incomplete"
        return fid
    lp = lowpass(med.T, fs, QRS_LP_HZ).T
    med, spikes = remove_pacing_spikes(med, fs, r, lp)
    fid.pacing_spikes = spikes
    bounds = qrs_bounds(spatial_velocity(med, fs, None if spikes else lp), r, fs, spikes)
    if isinstance(bounds, str):
        fid.reasons["qrs"] = bounds
        return fid
    on, off = bounds
    a_spikes = [k for k in spikes if k < _qrs_search(r, fs, n)[0]]  # atrial: before the QRS
    if beats is not None and not spikes and beats.shape[0] >= MIN_BEATS_QRS:
        # the reference the cardiologists give is a median over single beats: measuring each
        # dominant beat too and averaging the two estimates lowers the spread (their errors
        # correlate 0.9, not 1); paced records keep the median beat, whose spikes are bridged
        each = [qrs_bounds(v, r, fs, []) for v in spatial_velocity(beats, fs)]
        ok = np.array([e for e in each if not isinstance(e, str)])
        if ok.shape[0] >= MIN_BEATS_QRS:
            on = round((1 - BEAT_WEIGHT) * on + BEAT_WEIGHT * float(np.median(ok[:, 0])))
            off = round((1 - BEAT_WEIGHT) * off + BEAT_WEIGHT * float(np.median(ok[:, 1])))
    # the learned delineator errs differently from the rule; their mean is closer than either
    # (LUDB, cross-fitted: docs/measurements.md)
    learned = net_qrs_bounds(med, r, fs)
    if learned is not None:
        net_on = max(learned[0], _paced_qrs_start(_qrs_search(r, fs, n)[0], fs, spikes))
        on = round((1 - NET_WEIGHT) * on + NET_WEIGHT * net_on)
        off = round((1 - NET_WEIGHT) * off + NET_WEIGHT * learned[1])
    fid.qrs_on, fid.qrs_off = on, off

    # isoelectric level per lead: the PR segment just before QRS onset
    pr_seg = slice(max(on - int(16 * ms), 0), max(on - int(4 * ms), 1))
    base = np.median(med[:, pr_seg], axis=1, keepdims=True)
    slow = lowpass((med - base).T, fs, 15.0).T

    # P first: the next beat's P wave (at p_on + RR) bounds the search for this beat's T end
    if a_spikes:
        # atrial pacing: the spike is not a P wave, and the paced P wave that follows it is
        # small and merges with the spike's after-potential; report it unmeasured, not invented
        fid.reasons["p"] = "atrial pacing spike before the QRS: the paced P wave is not measured"
    else:
        _delineate_p(fid, med, slow, on, r, fs, rr_s, beats, base, rhythm)
    rr_n = int(rr_s * fs)
    # T wave: between QRS offset and the earliest of 650 ms after onset, 80 % of RR after R and
    # the next beat's P onset
    t_lo = off + int(60 * ms)
    t_hi = min(on + int(650 * ms), r + int(0.8 * max(rr_n, int(0.3 * fs))), n - 2)
    if fid.p_on is not None:
        t_hi = min(t_hi, fid.p_on + rr_n - int(10 * ms))
    if t_hi - t_lo > int(60 * ms):
        mag = np.sqrt((slow * slow).sum(axis=0))
        tp = t_lo + int(np.argmax(mag[t_lo:t_hi]))
        d = np.diff(mag[tp:t_hi + 1])
        if d.size:
            xm = tp + int(np.argmin(d))
            xr = min(xm + int(250 * ms), t_hi)
            end = _trapezium(mag, xm, xr)
            height = float(mag[tp] - mag[end])
            if height < T_MIN_AMP_MV:
                fid.reasons["t"] = f"T wave too flat to find its end ({height:.3f} mV)"
            elif end >= t_hi - 1:
                fid.reasons["t"] = "T wave does not end before the next beat"
            else:
                fid.t_peak, fid.t_off = tp, end
    if fid.t_off is None:
        fid.reasons.setdefault("t", "T wave end not found inside the beat")
    return fid


def _p_lead_onset(seg: np.ndarray, pk: int, span: int, reach: int, fs: float) -> int | None:
    """Second-earliest trapezium onset of the P wave over the leads that carry it.

    seg: detrended, low-passed P window (leads × samples); pk: apex of its spatial magnitude.
    Each lead's onset is found on its own |deflection| around the common apex; None if fewer
    than three leads show a P wave of at least P_LEAD_MIN_FRACTION of the largest.
    """
    half = int(P_LEAD_HALF_S * fs)
    lo, hi = max(pk - half, 0), min(pk + half, seg.shape[1] - 1)
    amp = np.abs(seg[:, lo:hi + 1]).max(axis=1)
    leads = np.flatnonzero(amp >= P_LEAD_MIN_FRACTION * amp.max())
    if leads.size < 3:
        return None
    ons = []
    for k in leads:  # ≤ 12 leads
        y = np.abs(seg[k])
        top = lo + int(np.argmax(y[lo:hi + 1]))
        a0 = max(top - span, 0)
        up = a0 + int(np.argmax(np.diff(y[a0:top + 1]))) if top > a0 else top
        ons.append(_trapezium(y, up, max(up - reach, 0)))
    return int(np.sort(ons)[1])


def p_wave_present(amp: float, repro: float | None, irregularity: float, rr_cv: float) -> bool:
    """P-wave presence test on the median beat's atrial window.

    A P wave must be visible (≥ 40 µV spatial amplitude). Then a logistic model weighs its
    beat-to-beat reproducibility and amplitude against the rhythm's irregularity (median
    successive RR difference, and the RR coefficient of variation): fibrillatory waves are not
    locked to the QRS, so they average out of the median beat and correlate poorly with single
    beats, and the ventricular rhythm is irregular. Fit on PTB-XL folds 1–8 (AFIB against sinus
    rhythm), threshold at 1 % of sinus records called P-less there
    (``training/train_measure_p_presence.py``). With too few beats to check reproducibility,
    an irregular rhythm means no P wave is claimed.
    """
    if amp < P_MIN_AMP_MV:
        return False
    if repro is None:
        return irregularity <= IRREGULAR_RR
    x = p_presence_features(amp, repro, irregularity, rr_cv)
    coef, intercept, logit_threshold = p_absence_model()
    return intercept + float(np.dot(coef, x)) < logit_threshold


@cache
def p_absence_model() -> tuple[tuple[float, ...], float, float]:
    """(coefficients, intercept, logit threshold) of the P-absence model: the P wave is absent
    where intercept + coefficients · p_presence_features >= threshold. Read once from the shipped
    ``weights/measure/p-presence.json`` (training/train_measure_p_presence.py)."""
    doc = read_json("p-presence.json")
    try:
        model = (tuple(float(c) for c in doc["coef"]), float(doc["intercept"]),
                 float(doc["logit_threshold"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"weights/measure/p-presence.json: malformed ({e!r})") from e
    if len(model[0]) != 5:
        raise ModelError("weights/measure/p-presence.json: expected 5 coefficients "
                         f"(p_presence_features), found {len(model[0])}")
    return model


def p_presence_features(amp: float, repro: float, irregularity: float, rr_cv: float) -> np.ndarray:
    """Inputs of the P-absence model (see p_wave_present), in its coefficients' order."""
    return np.array([repro, np.log(max(amp, 1e-3)), irregularity, rr_cv, repro * rr_cv])


def _delineate_p(
    fid: Fiducials, med: np.ndarray, slow: np.ndarray, on: int, r: int, fs: float, rr_s: float,
    beats_p: np.ndarray | None, base: np.ndarray, rhythm: tuple[float, float],
) -> None:
    ms = fs / 1000.0
    # stop 20 ms before the QRS: the 15 Hz low-pass smears the QRS about that far back
    end = on - int(20 * ms)
    start = on - int(330 * ms)
    # the previous beat's T wave ends about QT after its QRS onset; QT estimated for a QTc of
    # 460 ms so that the window starts after it even for a long QT
    qt_est = 0.46 * np.sqrt(max(rr_s, 0.25))
    start = max(start, on - int((rr_s - qt_est) * fs) + int(20 * ms))
    start = max(start, 0)
    if end - start < int(60 * ms):
        fid.reasons["p"] = "no room for a P wave before the QRS"
        return
    seg = slow[:, start:end]
    # remove the linear trend between the window ends so a sloping TP segment is not a P wave
    ramp = np.linspace(0.0, 1.0, seg.shape[1])[None, :]
    seg = seg - (seg[:, :1] + (seg[:, -1:] - seg[:, :1]) * ramp)
    mag = np.sqrt((seg * seg).sum(axis=0))
    pk = int(np.argmax(mag))
    amp = float(mag[pk])
    edge = int(8 * ms)
    if pk < edge or pk > mag.size - edge:
        fid.reasons["p"] = "no P wave: the largest atrial deflection touches the window edge"
        return
    repro: float | None = None
    if beats_p is not None and beats_p.shape[0] >= 3:
        w = beats_p[:, :, start:end] - base[None]
        w = w - w.mean(axis=2, keepdims=True)
        ref = seg - seg.mean(axis=1, keepdims=True)
        num = (w * ref[None]).sum(axis=(1, 2))
        den = np.sqrt((w * w).sum(axis=(1, 2)) * (ref * ref).sum()) + 1e-12
        repro = float(np.median(num / den))
    fid.p_amplitude_mv, fid.p_reproducibility = amp, repro
    if not p_wave_present(amp, repro, *rhythm):
        shown = "n/a" if repro is None else f"{repro:.2f}"
        fid.reasons["p"] = ("no P wave: atrial activity is absent or not locked to the QRS "
                            f"(amplitude {amp:.3f} mV, beat-to-beat correlation {shown})")
        return
    d = np.diff(mag)
    span = int(0.05 * fs)  # steepest points within 50 ms of the apex: a P wave is ≤ 120 ms wide
    a0 = max(pk - span, 0)
    up = a0 + int(np.argmax(d[a0:pk])) if pk > a0 else pk
    dn = pk + int(np.argmin(d[pk:pk + span])) if pk < d.size else pk
    reach = int(P_REACH_S * fs)
    p_on = _trapezium(mag, up, max(up - reach, 0))
    # the spatial magnitude rises late where a broad, low P wave starts slowly in a few leads;
    # the second-earliest onset of the leads that carry the P wave catches that start (and
    # matches how per-lead annotations are combined), the spatial onset keeps it stable
    lead_on = _p_lead_onset(seg, pk, span, reach, fs)
    if lead_on is not None:
        p_on = round((1 - P_LEAD_WEIGHT) * p_on + P_LEAD_WEIGHT * lead_on)
    fid.p_on = start + p_on
    fid.p_off = start + _trapezium(mag, dn, min(dn + int(P_OFF_REACH_S * fs), mag.size - 1))
    fid.p_present = True
