"""Model registry in the timm style: ``@register_model`` + ``create_model(name, ...)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ecglens.exceptions import ModelError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register an architecture constructor under its function name."""
    if fn.__name__ in _REGISTRY:
        raise ModelError(f"model {fn.__name__!r} registered twice")
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def create_model(name: str, *, pretrained: bool = False, num_classes: int = 71,
                 input_channels: int = 12, **kwargs: Any) -> nn.Module:
    """Build architecture ``name``. ``pretrained=True`` loads the weights of the shipped member
    trained with that architecture (its output layout is the shipped multi-task layout, so
    ``num_classes`` must then match the card or be left at its default)."""
    _ensure_loaded()
    if name not in _REGISTRY:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    if pretrained:
        from ecglens.models.bundle import load_member_for_arch

        return load_member_for_arch(name).network
    return _REGISTRY[name](num_classes=num_classes, input_channels=input_channels, **kwargs)


def _ensure_loaded() -> None:
    # explicit imports (not ``import *``) register the architectures
    from ecglens.models import inception1d, resnet1d, xresnet1d  # noqa: F401
