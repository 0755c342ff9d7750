"""xresnet1d (50/101): the 1-D bag-of-tricks ResNet of the PTB-XL benchmark.

He et al., "Bag of tricks for image classification", CVPR 2019, adapted to 1-D by Strodthoff et
al. 2021: a 3-conv stem, bottleneck blocks (expansion 4) with a zero-initialised last BN, an
average-pool shortcut on downsampling, kernel size 5 and 64 hidden channels in every stage.
"""

from __future__ import annotations

from typing import TypedDict, Unpack

import torch
from torch import nn

from ecglens.models.layers import head1d, init_cnn
from ecglens.models.registry import register_model


def _conv_bn(ni: int, nf: int, ks: int, *, stride: int = 1, relu: bool = True,
             zero_bn: bool = False) -> nn.Sequential:
    bn = nn.BatchNorm1d(nf)
    nn.init.constant_(bn.weight, 0.0 if zero_bn else 1.0)
    layers: list[nn.Module] = [nn.Conv1d(ni, nf, ks, stride=stride, padding=(ks - 1) // 2,
                                         bias=False), bn]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class _Bottleneck(nn.Module):
    def __init__(self, ni: int, nh: int, expansion: int, stride: int, ks: int) -> None:
        super().__init__()
        nf = nh * expansion
        self.convs = nn.Sequential(
            _conv_bn(ni, nh, 1),
            _conv_bn(nh, nh, ks, stride=stride),
            _conv_bn(nh, nf, 1, relu=False, zero_bn=True),
        )
        idpath: list[nn.Module] = []
        if stride != 1:
            idpath.append(nn.AvgPool1d(2, ceil_mode=True))
        if ni != nf:
            idpath.append(_conv_bn(ni, nf, 1, relu=False))
        self.idpath = nn.Sequential(*idpath)
        self.act = nn.ReLU(inplace=True)

    def last_bn(self) -> nn.BatchNorm1d:
        """The BN that closes the residual branch (zero-initialised)."""
        conv_bn = self.convs[2]
        assert isinstance(conv_bn, nn.Sequential)
        bn = conv_bn[1]
        assert isinstance(bn, nn.BatchNorm1d)
        return bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.convs(x) + self.idpath(x))


class XResNet1dOptions(TypedDict, total=False):
    """Architecture options of a model card (``config.model_kwargs``)."""

    expansion: int
    width: int
    kernel_size: int
    stem: tuple[int, int, int]
    dropout: float


class XResNet1d(nn.Module):
    def __init__(self, layers: list[int], *, num_classes: int, input_channels: int = 12,
                 expansion: int = 4, width: int = 64, kernel_size: int = 5,
                 stem: tuple[int, int, int] = (32, 32, 64), dropout: float = 0.5) -> None:
        super().__init__()
        chans = [input_channels, *stem]
        self.stem = nn.Sequential(
            *[_conv_bn(chans[i], chans[i + 1], kernel_size, stride=2 if i == 0 else 1)
              for i in range(3)],
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        blocks: list[nn.Module] = []
        ni = stem[-1]
        for stage, n in enumerate(layers):
            for b in range(n):
                stride = 2 if (stage > 0 and b == 0) else 1
                blocks.append(_Bottleneck(ni, width, expansion, stride, kernel_size))
                ni = width * expansion
        self.blocks = nn.Sequential(*blocks)
        self.n_features = ni
        self.head = head1d(ni, num_classes, dropout=dropout)
        init_cnn(self)
        for m in self.modules():  # re-apply zero-init of the residual branches' last BN
            if isinstance(m, _Bottleneck):
                nn.init.zeros_(m.last_bn().weight)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_model
def xresnet1d50(*, num_classes: int, input_channels: int = 12,
                **kw: Unpack[XResNet1dOptions]) -> XResNet1d:
    return XResNet1d([3, 4, 6, 3], num_classes=num_classes, input_channels=input_channels, **kw)


@register_model
def xresnet1d101(*, num_classes: int, input_channels: int = 12,
                **kw: Unpack[XResNet1dOptions]) -> XResNet1d:
    return XResNet1d([3, 4, 23, 3], num_classes=num_classes, input_channels=input_channels, **kw)
