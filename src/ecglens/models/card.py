"""The model contract: what a bundle's ``bundle.json`` and each member's card hold, as types.

In the spirit of timm's pretrained config: one validated object per file, read once when the
bundle is loaded, instead of string lookups into parsed JSON wherever a value is needed.

* ``BundleCard`` — ``bundle.json``: name, version, input spec, members, one ``TaskCard`` per
  task (its ensemble, temperature, per-label offsets, thresholds, optional feature model).
* ``MemberCard`` — ``<member>.json``: architecture, training settings (``MemberConfig``),
  output layout, input standardisation, SHA-256 of the weight file.

Every card shipped in ``ecglens/weights`` validates with ``extra="forbid"`` (unknown keys are
refused), except the training settings inside a member card: ``MemberConfig`` types the keys
inference reads and keeps the others (learning rate, epochs...) as the record of the run that
``ecglens.train.config.TrainConfig`` validated when it trained.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ecglens.exceptions import ModelError
from ecglens.models.layout import OutputLayout

__all__ = ["BundleCard", "FeatureModelCard", "FileRef", "MemberCard", "MemberConfig",
           "MemberEntry", "TaskCard", "read_card"]

#: tasks that are not label sets: age is a regression output, the others are scored
REGRESSION_TASKS = ("age",)

_C = TypeVar("_C", bound=BaseModel)


class _Card(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileRef(_Card):
    """A file of the bundle folder and the SHA-256 it must have."""

    file: str
    sha256: str


class FeatureModelCard(_Card):
    """A task's measurement-feature model (``ecglens.models.feature_model``)."""

    gbm: FileRef
    mlp: FileRef
    weight: float = Field(ge=0.0, le=1.0, description="share of the feature model in the logits")
    gbm_share: float = Field(0.5, ge=0.0, le=1.0, description="the boosters' share of it")
    labels: list[str] | None = Field(
        None, description="the subset of the task's labels it scores (default: all of them)")


class TaskCard(_Card):
    """One task of the bundle: the members averaged for it and, for a label set, its calibration.

    Calibrated probability = ``sigmoid((z + logit_bias) / temperature)``, with ``z`` the members'
    mean logit (blended with ``feature_model`` where there is one); a label is positive at or
    above its ``thresholds_f1`` entry.
    """

    members: list[str] = Field(min_length=1)
    labels: list[str] | None = None
    temperature: float = Field(1.0, gt=0.0)
    logit_bias: list[float] | None = None
    thresholds_f1: list[float] | None = None
    thresholds_spec95: list[float] | None = None
    feature_model: FeatureModelCard | None = None

    @model_validator(mode="after")
    def _per_label_lists_fit(self) -> Self:
        n = None if self.labels is None else len(self.labels)
        for key in ("logit_bias", "thresholds_f1", "thresholds_spec95"):
            values = getattr(self, key)
            if values is None:
                continue
            if n is None:
                raise ValueError(f"{key} given without labels")
            if len(values) != n:
                raise ValueError(f"{key} has {len(values)} entries for {n} labels")
        if self.feature_model is not None:
            if self.labels is None:
                raise ValueError("feature_model given without labels")
            unknown = [lab for lab in self.feature_model.labels or [] if lab not in self.labels]
            if unknown:
                raise ValueError(f"feature model labels {unknown} are not the task's labels")
        return self

    def bias(self) -> np.ndarray:
        """Per-label offsets fitted with the temperature (zeros where the card has none)."""
        n = len(self.labels or [])
        return np.asarray(self.logit_bias if self.logit_bias is not None else [0.0] * n)


class MemberEntry(_Card):
    """A member as ``bundle.json`` lists it: its files are ``<name>.pt`` and ``<name>.json``."""

    name: str
    arch: str
    sha256: str


class BundleCard(_Card):
    """``bundle.json``."""

    name: str
    version: str
    fs: float = Field(gt=0.0, description="sampling rate the networks read, Hz")
    leads: list[str]
    input_mean: list[float]
    input_std: list[float]
    members: list[MemberEntry] = Field(min_length=1)
    tasks: dict[str, TaskCard]
    tuned_on: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        n = len(self.leads)
        if len(self.input_mean) != n or len(self.input_std) != n:
            raise ValueError(f"input_mean/input_std must have one value per lead ({n})")
        if any(s <= 0 for s in self.input_std):
            raise ValueError("input_std must be positive")
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ValueError("member names repeat")
        for task, t in self.tasks.items():
            missing = [m for m in t.members if m not in names]
            if missing:
                raise ValueError(f"task {task!r} uses unknown members {missing}")
            if task in REGRESSION_TASKS:
                if t.labels is not None:
                    raise ValueError(f"task {task!r} is a regression output: no labels")
            elif t.labels is None or t.thresholds_f1 is None:
                raise ValueError(f"task {task!r} needs labels and thresholds_f1")
        return self

    def task(self, name: str) -> TaskCard:
        if name not in self.tasks:
            raise ModelError(f"task {name!r} not in model {self.name}; tasks: "
                             f"{', '.join(self.tasks)}")
        return self.tasks[name]

    def member(self, name: str) -> MemberEntry:
        return next(m for m in self.members if m.name == name)

    @classmethod
    def read(cls, folder: Path) -> BundleCard:
        """``folder/bundle.json``, validated; ``ModelError`` says what is wrong."""
        path = folder / "bundle.json"
        if not path.is_file():
            raise ModelError(f"{folder}: bundle.json missing (not a model bundle)")
        return read_card(cls, path)


class MemberConfig(BaseModel):
    """The training settings of a member (``TrainConfig`` as it was dumped into the card).

    Typed here: what building the network and windowed inference read. Other keys stay, untyped,
    as the record of the training run.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    arch: str
    model_kwargs: dict[str, int | float] = {}
    fs: float = Field(gt=0.0)
    window: int = Field(gt=0, description="samples per window (the training crop)")
    stride: int = Field(gt=0, description="samples between evaluation windows")


class MemberCard(_Card):
    """``<member>.json``: how the network was built and trained, and what it outputs."""

    config: MemberConfig
    arch: str
    layout: OutputLayout
    input_mean: list[float]
    input_std: list[float]
    sha256: str | None = Field(None, description="of ``<member>.pt``; added when exported")
    epochs_run: int | None = None
    n_train_records: int | None = None
    train_wall_s: float | None = None
    device: str | None = None

    @model_validator(mode="after")
    def _arch_agrees(self) -> Self:
        if self.arch != self.config.arch:
            raise ValueError(f"arch {self.arch!r} differs from config.arch {self.config.arch!r}")
        return self

    @classmethod
    def read(cls, path: Path) -> MemberCard:
        if not path.is_file():
            raise ModelError(f"{path}: model card missing")
        return read_card(cls, path)


def read_card(cls: type[_C], path: Path) -> _C:
    """Parse and validate one JSON card; ``ModelError`` names the file and the first problem."""
    try:
        raw: Any = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: card is not valid JSON") from exc
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ModelError(f"{path}: invalid {cls.__name__}: {where}: {first['msg']} "
                         f"({exc.error_count()} problem(s))") from exc
