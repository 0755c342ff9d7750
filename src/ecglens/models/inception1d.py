"""inception1d: InceptionTime (Ismail Fawaz et al. 2020) as configured in the PTB-XL benchmark:
depth 6, 32 filters per branch, bottleneck 32, kernels 39/19/9, a residual shortcut every three
modules."""

from __future__ import annotations

from typing import TypedDict, Unpack

import torch
from torch import nn

from ecglens.models.layers import head1d, init_cnn
from ecglens.models.registry import register_model


def _conv(ni: int, nf: int, ks: int) -> nn.Conv1d:
    return nn.Conv1d(ni, nf, ks, padding=(ks - 1) // 2, bias=False)


class _InceptionModule(nn.Module):
    def __init__(self, ni: int, nb_filters: int, kss: list[int], bottleneck: int) -> None:
        super().__init__()
        self.bottleneck = _conv(ni, bottleneck, 1)
        self.convs = nn.ModuleList([_conv(bottleneck, nb_filters, ks) for ks in kss])
        self.pool_branch = nn.Sequential(nn.MaxPool1d(3, stride=1, padding=1),
                                         _conv(ni, nb_filters, 1))
        self.bn_relu = nn.Sequential(nn.BatchNorm1d((len(kss) + 1) * nb_filters), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bottleneck(x)
        return self.bn_relu(torch.cat([c(b) for c in self.convs] + [self.pool_branch(x)], dim=1))


class _Shortcut(nn.Module):
    def __init__(self, ni: int, nf: int) -> None:
        super().__init__()
        self.conv = _conv(ni, nf, 1)
        self.bn = nn.BatchNorm1d(nf)

    def forward(self, inp: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return torch.relu(out + self.bn(self.conv(inp)))


class Inception1dOptions(TypedDict, total=False):
    """Architecture options of a model card (``config.model_kwargs``)."""

    kernel_size: int
    depth: int
    nb_filters: int
    bottleneck: int
    dropout: float


class Inception1d(nn.Module):
    def __init__(self, *, num_classes: int, input_channels: int = 12, kernel_size: int = 40,
                 depth: int = 6, nb_filters: int = 32, bottleneck: int = 32,
                 dropout: float = 0.5) -> None:
        super().__init__()
        kss = [k - 1 if k % 2 == 0 else k for k in (kernel_size, kernel_size // 2,
                                                     kernel_size // 4)]
        nf = (len(kss) + 1) * nb_filters
        self.modules_ = nn.ModuleList(
            [_InceptionModule(input_channels if d == 0 else nf, nb_filters, kss, bottleneck)
             for d in range(depth)])
        self.shortcuts = nn.ModuleList(
            [_Shortcut(input_channels if d == 0 else nf, nf) for d in range(depth // 3)])
        self.n_features = nf
        self.head = head1d(nf, num_classes, dropout=dropout)
        init_cnn(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        res = x
        for d, module in enumerate(self.modules_):
            x = module(x)
            if d % 3 == 2:
                x = self.shortcuts[d // 3](res, x)
                res = x
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_model
def inception1d(*, num_classes: int, input_channels: int = 12,
                **kw: Unpack[Inception1dOptions]) -> Inception1d:
    return Inception1d(num_classes=num_classes, input_channels=input_channels, **kw)
