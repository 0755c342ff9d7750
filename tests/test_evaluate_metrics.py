"""Metrics and calibration against brute-force definitions on controlled inputs."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ecglens.evaluate.calibration import (
    f1_threshold,
    fit_bias_temperature,
    fit_temperature,
    specificity_threshold,
)
from ecglens.evaluate.metrics import auc, bootstrap_ci, ece, fmax, macro_auc


def _pairwise_auc(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y == 1], s[y == 0]
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def test_auc_matches_pairwise_definition_with_ties() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # rounding makes ties
    assert abs(auc(y, s) - _pairwise_auc(y, s)) < 1e-12
    assert np.isnan(auc(np.ones(5), np.arange(5.0)))


def test_macro_auc_and_ci_bracket_the_point() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, (300, 3))
    s = y + rng.normal(size=(300, 3))
    point = macro_auc(y, s)
    lo, hi = bootstrap_ci(y, s, n_boot=100)
    assert lo < point < hi and 0.7 < point < 0.85


def test_ece_zero_for_calibrated_and_large_for_overconfident() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(size=20000)
    y = rng.uniform(size=20000) < p
    assert ece(y, p) < 0.02
    assert ece(y, np.where(p > 0.5, 1.0, 0.0)) > 0.2


def test_temperature_recovers_the_true_scale() -> None:
    rng = np.random.default_rng(4)
    z = rng.normal(scale=3, size=(20000, 2))
    y = (rng.uniform(size=z.shape) < expit(z)).astype(float)
    assert abs(fit_temperature(2.5 * z, y) - 2.5) < 0.15
    bias, t = fit_bias_temperature(2.0 * z - np.array([1.0, -2.0]), y)
    assert abs(t - 2.0) < 0.2
    assert np.allclose(bias / t, [0.5, -1.0], atol=0.1)


def test_thresholds() -> None:
    y = np.array([0, 0, 0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    t = f1_threshold(y, p)
    assert 0.6 < t < 0.7  # separates perfectly
    ts = specificity_threshold(y, p, specificity=0.75)
    assert ((p[y == 0] < ts).mean()) >= 0.75


def test_fmax_perfect_predictions() -> None:
    y = np.eye(4, dtype=int)
    assert fmax(y, y.astype(float)) == 1.0
