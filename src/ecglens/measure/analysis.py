"""The measurement pipeline: quality → R peaks → beat typing → median beats → delineation → numbers.

Everything runs at an internal 500 Hz (records at other rates are resampled once, anti-aliased)
so that filters, windows and thresholds mean the same thing for every device; results are mapped
back to the record's own sampling rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecglens.exceptions import ECGSignalError
from ecglens.measure.beats import (
    beat_windows,
    classify_beats,
    median_of_windows,
    rr_irregularity,
)
from ecglens.measure.delineate import IRREGULAR_RR, Fiducials, delineate
from ecglens.measure.intervals import frontal_axis, net_area, qtc
from ecglens.measure.results import (
    MEDIAN_BEAT_MAX_FS,
    P_FIELDS,
    BeatSummary,
    LeadReversal,
    MeasurementReport,
    Measurements,
    MedianBeats,
    Pacing,
)
from ecglens.measure.reversal import detect_reversal
from ecglens.record import ECG
from ecglens.signal.filters import clean, highpass, powerline_frequency, resample
from ecglens.signal.quality import lead_quality, record_quality
from ecglens.signal.results import Quality
from ecglens.signal.rpeaks import detect_rpeaks

__all__ = ["WORK_FS", "Analysis", "analyze", "measure"]

WORK_FS = 500.0
MIN_FS = 100.0
BEFORE_S, AFTER_S = 0.45, 0.75  # median-beat window around R
REVERSAL_FS = 100.0
PACED_REVERSAL = "not assessed in a paced rhythm (the reversal models were fit on non-paced ECGs)"


@dataclass(frozen=True)
class Analysis:
    """Everything the measurement stage found in one ECG (sample indices at ``ecg.fs``)."""

    measurements: Measurements
    quality: Quality
    lead_reversal: LeadReversal
    rpeaks: np.ndarray
    beat_types: list[str]
    median_beats: np.ndarray  # leads × samples, mV
    median_r_index: int
    fiducials: dict[str, int | None]
    rr_irregular: bool
    p_waves_present: bool
    leads: tuple[str, ...] = ()
    fs: float = WORK_FS
    #: per-beat fiducials in record samples, filled by ``analyze(ecg, per_beat=True)``
    beat_fiducials: list[dict[str, int | None]] = field(default_factory=list)
    #: pacemaker spikes found in the median beats (indices in the median frame at ``ecg.fs``);
    #: non-empty means the record is paced: spikes are bridged, never taken for P or QRS onset
    pacing_spikes: tuple[int, ...] = ()
    #: the evidence of the P-wave presence test (delineate.p_wave_present): spatial amplitude of
    #: the largest atrial deflection, its median beat-to-beat correlation, the RR irregularity
    #: (median successive difference / median RR) and RR coefficient of variation
    p_amplitude_mv: float = 0.0
    p_reproducibility: float | None = None
    rr_irregularity: float = 0.0
    rr_cv: float = 0.0

    @property
    def paced(self) -> bool:
        return bool(self.pacing_spikes)

    def report(self) -> MeasurementReport:
        """The versioned, JSON-ready result: what travels with the record to every output."""
        ms = 1000.0 / self.fs
        return MeasurementReport(
            measurements=self.measurements,
            quality=self.quality,
            lead_reversal=self.lead_reversal,
            beats=BeatSummary(
                n=len(self.beat_types),
                premature_ventricular=self.beat_types.count("V"),
                premature_supraventricular=self.beat_types.count("S"),
                rr_irregular=self.rr_irregular,
                p_waves_present=self.p_waves_present,
            ),
            pacing=Pacing(paced=self.paced, spikes_ms_from_r=[
                round((k - self.median_r_index) * ms, 1) for k in self.pacing_spikes]),
            median_beats=self._median_beats(),
        )

    def _median_beats(self) -> MedianBeats | None:
        if self.median_beats.size == 0:
            return None
        beats, fs = np.asarray(self.median_beats, dtype=np.float64), self.fs
        if fs > MEDIAN_BEAT_MAX_FS:
            beats, fs = resample(beats.T, fs, MEDIAN_BEAT_MAX_FS).T, MEDIAN_BEAT_MAX_FS
        uv = np.round(beats * 1000.0)
        # whole-array conversion (a per-sample loop cost 6 ms a record); None where no beat
        # covers a sample, which only a record with fewer than three whole beats has
        values: list[list[int | None]] = (
            uv.astype(np.int64).tolist() if not np.isnan(uv).any()
            else [[None if np.isnan(v) else int(v) for v in lead] for lead in uv])
        ms = 1000.0 / self.fs
        return MedianBeats(
            fs=fs,
            start_ms=round(-self.median_r_index * ms, 3),
            leads=list(self.leads),
            values_uv=values,
            fiducials_ms={k: None if v is None else round((v - self.median_r_index) * ms, 1)
                          for k, v in self.fiducials.items()},
        )


def _empty(ecg_fs: float, n_leads: int, leads: tuple[str, ...], quality: Quality,
           reason: str) -> Analysis:
    names = [f for f in Measurements.model_fields if f != "not_measured"]
    return Analysis(
        measurements=Measurements(not_measured=dict.fromkeys(names, reason)),
        quality=quality,
        lead_reversal=LeadReversal(),
        rpeaks=np.zeros(0, dtype=np.int64),
        beat_types=[],
        median_beats=np.zeros((n_leads, 0)),
        median_r_index=0,
        fiducials=dict.fromkeys(("p_on", "p_off", "qrs_on", "qrs_off", "t_off")),
        rr_irregular=False,
        p_waves_present=False,
        leads=leads,
        fs=ecg_fs,
    )


def _fill_nans(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation over NaN/inf samples per lead; all-missing leads become zeros."""
    bad = ~np.isfinite(x)
    frac = bad.mean(axis=0) if x.shape[0] else np.ones(x.shape[1])
    if not bad.any():
        return x, frac
    x = x.copy()
    t = np.arange(x.shape[0])
    for j in np.flatnonzero(bad.any(axis=0)):  # per lead, not per sample
        ok = ~bad[:, j]
        x[:, j] = np.interp(t, t[ok], x[ok, j]) if ok.any() else 0.0
    return x, frac


