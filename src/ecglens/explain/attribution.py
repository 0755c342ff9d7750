"""Attribution of a finding's logit to the input samples (leads × time).

Integrated gradients (Sundararajan et al. 2017) with a flat-line baseline — 0 mV, an ECG with
no electrical activity — is the default: it satisfies completeness (attributions sum to
logit(x) − logit(baseline)) and passes the model-randomisation check of Adebayo et al. 2018
(see benchmarks/explain_sanity.py). Gradient × input is kept as the cheap alternative.
We explain the logit rather than the calibrated probability: the sigmoid saturates, and a
confident finding would otherwise get vanishing gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
from captum.attr import InputXGradient, IntegratedGradients

Method = Literal["integrated_gradients", "gradient_x_input"]
METHODS: tuple[Method, ...] = ("integrated_gradients", "gradient_x_input")

LogitFn = Callable[[torch.Tensor], torch.Tensor]


def attribute(
    forward: LogitFn,
    x: torch.Tensor,
    targets: Sequence[int],
    *,
    method: Method = "integrated_gradients",
    n_steps: int = 16,
) -> np.ndarray:
    """Attributions of each target output of ``forward`` for one input.

    Args:
        forward: maps a batch (B, leads, T) to logits (B, n_labels); must be differentiable.
        x: one preprocessed input, shape (1, leads, T).
        targets: output indices to explain; all are computed in one batched pass.
        method: "integrated_gradients" or "gradient_x_input".
        n_steps: Riemann/Gauss–Legendre steps for integrated gradients.

    Returns:
        float32 array (len(targets), leads, T); positive values push the logit up.
    """
    if x.ndim != 3 or x.shape[0] != 1:
        raise ValueError(f"attribute() explains one input of shape (1, leads, T), got {tuple(x.shape)}")
    if not targets:
        return np.zeros((0, *x.shape[1:]), dtype=np.float32)
    batch = x.detach().repeat(len(targets), 1, 1).requires_grad_(True)
    target = list(map(int, targets))
    with torch.enable_grad():
        if method == "integrated_gradients":
            ig = IntegratedGradients(forward)
            attr = ig.attribute(batch, baselines=torch.zeros_like(batch), target=target,
                                n_steps=n_steps, method="gausslegendre")
        elif method == "gradient_x_input":
            attr = InputXGradient(forward).attribute(batch, target=target)
        else:
            raise ValueError(f"unknown attribution method {method!r}; choose from {METHODS}")
    return attr.detach().cpu().numpy().astype(np.float32)
