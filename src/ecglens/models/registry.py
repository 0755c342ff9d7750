"""Names the models stage answers to: architecture names -> constructors, and the default bundle.

A plain table in the timm style (``@register_model``); it imports nothing of ecglens but its
exceptions, so any module may read it. The architectures register themselves when their module
is imported, which the factory that builds networks and loads their weights
(``ecglens.models.bundle``: ``create_model``, ``load_member``) does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecglens.exceptions import ModelError

#: The model bundle every command (``predict``, ``interpret``, ``evaluate``), the Python API
#: (``ecglens.models.load_predictor()``) and the service (``ECGLENS_MODEL``) load when none is
#: named. ``ptbxl-fast`` (one resnet1d_wang network, calibrated on its own) is the bedside
#: default: tens of milliseconds on one core; ``ptbxl-ensemble`` (nine networks and a
#: measurement-feature model) is named explicitly where its accuracy is worth its cost.
DEFAULT_MODEL = "ptbxl-fast"

_REGISTRY: dict[str, Callable[..., Any]] = {}


def register_model(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register an architecture constructor under its function name."""
    if fn.__name__ in _REGISTRY:
        raise ModelError(f"model {fn.__name__!r} registered twice")
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Names of the registered architectures (import ``ecglens.models`` first for the built-in
    ones: ``ecglens.models.list_models`` does)."""
    return sorted(_REGISTRY)


def model_entrypoint(name: str) -> Callable[..., Any]:
    """The constructor registered as ``name``."""
    if name not in _REGISTRY:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]
