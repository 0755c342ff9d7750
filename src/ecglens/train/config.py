"""One training run's settings, stored beside its checkpoints and in the shipped card."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "member"
    arch: str = "xresnet1d101"
    model_kwargs: dict[str, int | float] = {}  # architecture options (width, depth...)
    seed: int = 0
    fs: float = 100.0
    window: int = 250  # samples: 2.5 s at 100 Hz, the benchmark's random crop
    stride: int = 125  # evaluation stride: 1.25 s
    epochs: int = 50  # upper bound; a time budget may cut it (decided after epoch 1)
    time_budget_s: float | None = None
    batch_size: int = 128
    lr: float = 1e-2
    weight_decay: float = 1e-2
    # loss weight per task group; 0 switches a group off (an age/sex-only member)
    w_labels: float = 1.0
    w_age: float = 0.5
    w_sex: float = 0.5
    # per label task (all, diagnostic, ...): a factor on w_labels, 1 where absent; 0 leaves the
    # task's head untrained (a specialist member for the other tasks)
    task_weights: dict[str, float] = {}
    # augmentation
    scale_sd: float = 0.1
    noise_sd: float = 0.02
    train_folds: list[int] = [1, 2, 3, 4, 5, 6, 7, 8]
    val_folds: list[int] = [9]
