"""Every registered architecture builds, runs and is differentiable (timm-style contract)."""

from __future__ import annotations

import pytest
import torch

from ecglens.exceptions import ModelError
from ecglens.models import create_model, list_models
from ecglens.models.layout import OutputLayout
from ecglens.models.windows import window_starts, windowed_outputs


def test_the_benchmark_architectures_are_registered() -> None:
    assert {"xresnet1d50", "xresnet1d101", "inception1d", "resnet1d_wang"} <= set(list_models())


@pytest.mark.parametrize("name", list_models())
def test_forward_shape(name: str) -> None:
    net = create_model(name, num_classes=7).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 12, 250)).shape == (2, 7)


def test_unknown_model() -> None:
    with pytest.raises(ModelError, match="unknown model"):
        create_model("resnet9000")


def test_pretrained_loads_shipped_member() -> None:
    net = create_model("resnet1d_wang", pretrained=True)
    assert sum(p.numel() for p in net.parameters()) > 100_000


def test_windows_cover_the_record_and_aggregate_by_max() -> None:
    assert window_starts(1000, 250, 125) == [0, 125, 250, 375, 500, 625, 750]
    assert window_starts(300, 250, 125) == [0, 50]
    layout = OutputLayout(labels={"all": ["A", "B"]})

    class Probe(torch.nn.Module):  # label score = window mean, age = window mean
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            m = x.mean(dim=(1, 2))[:, None]
            return torch.cat([m, -m, m, m], dim=1)

    x = torch.zeros(1, 12, 500, requires_grad=True)
    with torch.no_grad():
        x[:, :, 300:] = 1.0
    out = windowed_outputs(Probe(), x, layout, window=250, stride=125)
    assert out.shape == (1, 4)
    # windows start at 0, 125, 250: means 0, 75/250, 200/250
    assert out[0, 0].item() == pytest.approx(0.8)  # labels: max over windows
    assert out[0, 1].item() == pytest.approx(0.0)
    assert out[0, 2].item() == pytest.approx((0 + 0.3 + 0.8) / 3)  # age: mean
    out[0, 0].backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
