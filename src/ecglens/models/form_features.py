"""Waveform measurements that define most PTB-XL *form* statements, as model features.

Low/high voltage, long QT/PR, abnormal Q waves, ST deviation, T-wave changes and ectopic beats
are defined by amplitudes, intervals and beat counts. ``summarise`` runs the measurement stage
(``ecglens.measure.analyze``) once and keeps its raw results in fixed-size arrays (so a data set
can be cached); ``feature_matrix`` turns stacked summaries into one feature row per record.

Most features read the median beat at fixed offsets from its R peak, so that they do not hinge
on the exact delineation; intervals and a few fiducial-anchored amplitudes add what the cart
would print. Everything is computed at the model's input rate (100 Hz) on the same 10 s the
networks see, so training (PTB-XL arrays) and inference (``Predictor``) measure the same signal.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ecglens.measure.analysis import analyze
from ecglens.measure.results import Measurements
from ecglens.record import STANDARD_LEADS, make_ecg

__all__ = [
    "FEATURE_FS",
    "FEATURE_VERSION",
    "MEASUREMENT_FIELDS",
    "feature_matrix",
    "feature_names",
    "summarise",
    "summarise_batch",
]

FEATURE_VERSION = 1
FEATURE_FS = 100.0
MEDIAN_LEN = 120  # 0.45 s before R + 0.75 s after, at 100 Hz (measure.analysis window)
R_INDEX = 45
MEASUREMENT_FIELDS: tuple[str, ...] = tuple(
    f for f in Measurements.model_fields if f != "not_measured")
FIDUCIALS: tuple[str, ...] = ("p_on", "p_off", "qrs_on", "qrs_off", "t_off")
RHYTHM_FIELDS: tuple[str, ...] = (
    "n_beats", "n_v", "n_s", "n_q", "rr_irregular", "p_present", "rr_cv", "rr_min_rel",
    "rr_max_rel", "rr_succ_max", "quality")
_VERDICT = {"acceptable": 0.0, "limited": 1.0, "unacceptable": 2.0}
# median-beat samples read directly, ms from R: QRS, ST and T (10 ms = 1 sample at 100 Hz)
_QRS_MS = tuple(range(-60, 70, 10))
_ST_T_MS = tuple(range(80, 480, 20))


def summarise(signal_mv: np.ndarray, fs: float = FEATURE_FS) -> dict[str, np.ndarray]:
    """One record (T, 12) in mV, standard lead order -> fixed-size arrays of its analysis."""
    ecg = make_ecg(np.asarray(signal_mv, dtype=np.float64), fs, list(STANDARD_LEADS))
    a = analyze(ecg)
    m = a.measurements
    meas = np.array([np.nan if getattr(m, f) is None else float(getattr(m, f))
                     for f in MEASUREMENT_FIELDS], dtype=np.float32)
    types = a.beat_types
    r = np.asarray(a.rpeaks, dtype=float)
    rr = np.diff(r) / fs if r.size > 1 else np.zeros(0)
    if rr.size >= 2:
        med_rr = float(np.median(rr))
        rr_stats = [float(np.std(rr) / np.mean(rr)), float(rr.min() / med_rr),
                    float(rr.max() / med_rr), float(np.max(np.abs(np.diff(rr))) / med_rr)]
    else:
        rr_stats = [np.nan] * 4
    rhythm = np.array([len(types), types.count("V"), types.count("S"), types.count("Q"),
                       float(a.rr_irregular), float(a.p_waves_present), *rr_stats,
                       _VERDICT[a.quality.verdict]], dtype=np.float32)
    fid = np.array([-1 if a.fiducials.get(k) is None else a.fiducials[k] for k in FIDUCIALS]
                   + [a.median_r_index], dtype=np.int16)
    med = np.full((12, MEDIAN_LEN), np.nan, dtype=np.float32)
    mb = np.asarray(a.median_beats)
    if mb.ndim == 2 and mb.shape[1] and a.median_r_index:
        # re-centre so that R sits at R_INDEX whatever the analysis window was
        shift = R_INDEX - a.median_r_index
        lo, hi = max(0, -shift), min(mb.shape[1], MEDIAN_LEN - shift)
        med[:mb.shape[0], lo + shift:hi + shift] = mb[:, lo:hi]
        fid = np.where(fid >= 0, fid + shift, fid).astype(np.int16)
    return {"meas": meas, "rhythm": rhythm, "fid": fid, "med": med}


def summarise_batch(x_mv: np.ndarray, fs: float = FEATURE_FS) -> dict[str, np.ndarray]:
    """(B, 12, T) mV -> stacked summaries (each array with a leading batch axis)."""
    rows = [summarise(rec.T, fs) for rec in np.asarray(x_mv)]
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def _at(med: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """med (n, 12, L) sampled at per-record indices idx (n,), NaN where idx is missing."""
    ok = (idx >= 0) & (idx < med.shape[2])
    v = np.take_along_axis(med, np.clip(idx, 0, med.shape[2] - 1)[:, None, None]
                           .repeat(12, axis=1), axis=2)[:, :, 0]
    return np.where(ok[:, None], v, np.nan)


def feature_names() -> list[str]:
    names = [f"m_{f}" for f in MEASUREMENT_FIELDS] + [f"r_{f}" for f in RHYTHM_FIELDS]
    names += ["axis_qrs_sin", "axis_qrs_cos", "axis_t_sin", "axis_t_cos", "qrs_t_angle"]
    per_lead = ([f"s{ms:+d}" for ms in _QRS_MS + _ST_T_MS]
                + ["rmax", "qsmin", "qrs_p2p", "qrs_area", "t_max", "t_min", "t_area",
                   "st_j", "st_j40", "st_j60", "p_amp", "q_amp"])
    names += [f"{lead}_{n}" for lead in STANDARD_LEADS for n in per_lead]
    names += ["limb_p2p_max", "chest_p2p_max", "limb_p2p_min", "chest_p2p_min", "sokolow",
              "cornell", "st_dep_max", "st_elev_max", "t_neg_count", "t_flat_count",
              "qrs_p2p_sum"]
    return names


def feature_matrix(s: dict[str, np.ndarray]) -> np.ndarray:
    """Stacked summaries -> (n, n_features) float32 (NaN where unmeasured; trees handle it)."""
    # reductions over unmeasured (all-NaN) leads or windows give NaN by design: no warnings
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return _feature_matrix(s)


def _feature_matrix(s: dict[str, np.ndarray]) -> np.ndarray:
    meas = s["meas"].astype(np.float64)
    rhythm = s["rhythm"].astype(np.float64)
    fid = s["fid"].astype(np.int64)
    med = s["med"].astype(np.float64)
    n = med.shape[0]
    # baseline: the PR segment's level (10-40 ms before QRS onset; fixed offsets when unknown)
    qrs_on = np.where(fid[:, 2] >= 0, fid[:, 2], R_INDEX - 5)
    pr = np.stack([_at(med, qrs_on - k) for k in (1, 2, 3)], axis=2)
    base = np.nanmedian(pr, axis=2)
    base = np.where(np.isfinite(base), base, 0.0)
    m = med - base[:, :, None]

    def ms(t: int) -> int:
        return R_INDEX + round(t / 10)

    cols = [meas, rhythm]
    ang = {}
    for k, f in (("qrs", "qrs_axis_deg"), ("t", "t_axis_deg")):
        a = np.deg2rad(meas[:, MEASUREMENT_FIELDS.index(f)])
        ang[k] = a
        cols.append(np.stack([np.sin(a), np.cos(a)], axis=1))
    d = np.rad2deg(np.abs(np.angle(np.exp(1j * (ang["qrs"] - ang["t"])))))
    cols.append(d[:, None])

    qrs_off = np.where(fid[:, 3] >= 0, fid[:, 3], R_INDEX + 5)
    t_off = np.where(fid[:, 4] >= 0, fid[:, 4], np.minimum(qrs_off + 30, MEDIAN_LEN - 1))
    idx = np.arange(MEDIAN_LEN)[None, :]
    qrs_win = (idx >= np.minimum(qrs_on, R_INDEX - 2)[:, None]) & \
              (idx <= np.maximum(qrs_off, R_INDEX + 2)[:, None])
    t_win = (idx >= (qrs_off + 8)[:, None]) & (idx <= t_off[:, None])
    q_win = (idx >= qrs_on[:, None]) & (idx <= R_INDEX)
    p_win = (idx >= np.clip(fid[:, 0], 0, None)[:, None]) & (idx <= fid[:, 1][:, None]) \
        & (fid[:, 0] >= 0)[:, None]

    def masked(fn: Callable[..., np.ndarray], w: np.ndarray) -> np.ndarray:
        return fn(np.where(w[:, None, :], m, np.nan), axis=2)

    fixed = np.stack([m[:, :, ms(t)] for t in _QRS_MS + _ST_T_MS], axis=2)
    rmax, qsmin = masked(np.nanmax, qrs_win), masked(np.nanmin, qrs_win)
    qrs_area = masked(np.nansum, qrs_win) * 0.01
    t_max, t_min = masked(np.nanmax, t_win), masked(np.nanmin, t_win)
    t_area = masked(np.nansum, t_win) * 0.01
    st = [_at(m, qrs_off + k) for k in (0, 4, 6)]
    p_amp = masked(np.nanmax, p_win)
    q_amp = masked(np.nanmin, q_win)
    per = np.concatenate([fixed, np.stack([rmax, qsmin, rmax - qsmin, qrs_area, t_max, t_min,
                                           t_area, *st, p_amp, q_amp], axis=2)], axis=2)
    cols.append(per.reshape(n, -1))

    p2p = rmax - qsmin
    li = [STANDARD_LEADS.index(x) for x in ("I", "II", "III", "aVR", "aVL", "aVF")]
    ch = [STANDARD_LEADS.index(f"V{i}") for i in range(1, 7)]
    v1, v5, v6 = (STANDARD_LEADS.index(x) for x in ("V1", "V5", "V6"))
    avl, v3 = STANDARD_LEADS.index("aVL"), STANDARD_LEADS.index("V3")
    glob = [np.nanmax(p2p[:, li], axis=1), np.nanmax(p2p[:, ch], axis=1),
            np.nanmin(p2p[:, li], axis=1), np.nanmin(p2p[:, ch], axis=1),
            -qsmin[:, v1] + np.maximum(rmax[:, v5], rmax[:, v6]),  # Sokolow-Lyon
            rmax[:, avl] - qsmin[:, v3],  # Cornell (R aVL + S V3)
            np.nanmin(st[1], axis=1), np.nanmax(st[1], axis=1),
            (t_min < -0.1).sum(axis=1) * 1.0,
            (np.maximum(np.abs(t_max), np.abs(t_min)) < 0.1).sum(axis=1) * 1.0,
            np.nansum(p2p, axis=1)]
    cols.append(np.stack(glob, axis=1))
    out = np.concatenate([c if c.ndim == 2 else c[:, None] for c in cols], axis=1)
    return out.astype(np.float32)