def _standardise(ecg: ECG) -> ECG:
    try:
        return ecg.to_standard_12()
    except ECGSignalError:
        return ecg


def analyze(ecg: ECG, *, per_beat: bool = False) -> Analysis:
    """Measure one ECG. Never raises on bad signals: it reports them in ``quality`` instead.

    Args:
        per_beat: also delineate every beat on its own (``Analysis.beat_fiducials``, indices in
            the record at ``ecg.fs``); about 5 ms per beat (the learned QRS delineator runs on
            each), so off by default.

    Raises ECGSignalError only for inputs that are not an ECG at all (no samples, no leads).
    """
    if not isinstance(ecg, ECG):
        raise ECGSignalError(f"analyze() needs an ecglens ECG record, got {type(ecg).__name__}")
    if ecg.n_leads == 0 or ecg.n_samples == 0:
        raise ECGSignalError("the record holds no samples")
    ecg = _standardise(ecg)
    leads = ecg.leads
    if ecg.fs < MIN_FS:
        q = Quality(verdict="unacceptable",
                    reasons=[f"sampling rate {ecg.fs:g} Hz is below the {MIN_FS:g} Hz minimum"])
        return _empty(ecg.fs, ecg.n_leads, leads, q, "sampling rate too low")
    raw, nan_frac = _fill_nans(np.asarray(ecg.signal, dtype=np.float64))
    x = resample(raw, ecg.fs, WORK_FS)
    fs = WORK_FS
    scale = ecg.fs / fs  # internal index -> record index
    duration = ecg.n_samples / ecg.fs
    if x.shape[0] < int(1.0 * fs):
        lq = lead_quality(x, fs, leads, nan_frac) if x.shape[0] > 16 else []
        q = record_quality(lq, duration_s=duration, n_beats=0)
        return _empty(ecg.fs, ecg.n_leads, leads, q, "record too short")

    hp = highpass(x, fs, 0.5)
    lq = lead_quality(x, fs, leads, nan_frac, hp=hp)
    usable = np.array([q.verdict != "unacceptable" for q in lq])
    line = powerline_frequency(hp, fs)
    filt = clean(x, fs, powerline_hz=line, hp=hp)
    if not usable.any():
        q = record_quality(lq, duration_s=duration, n_beats=0)
        return _empty(ecg.fs, ecg.n_leads, leads, q, "no usable lead")
    r0 = detect_rpeaks(filt, fs, usable=usable)
    q = record_quality(lq, duration_s=duration, n_beats=int(r0.size))
    if q.verdict == "unacceptable" or r0.size < 2:
        return _empty(ecg.fs, ecg.n_leads, leads, q,
                      "signal quality unacceptable: " + "; ".join(q.reasons))
    beats = classify_beats(filt[:, usable], r0, fs)
    r = beats.rpeaks
    rr = np.diff(r) / fs
    # rhythm regularity from the intervals between non-ventricular beats: a PVC and its
    # compensatory pause are not atrial fibrillation
    not_v = np.array([t != "V" for t in beats.types])
    rr_sv = rr[not_v[1:] & not_v[:-1]]
    # ...unless most beats are "V": then they are more likely aberrant conduction than ectopy
    rr_base = rr_sv if 2 * rr_sv.size >= rr.size else rr
    irregularity = rr_irregularity(rr_base)
    rr_cv = float(np.std(rr_base) / np.mean(rr_base)) if rr_base.size >= 2 else 0.0
    irr = irregularity > IRREGULAR_RR
    dom = r[beats.dominant]
    windows = beat_windows(filt, dom, fs, BEFORE_S, AFTER_S)
    med = median_of_windows(windows)
    ridx = round(BEFORE_S * fs)
    rr_s = float(np.mean(rr))
    # the single dominant beats in the median frame feed the P-wave reproducibility test
    indiv = windows[~np.isnan(windows).any(axis=(1, 2))]
    med_use = np.where(usable[:, None], med, 0.0)
    indiv = np.where(usable[None, :, None], indiv, 0.0)
    fid = delineate(med_use, ridx, fs, float(np.median(rr)), beats=indiv,
                    rhythm=(irregularity, rr_cv))

    meas = _measurements(fid, med_use, leads, fs, rr_s, rr.size, usable)
    rev = _reversal(med_use, leads, fid, fs)

    def back(i: int | None) -> int | None:
        return None if i is None else round(i * scale)

    per: list[dict[str, int | None]] = []
    if per_beat:
        every = beat_windows(filt, r, fs, BEFORE_S, AFTER_S)
        for k, w in enumerate(every):  # one delineation per beat, opt-in
            f = delineate(np.where(usable[:, None], np.nan_to_num(w), 0.0), ridx, fs,
                          float(np.median(rr)), rhythm=(irregularity, rr_cv))
            offset = int(r[k]) - ridx  # beat frame -> record samples (internal rate)
            inside = {key: (v + offset if v is not None and 0 <= v + offset < x.shape[0]
                            else None) for key, v in f.as_dict().items()}
            per.append({key: back(v) for key, v in inside.items()})

    med_out = med if abs(scale - 1) < 1e-9 else resample(med.T, fs, ecg.fs).T
    return Analysis(
        measurements=meas,
        quality=q,
        lead_reversal=rev,
        rpeaks=np.clip(np.round(r * scale).astype(np.int64), 0, ecg.n_samples - 1),
        beat_types=beats.types,
        median_beats=med_out,
        median_r_index=round(ridx * scale),
        fiducials={k: back(v) for k, v in fid.as_dict().items()},
        rr_irregular=irr,
        p_waves_present=fid.p_present,
        leads=leads,
        fs=ecg.fs,
        beat_fiducials=per,
        pacing_spikes=tuple(round(k * scale) for k in fid.pacing_spikes),
        p_amplitude_mv=fid.p_amplitude_mv,
        p_reproducibility=fid.p_reproducibility,
        rr_irregularity=irregularity,
        rr_cv=rr_cv,
    )


