"""Deep-learning ECG models: registry, cards, shipped bundles, the predictor.

``DEFAULT_MODEL`` is the bundle every command, the API and the service use when none is named.
Everything else is imported on first use (torch takes seconds), so reading ``DEFAULT_MODEL`` or
the card types costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ecglens.models.registry import DEFAULT_MODEL, register_model

if TYPE_CHECKING:
    from ecglens.models.bundle import Member, create_model, list_models, load_member
    from ecglens.models.card import BundleCard, MemberCard, TaskCard
    from ecglens.models.layout import OutputLayout
    from ecglens.models.prediction import ModelInfo, Prediction, TaskPrediction
    from ecglens.models.predictor import Predictor, Scores, load_predictor

#: the former name of DEFAULT_MODEL, kept for code that imports it
DEFAULT_BUNDLE = DEFAULT_MODEL

_LAZY = {
    "Member": "bundle", "create_model": "bundle", "list_models": "bundle",
    "load_member": "bundle",
    "BundleCard": "card", "MemberCard": "card", "TaskCard": "card",
    "OutputLayout": "layout",
    "ModelInfo": "prediction", "Prediction": "prediction", "TaskPrediction": "prediction",
    "Predictor": "predictor", "Scores": "predictor", "load_predictor": "predictor",
}

__all__ = [
    "DEFAULT_BUNDLE", "DEFAULT_MODEL", "BundleCard", "Member", "MemberCard", "ModelInfo",
    "OutputLayout", "Prediction", "Predictor", "Scores", "TaskCard", "TaskPrediction",
    "create_model", "list_models", "load_member", "load_predictor", "register_model",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"ecglens.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'ecglens.models' has no attribute {name!r}")
