"""Temperature scaling and per-label decision thresholds, fitted on the validation fold.

Guo et al., "On calibration of modern neural networks", ICML 2017: one temperature per task,
``p = sigmoid(logit / T)``, chosen to minimise the validation negative log-likelihood.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit


def _nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    z = logits / t
    # log(1 + e^z) - y z, stable
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature in [0.05, 20] minimising binary NLL over every label of the task."""
    res = minimize_scalar(lambda log_t: _nll(logits, y, float(np.exp(log_t))),
                          bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


def f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Probability threshold that maximises F1 for one label (0.5 if the label is absent)."""
    if y.sum() == 0:
        return 0.5
    order = np.argsort(-p)
    ps, ys = p[order], y[order].astype(np.float64)
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    f1 = 2 * tp / (k + ys.sum())
    # only cut between distinct scores
    distinct = np.r_[ps[1:] < ps[:-1], True]
    best = int(np.argmax(np.where(distinct, f1, -1)))
    nxt = ps[best + 1] if best + 1 < len(ps) else 0.0
    return float((ps[best] + nxt) / 2)


def specificity_threshold(y: np.ndarray, p: np.ndarray, *, specificity: float = 0.95) -> float:
    """Lowest threshold whose specificity on the validation fold is at least ``specificity``."""
    neg = np.sort(p[y == 0])
    if neg.size == 0:
        return 0.5
    k = int(np.ceil(specificity * neg.size)) - 1
    return float(np.nextafter(neg[min(k, neg.size - 1)], 1.0))


def probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    return expit(logits / temperature)


def fit_bias_temperature(logits: np.ndarray, y: np.ndarray, *, l2: float = 1e-3
                         ) -> tuple[np.ndarray, float]:
    """Per-label logit offsets ``c`` and one temperature ``T`` minimising the NLL of
    ``sigmoid((z + c) / T)``.

    Max-aggregation over windows shifts every label's score upwards by a label-dependent
    amount, which one temperature cannot undo; the offsets do (a small ridge keeps offsets of
    labels with few positives near zero). Ranking within a label, hence AUC, is unchanged.
    """
    import torch

    z = torch.as_tensor(logits, dtype=torch.float64)
    t = torch.as_tensor(y, dtype=torch.float64)
    c = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([c, log_t], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            (z + c) / log_t.exp(), t) + l2 * (c ** 2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    return c.detach().numpy(), float(log_t.detach().exp().clamp(0.05, 20.0))


def rare_label_threshold(y: np.ndarray, p: np.ndarray, *, min_positives: int = 5) -> float:
    """F1-optimal threshold, except for labels with fewer than ``min_positives`` positives on
    the validation fold, where an F1 optimum is noise: then the 99 %-specificity point."""
    if y.sum() < min_positives:
        return specificity_threshold(y, p, specificity=0.99)
    return f1_threshold(y, p)
