"""Scores for multi-label ECG classifiers: AUC (with bootstrap CIs), Fmax, calibration error.

Plain NumPy/SciPy so that evaluation needs no scikit-learn. AUC is the Mann–Whitney statistic
with mid-ranks for ties (equal to ``sklearn.metrics.roc_auc_score``).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of one label; NaN when only one class is present."""
    y = np.asarray(y).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def per_class_auc(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return np.array([auc(y[:, j], scores[:, j]) for j in range(y.shape[1])])


def macro_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Mean AUC over labels that have both classes (the benchmark's ``average='macro'``)."""
    return float(np.nanmean(per_class_auc(y, scores)))


def bootstrap_ci(
    y: np.ndarray, scores: np.ndarray, *, n_boot: int = 200, seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile CI of the macro AUC over records resampled with replacement.

    As in the benchmark, resamples in which some label has no positive are drawn again.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    stats: list[float] = []
    tries = 0
    while len(stats) < n_boot and tries < 20 * n_boot:
        tries += 1
        idx = rng.integers(0, n, n)
        if y[idx].sum(axis=0).min() == 0:
            continue
        stats.append(macro_auc(y[idx], scores[idx]))
    if not stats:
        return float("nan"), float("nan")
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def fmax(y: np.ndarray, probs: np.ndarray, *, n_thresholds: int = 101) -> float:
    """Protein-function-style Fmax: the best, over one global threshold, of the F1 computed from
    precision averaged over records with at least one prediction and recall over all records."""
    best = 0.0
    yb = y.astype(bool)
    for t in np.linspace(0.0, 1.0, n_thresholds):
        pred = probs >= t
        has_pred = pred.any(axis=1)
        if not has_pred.any():
            continue
        tp = (pred & yb).sum(axis=1)
        prec = (tp[has_pred] / pred[has_pred].sum(axis=1)).mean()
        pos = yb.sum(axis=1)
        rec = (tp[pos > 0] / pos[pos > 0]).mean()
        if prec + rec > 0:
            best = max(best, 2 * prec * rec / (prec + rec))
    return float(best)


def ece(y: np.ndarray, probs: np.ndarray, *, n_bins: int = 10) -> float:
    """Expected calibration error, equal-width bins, averaged (macro) over labels."""
    y = np.asarray(y, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    if y.ndim == 1:
        y, probs = y[:, None], probs[:, None]
    errs = []
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for j in range(y.shape[1]):
        p, t = probs[:, j], y[:, j]
        bins = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
        e = 0.0
        for b in range(n_bins):
            sel = bins == b
            if sel.any():
                e += sel.mean() * abs(p[sel].mean() - t[sel].mean())
        errs.append(e)
    return float(np.mean(errs))
