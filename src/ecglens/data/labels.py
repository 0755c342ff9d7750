"""PTB-XL label aggregation, exactly as the PTB-XL benchmark defines its six tasks.

Strodthoff et al., "Deep learning for ECG analysis: benchmarks and insights from PTB-XL",
IEEE JBHI 2021 (code: helme/ecg_ptbxl_benchmarking, ``utils.compute_label_aggregations`` and
``select_data``). The rules, restated:

- Only the *keys* of ``scp_codes`` count; likelihoods are ignored (this copy has none).
- ``all``: every statement; ``diagnostic``: statements with ``diagnostic == 1``;
  ``subdiagnostic`` / ``superdiagnostic``: their ``diagnostic_subclass`` / ``diagnostic_class``;
  ``form`` / ``rhythm``: statements with ``form == 1`` / ``rhythm == 1``.
- Minimum-count filtering: the benchmark runs with ``min_samples = 0`` and keeps a label when
  its count over the records at hand is ``> min_samples``, i.e. labels that never occur are
  dropped (``diagnostic`` is never filtered, all its labels occur anyway).
- A task uses only the records that carry at least one of its labels.
"""

from __future__ import annotations

import ast
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ecglens.exceptions import DataError

# re-exported: the label tasks are read from here by the research code
from ecglens.models.layout import LABEL_TASKS as LABEL_TASKS
from ecglens.models.layout import PHENOTYPE_TASKS as PHENOTYPE_TASKS
from ecglens.models.layout import TASKS as TASKS

#: the benchmark's setting (``experiments`` in reproduce_results.py)
BENCHMARK_MIN_SAMPLES = 0


def parse_scp_codes(value: str | Mapping[str, object]) -> list[str]:
    """Statement keys of one ``scp_codes`` cell (``"{'SR': None, 'NORM': 100.0}"``)."""
    if isinstance(value, Mapping):
        return list(value.keys())
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError) as exc:
        raise DataError(f"scp_codes cell is not a Python dict literal: {value[:60]!r}") from exc
    if not isinstance(parsed, dict):
        raise DataError(f"scp_codes cell is not a dict: {value[:60]!r}")
    return [str(k) for k in parsed]


def record_labels(codes: Iterable[str], statements: pd.DataFrame, task: str) -> list[str]:
    """The labels one record carries for ``task`` (before minimum-count filtering), sorted."""
    table = _task_map(statements, task)
    return sorted({table[c] for c in codes if c in table})


_MAPS: dict[tuple[int, str], dict[str, str]] = {}  # keyed by the statement keys


def _task_map(statements: pd.DataFrame, task: str) -> dict[str, str]:
    """statement key -> the label it contributes to ``task`` (cached per statements table)."""
    key = (hash(tuple(statements.index)), task)
    if key in _MAPS:
        return _MAPS[key]
    if task == "all":
        table = {str(c): str(c) for c in statements.index}
    elif task in ("diagnostic", "subdiagnostic", "superdiagnostic"):
        diag = statements[statements["diagnostic"] == 1.0]
        column = {"diagnostic": None, "subdiagnostic": "diagnostic_subclass",
                  "superdiagnostic": "diagnostic_class"}[task]
        table = {}
        for c in diag.index:
            value = c if column is None else diag.at[c, column]
            if isinstance(value, str) and value:
                table[str(c)] = value
    elif task in ("form", "rhythm"):
        table = {str(c): str(c) for c in statements.index[statements[task] == 1.0]}
    else:
        raise DataError(f"unknown label task {task!r}; expected one of {', '.join(LABEL_TASKS)}")
    _MAPS[key] = table
    return table


def task_label_names(
    per_record: Sequence[Sequence[str]], *, min_samples: int = BENCHMARK_MIN_SAMPLES
) -> list[str]:
    """Labels kept for a task: those occurring more than ``min_samples`` times, sorted."""
    counts = Counter(label for labels in per_record for label in labels)
    return sorted(label for label, n in counts.items() if n > min_samples)


def multi_hot(per_record: Sequence[Sequence[str]], names: Sequence[str]) -> np.ndarray:
    """(n_records, n_labels) uint8 matrix; records keep only labels listed in ``names``."""
    index = {n: i for i, n in enumerate(names)}
    y = np.zeros((len(per_record), len(names)), dtype=np.uint8)
    for r, labels in enumerate(per_record):
        for label in labels:
            if label in index:
                y[r, index[label]] = 1
    return y


def read_statements(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``scp_statements.csv`` indexed by statement key."""
    try:
        df = pd.read_csv(path, index_col=0)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: scp_statements.csv not found") from exc
    for col in ("diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"):
        if col not in df.columns:
            raise DataError(f"{path}: column {col!r} missing from scp_statements.csv")
    return df
