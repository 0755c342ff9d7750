"""Electrode (lead) reversal detection from the median beats.

Swapped limb electrodes turn the six limb leads into a signed permutation of themselves
(LA/RA: I → −I, II ↔ III, aVR ↔ aVL) while the precordial leads, referred to the Wilson terminal,
stay as they were. The classic signs follow: in LA/RA reversal P, QRS and T are negative in I and
positive in aVR, and lead I no longer resembles V5/V6. Precordial swaps break the R-wave
progression and the similarity of neighbouring chest leads.

The features encode exactly these relations (net P/QRS/T areas of the limb leads, correlation of
each limb lead with V1, V5, V6; for each adjacent chest pair the change in neighbour similarity
and R/S progression if the pair were swapped back). Two logistic models weigh them: a softmax
over {none, LA/RA, LA/LL, RA/LL} and a binary model for adjacent chest-lead pairs. They were fit
on PTB-XL folds 1–8 with simulated swaps (training/train_measure_reversal.py). LA/LL, which
leaves a plausible ECG and which the linear score finds poorly, is scored by boosted trees on the
same limb features (training/train_measure_reversal_lall.py), evaluated with numpy by
``ecglens.trees``. The decision thresholds share one specificity, set on other folds 1–8 records
so that 1 % of correctly wired ECGs get a flag from any of the eight detectors
(training/calibrate_measure_reversal.py); fold 9 is the evaluation.

The trained parameters are data files in ``ecglens/weights/measure/`` (``reversal-linear.npz``,
``reversal-lall-trees.npz``, ``reversal-thresholds.json``), each written by its trainer and
checked against its recorded SHA-256 (``artefacts``) when first used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

from ecglens.exceptions import ModelError
from ecglens.measure.artefacts import read_json, read_npz
from ecglens.measure.results import LeadReversal
from ecglens.record import STANDARD_LEADS
from ecglens.trees import Forest, forest_from_arrays

__all__ = [
    "CHEST_PAIRS",
    "LIMB_SWAPS",
    "Calibration",
    "calibration",
    "chest_features",
    "decision_thresholds",
    "detect_reversal",
    "false_alarm_rate",
    "fit_chest_to_limb",
    "limb_features",
    "reversal_scores",
    "swap_leads",
]

LIMB_SWAPS = ("LA/RA", "LA/LL", "RA/LL")
CHEST_PAIRS = ("V1/V2", "V2/V3", "V3/V4", "V4/V5", "V5/V6")
_I = {n: k for k, n in enumerate(STANDARD_LEADS)}

# (source lead, sign) for each output lead, in STANDARD_LEADS order
_PERM: dict[str, list[tuple[str, float]]] = {
    "LA/RA": [("I", -1), ("III", 1), ("II", 1), ("aVL", 1), ("aVR", 1), ("aVF", 1)],
    "LA/LL": [("II", 1), ("I", 1), ("III", -1), ("aVR", 1), ("aVF", 1), ("aVL", 1)],
    "RA/LL": [("III", -1), ("II", -1), ("I", -1), ("aVF", 1), ("aVL", 1), ("aVR", 1)],
}


def swap_leads(x: np.ndarray, swap: str) -> np.ndarray:
    """The 12 leads (leads first: 12 × samples) as they would be recorded with ``swap``."""
    y = x.copy()
    if swap in _PERM:
        for k, (src, sign) in enumerate(_PERM[swap]):
            y[k] = sign * x[_I[src]]
    elif swap in CHEST_PAIRS:
        a, b = (_I[v] for v in swap.split("/"))
        y[a], y[b] = x[b], x[a]
    else:
        raise KeyError(f"unknown lead swap {swap!r}; known: {LIMB_SWAPS + CHEST_PAIRS}")
    return y


def _windows(fid: dict[str, int | None], fs: float, n: int) -> dict[str, tuple[int, int]]:
    qon, qoff = fid["qrs_on"], fid["qrs_off"]
    assert qon is not None and qoff is not None  # checked by the callers
    w = {"qrs": (qon, max(qoff, qon + 1))}
    toff = fid.get("t_off") or min(qoff + int(0.3 * fs), n)
    w["t"] = (qoff, max(toff, qoff + 1))
    p_on, p_off = fid.get("p_on"), fid.get("p_off")
    if p_on is not None and p_off is not None:
        w["p"] = (int(p_on), max(int(p_off), int(p_on) + 1))
    w["qrst"] = (qon, w["t"][1])
    return w


def _qrs_on(fid: dict[str, int | None]) -> int:
    qon = fid["qrs_on"]
    assert qon is not None  # checked by the callers
    return int(qon)


def _baseline(med: np.ndarray, qon: int, fs: float) -> np.ndarray:
    a = max(qon - max(int(0.016 * fs), 1), 0)
    b = max(qon - max(int(0.004 * fs), 1), a + 1)
    return np.median(med[:, a:b], axis=1, keepdims=True)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float((a @ b) / (np.sqrt((a @ a) * (b @ b)) + 1e-12))


def fit_chest_to_limb(meds: list[np.ndarray], fids: list[dict[str, int | None]],
                      fs: float) -> np.ndarray:
    """Least-squares map (7 × 2) from V1–V6 (+ intercept) to leads I and II over QRS-T samples.

    Fit on unswapped records. Limb electrodes do not enter the chest leads' Wilson reference
    in a way a swap changes, so the chest leads predict what I and II *should* look like.
    """
    xs, ys = [], []
    for med, fid in zip(meds, fids, strict=True):
        x = med - _baseline(med, _qrs_on(fid), fs)
        a, b = _windows(fid, fs, x.shape[1])["qrst"]
        xs.append(np.c_[x[6:12, a:b].T, np.ones(b - a)])
        ys.append(x[:2, a:b].T)
    coef, *_ = np.linalg.lstsq(np.concatenate(xs), np.concatenate(ys), rcond=None)
    return coef


def _reconstruction(x: np.ndarray, a: int, b: int, coef: np.ndarray) -> list[float]:
    """Agreement of I and II, un-swapped under each hypothesis, with their chest-lead prediction."""
    pred = (np.c_[x[6:12, a:b].T, np.ones(b - a)] @ coef).T
    out: list[float] = []
    for h in ("none",) + LIMB_SWAPS:
        y = x if h == "none" else swap_leads(x, h)  # every limb swap is its own inverse
        out += [_corr(y[0, a:b], pred[0]), _corr(y[1, a:b], pred[1])]
    return out


def limb_features(med: np.ndarray, fid: dict[str, int | None], fs: float,
                  coef: np.ndarray | None = None) -> np.ndarray:
    """44 features of the 12 standard leads' median beats (12 × samples, mV)."""
    if coef is None:
        coef = _linear()["CHEST_TO_LIMB"]
    x = med - _baseline(med, _qrs_on(fid), fs)
    w = _windows(fid, fs, x.shape[1])
    feats: list[float] = []
    for wave in ("p", "qrs", "t"):
        if wave not in w:
            feats += [0.0] * 6
            continue
        a, b = w[wave]
        area = x[:6, a:b].sum(axis=1) / fs
        feats += list(area / (np.abs(area).sum() + 1e-9))
    a, b = w["qrst"]
    for ref in ("V1", "V5", "V6"):
        r = x[_I[ref], a:b]
        feats += [_corr(x[k, a:b], r) for k in range(6)]
    feats += _reconstruction(x, a, b, coef)
    return np.asarray(feats)