def _measurements(fid: Fiducials, med: np.ndarray, leads: tuple[str, ...], fs: float,
                  rr_s: float, n_rr: int, usable: np.ndarray) -> Measurements:
    ms = 1000.0 / fs
    out: dict[str, float | None] = {}
    why: dict[str, str] = {}
    rr_ms = rr_s * 1000.0
    out["rr_ms"] = rr_ms
    out["heart_rate_bpm"] = 60.0 / rr_s
    if fid.qrs_on is not None and fid.qrs_off is not None:
        out["qrs_ms"] = (fid.qrs_off - fid.qrs_on) * ms
    else:
        why["qrs_ms"] = fid.reasons.get("qrs", "QRS not delineated")
    if fid.qrs_on is not None and fid.t_off is not None:
        qt_ms = (fid.t_off - fid.qrs_on) * ms
        out["qt_ms"] = qt_ms
        out.update(qtc(qt_ms, rr_ms))
    else:
        r = fid.reasons.get("t", fid.reasons.get("qrs", "T wave end not found"))
        for k in ("qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms", "qtc_framingham_ms",
                  "qtc_hodges_ms"):
            why[k] = r
    if fid.p_present and fid.p_on is not None and fid.p_off is not None and fid.qrs_on is not None:
        out["p_duration_ms"] = (fid.p_off - fid.p_on) * ms
        out["pr_ms"] = (fid.qrs_on - fid.p_on) * ms
    else:
        why.update(dict.fromkeys(P_FIELDS, fid.reasons.get("p", "P wave not found")))

    names = list(leads)
    have = ("I" in names and "aVF" in names
            and usable[names.index("I")] and usable[names.index("aVF")])
    if not have:
        for k in ("p_axis_deg", "qrs_axis_deg", "t_axis_deg"):
            why[k] = "leads I and aVF are needed for the frontal axis"
    elif fid.qrs_on is not None and fid.qrs_off is not None:  # delineated together
        i_, f_ = med[names.index("I")], med[names.index("aVF")]
        pr = slice(max(fid.qrs_on - int(0.016 * fs), 0), max(fid.qrs_on - int(0.004 * fs), 1))
        bi, bf = float(np.median(i_[pr])), float(np.median(f_[pr]))
        windows: dict[str, tuple[int, int]] = {"qrs_axis_deg": (fid.qrs_on, fid.qrs_off)}
        if fid.t_off is not None and fid.qrs_off is not None:
            windows["t_axis_deg"] = (fid.qrs_off, fid.t_off)
        else:
            why["t_axis_deg"] = why.get("qt_ms", "T wave not delineated")
        if fid.p_present and fid.p_on is not None and fid.p_off is not None:
            windows["p_axis_deg"] = (fid.p_on, fid.p_off)
        for k, (a, b) in windows.items():
            ax = frontal_axis(net_area(i_, a, b, bi), net_area(f_, a, b, bf))
            if ax is None:
                why[k] = "no net deflection in I or aVF"
            out[k] = ax
    if n_rr < 1:
        why["heart_rate_bpm"] = why["rr_ms"] = "fewer than two beats"
        out["heart_rate_bpm"] = out["rr_ms"] = None
    clean_out = {k: (None if v is None else round(float(v), 1)) for k, v in out.items()}
    return Measurements(**clean_out, not_measured=why)


def _reversal(med: np.ndarray, leads: tuple[str, ...], fid: Fiducials, fs: float) -> LeadReversal:
    """Lead-reversal scores on the median beats at 100 Hz, the rate the models were fit at."""
    if fid.qrs_on is None or fid.qrs_off is None:
        return LeadReversal()
    k = fs / REVERSAL_FS
    med100 = resample(med.T, fs, REVERSAL_FS).T
    f100 = {key: (None if v is None else round(v / k)) for key, v in fid.as_dict().items()}
    rev = detect_reversal(med100, leads, f100, REVERSAL_FS)
    if fid.pacing_spikes:
        # paced depolarisation breaks the limb/chest relations the models learned from
        # non-paced ECGs: on LUDB they flagged 5 of 10 paced records and 3 of 130 others
        return rev.withdrawn(PACED_REVERSAL)
    return rev


def measure(ecg: ECG) -> Measurements:
    """The global measurements of one ECG (see ``analyze`` for the full result)."""
    return analyze(ecg).measurements

