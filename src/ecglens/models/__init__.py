"""Deep-learning ECG models: registry, shipped bundles, the predictor."""

from ecglens.models.bundle import DEFAULT_BUNDLE, Member, load_member
from ecglens.models.layout import OutputLayout
from ecglens.models.prediction import ModelInfo, Prediction, TaskPrediction
from ecglens.models.predictor import Predictor, load_predictor
from ecglens.models.registry import create_model, list_models, register_model

__all__ = [
    "DEFAULT_BUNDLE", "Member", "ModelInfo", "OutputLayout", "Prediction", "Predictor",
    "TaskPrediction", "create_model", "list_models", "load_member", "load_predictor",
    "register_model",
]
