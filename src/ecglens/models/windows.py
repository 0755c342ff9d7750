"""Sliding-window inference: the benchmark's evaluation (windows of the training crop length,
stride half a window, label scores aggregated by max). Age and sex outputs are averaged over
windows instead: they are estimates of one quantity, not detections of an event."""

from __future__ import annotations

import torch
from torch import nn

from ecglens.models.layout import OutputLayout


def window_starts(n_samples: int, window: int, stride: int) -> list[int]:
    """Start indices covering the whole record; the last window ends at the record's end."""
    if n_samples <= window:
        return [0]
    starts = list(range(0, n_samples - window + 1, stride))
    if starts[-1] != n_samples - window:
        starts.append(n_samples - window)
    return starts


def windowed_outputs(net: nn.Module, x: torch.Tensor, layout: OutputLayout, *, window: int,
                     stride: int) -> torch.Tensor:
    """(B, 12, T) -> (B, n_outputs): max over windows for labels, mean for age and sex.

    Inputs shorter than one window are zero-padded at the end (zero is the training mean after
    standardisation). Differentiable with respect to ``x``.
    """
    b, c, t = x.shape
    if t < window:
        x = torch.nn.functional.pad(x, (0, window - t))
        t = window
    starts = window_starts(t, window, stride)
    crops = torch.stack([x[:, :, s:s + window] for s in starts], dim=1)  # B, W, C, L
    out = net(crops.reshape(b * len(starts), c, window)).reshape(b, len(starts), -1)
    n_label = layout.slice("age").start
    labels = out[:, :, :n_label].amax(dim=1)
    pheno = out[:, :, n_label:].mean(dim=1)
    return torch.cat([labels, pheno], dim=1)
