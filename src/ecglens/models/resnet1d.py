"""resnet1d_wang: the fully convolutional ResNet of Wang et al. 2017 ("Time series
classification from scratch") in the PTB-XL benchmark's form: 3 basic blocks of 128 channels,
kernels 5 and 3, a stem of kernel 7 without stride or pooling."""

from __future__ import annotations

from typing import TypedDict, Unpack

import torch
from torch import nn

from ecglens.models.layers import head1d, init_cnn
from ecglens.models.registry import register_model


class _BasicBlock(nn.Module):
    def __init__(self, ni: int, nf: int, stride: int, kss: tuple[int, int]) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(ni, nf, kss[0], stride=stride, padding=(kss[0] - 1) // 2,
                               bias=False)
        self.bn1 = nn.BatchNorm1d(nf)
        self.conv2 = nn.Conv1d(nf, nf, kss[1], padding=(kss[1] - 1) // 2, bias=False)
        self.bn2 = nn.BatchNorm1d(nf)
        self.down = (nn.Sequential(nn.Conv1d(ni, nf, 1, stride=stride, bias=False),
                                   nn.BatchNorm1d(nf))
                     if stride != 1 or ni != nf else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.down(x))


class ResNet1dWangOptions(TypedDict, total=False):
    """Architecture options of a model card (``config.model_kwargs``)."""

    planes: int
    kss: tuple[int, int]
    stem_kernel: int
    n_blocks: int
    dropout: float


class ResNet1dWang(nn.Module):
    def __init__(self, *, num_classes: int, input_channels: int = 12, planes: int = 128,
                 kss: tuple[int, int] = (5, 3), stem_kernel: int = 7, n_blocks: int = 3,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(input_channels, planes, stem_kernel, padding=(stem_kernel - 1) // 2,
                      bias=False),
            nn.BatchNorm1d(planes), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[_BasicBlock(planes, planes, 1 if i == 0 else 2, kss)
                                      for i in range(n_blocks)])
        self.n_features = planes
        self.head = head1d(planes, num_classes, dropout=dropout)
        init_cnn(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_model
def resnet1d_wang(*, num_classes: int, input_channels: int = 12,
                  **kw: Unpack[ResNet1dWangOptions]) -> ResNet1dWang:
    return ResNet1dWang(num_classes=num_classes, input_channels=input_channels, **kw)
