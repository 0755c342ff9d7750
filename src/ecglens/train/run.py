"""Run one training job from a JSON config: ``python -m ecglens.train.run CONFIG DATA OUT``.

DATA is a PTB-XL folder, a training pack, or a cached ``.npz`` of a training set. Used by
``ecglens train`` and by the parallel launcher ``training/train_gpu.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ecglens.data.training_set import TrainingSet, load_training_set, read_training_set
from ecglens.train.config import TrainConfig
from ecglens.train.loop import train_member


def load_data(source: Path, cfg: TrainConfig, max_records: int | None = None) -> TrainingSet:
    if source.suffix == ".npz":
        return read_training_set(source)
    return load_training_set(source, folds=cfg.train_folds, max_records=max_records,
                             seed=cfg.seed)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cfg = TrainConfig.model_validate_json(Path(args[0]).read_text())
    data = load_data(Path(args[1]), cfg)
    train_member(cfg, data, Path(args[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
