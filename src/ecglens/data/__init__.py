"""Research datasets: PTB-XL (official layout, benchmark label tasks), PhysioNet challenge
headers, and the compact training pack."""

from ecglens.data.challenge import ChallengeRecord, read_challenge_dir
from ecglens.data.labels import LABEL_TASKS, TASKS, record_labels, task_label_names
from ecglens.data.ptbxl import available_folds, read_database, read_signals, task_labels

__all__ = [
    "LABEL_TASKS", "TASKS", "ChallengeRecord", "available_folds", "read_challenge_dir",
    "read_database", "read_signals", "record_labels", "task_label_names", "task_labels",
]