def chest_features(med: np.ndarray, fid: dict[str, int | None], fs: float) -> np.ndarray:
    """(5 pairs × 10) features, one row per adjacent chest-lead pair V1/V2 … V5/V6."""
    x = med - _baseline(med, _qrs_on(fid), fs)
    w = _windows(fid, fs, x.shape[1])
    v = x[6:12]
    a, b = w["qrst"]
    seg = v[:, a:b]
    qa, qb = w["qrs"]
    ta, tb = w["t"]
    scale = np.abs(v[:, qa:qb]).max() + 1e-9
    area = v[:, qa:qb].sum(axis=1) / fs
    area = area / (np.abs(area).sum() + 1e-9)
    r_amp = v[:, qa:qb].max(axis=1) / scale
    s_amp = -v[:, qa:qb].min(axis=1) / scale
    t_area = v[:, ta:tb].sum(axis=1) / fs
    t_area = t_area / (np.abs(t_area).sum() + 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.corrcoef(seg) if seg.shape[1] > 2 else np.zeros((6, 6))
    c = np.nan_to_num(c)
    rows = []
    for k in range(5):
        cur = (c[k - 1, k] if k > 0 else 0.0) + (c[k + 1, k + 2] if k < 4 else 0.0)
        swp = (c[k - 1, k + 1] if k > 0 else 0.0) + (c[k, k + 2] if k < 4 else 0.0)
        pos = [0.0] * 5
        pos[k] = 1.0
        rows.append([cur - swp, area[k + 1] - area[k], r_amp[k + 1] - r_amp[k],
                     s_amp[k] - s_amp[k + 1], t_area[k + 1] - t_area[k]] + pos)
    return np.asarray(rows)


_LINEAR = ("CHEST_TO_LIMB", "LIMB_MEAN", "LIMB_STD", "LIMB_W", "LIMB_B", "CHEST_MEAN",
           "CHEST_STD", "CHEST_W", "CHEST_B")


@cache
def _linear() -> dict[str, np.ndarray]:
    """The limb softmax and chest-pair logistic weights (train_measure_reversal.py)."""
    a = read_npz("reversal-linear.npz")
    if missing := [k for k in _LINEAR if k not in a]:
        raise ModelError(f"weights/measure/reversal-linear.npz lacks {missing}")
    for v in a.values():
        v.setflags(write=False)  # shared by every caller
    return a


@cache
def _lall_forest() -> Forest:
    """The LA/LL boosted trees (train_measure_reversal_lall.py)."""
    return forest_from_arrays(read_npz("reversal-lall-trees.npz"))


@dataclass(frozen=True)
class Calibration:
    """The decision thresholds and the calibration records' score tails they were read from."""

    n_records: int  # correctly wired PTB-XL folds 1–8 records no reversal model was fit on
    thresholds: dict[str, float]
    tails: dict[str, tuple[float, ...]]  # each detector's highest scores on them, descending


@cache
def calibration() -> Calibration:
    """The shipped calibration (calibrate_measure_reversal.py, ``reversal-thresholds.json``)."""
    doc = read_json("reversal-thresholds.json")
    try:
        cal = Calibration(n_records=int(doc["n_records"]),
                          thresholds={k: float(v) for k, v in doc["thresholds"].items()},
                          tails={k: tuple(float(x) for x in v) for k, v in doc["tails"].items()})
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelError(f"weights/measure/reversal-thresholds.json: malformed ({e!r})") from e
    tested = set(LIMB_SWAPS + CHEST_PAIRS)
    if set(cal.thresholds) != tested or set(cal.tails) != tested:
        raise ModelError("weights/measure/reversal-thresholds.json: not one threshold and one "
                         f"tail per tested swap ({LIMB_SWAPS + CHEST_PAIRS})")
    return cal


def decision_thresholds() -> dict[str, float]:
    """The score each swap must reach to be reported (set on PTB-XL folds 1–8 records no model
    was fit on, for a joint false-alarm rate: see ``calibration``)."""
    return dict(calibration().thresholds)


def false_alarm_rate(swap: str, score: float) -> float:
    """The fraction of correctly wired ECGs (the calibration records) whose score for ``swap``
    is at least ``score``; read where it matters, above the decision threshold."""
    cal = calibration()
    tail = cal.tails[swap]
    if score < tail[-1]:
        raise ValueError(f"{swap} score {score} is below the stored tail ({tail[-1]})")
    return sum(v >= score for v in tail) / cal.n_records


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def reversal_scores(med: np.ndarray, fid: dict[str, int | None], fs: float) -> dict[str, float]:
    """The score of every tested swap for 12 standard leads' median beats (leads × samples)."""
    wts = _linear()
    raw = limb_features(med, fid, fs)
    p = _softmax(wts["LIMB_W"] @ ((raw - wts["LIMB_MEAN"]) / wts["LIMB_STD"]) + wts["LIMB_B"])
    scores = {name: float(p[k + 1]) for k, name in enumerate(LIMB_SWAPS)}
    # LA/LL: boosted trees on the same features (see their trainer)
    lall = float(_lall_forest().raw(raw[None])[0])
    scores["LA/LL"] = float(1.0 / (1.0 + np.exp(-lall)))
    z = ((chest_features(med, fid, fs) - wts["CHEST_MEAN"]) / wts["CHEST_STD"] @ wts["CHEST_W"]
         + float(wts["CHEST_B"]))
    for k, name in enumerate(CHEST_PAIRS):
        scores[name] = float(1.0 / (1.0 + np.exp(-z[k])))
    return scores


class _Fiducials(Protocol):
    """The measurement stage's fiducials (``delineate.Fiducials``), in samples."""

    def as_dict(self) -> dict[str, int | None]: ...


def detect_reversal(
    med: np.ndarray, leads: tuple[str, ...], fid: _Fiducials | Mapping[str, int | None], fs: float
) -> LeadReversal:
    """Score every tested swap; name the most likely one if it passes its threshold."""
    f = dict(fid) if isinstance(fid, Mapping) else fid.as_dict()
    if tuple(leads) != STANDARD_LEADS or f.get("qrs_on") is None or f.get("qrs_off") is None:
        return LeadReversal()
    if not np.isfinite(med).all():
        return LeadReversal()
    scores = reversal_scores(med, f, fs)
    thresholds = decision_thresholds()
    passed = {k: s for k, s in scores.items() if s >= thresholds[k]}
    if not passed:
        return LeadReversal(scores={k: round(v, 4) for k, v in scores.items()})
    best = max(passed, key=lambda k: passed[k])
    return LeadReversal(suspected=best, confidence=round(passed[best], 4),
                        false_alarm_rate=false_alarm_rate(best, passed[best]),
                        scores={k: round(v, 4) for k, v in scores.items()})
