"""Pieces shared by the 1-D architectures: the benchmark's classification head."""

from __future__ import annotations

import torch
from torch import nn


class ConcatPool1d(nn.Module):
    """Average and max pooling over time, concatenated (fastai ``AdaptiveConcatPool1d``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)


def head1d(n_features: int, num_classes: int, *, hidden: int = 512, dropout: float = 0.5
           ) -> nn.Sequential:
    """Concat pooling -> BN -> dropout/2 -> linear -> ReLU -> BN -> dropout -> linear, as
    ``create_head1d`` in the PTB-XL benchmark."""
    return nn.Sequential(
        ConcatPool1d(),
        nn.BatchNorm1d(2 * n_features),
        nn.Dropout(dropout / 2),
        nn.Linear(2 * n_features, hidden),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(hidden),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


def init_cnn(module: nn.Module) -> None:
    """Kaiming-normal conv/linear weights and zero biases (fastai ``init_cnn``)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
