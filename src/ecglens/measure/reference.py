"""Global reference intervals from per-lead expert annotations (LUDB layout).

LUDB's cardiologists annotated every lead separately, so the plain earliest-onset / latest-offset
rule across leads picks up single-lead outliers. The reference used for validation is, per beat,
the **second-earliest** onset and **second-latest** offset across leads, counting a wave only where
it is annotated in at least 6 leads, and then the median over beats of the record. ``rule="minmax"``
gives the plain rule for comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from ecglens.exceptions import DataError

__all__ = ["LUDB_LEADS", "ludb_waves", "reference_intervals"]

LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
_SYMBOL = {"p": "p", "N": "qrs", "t": "t"}
MIN_LEADS = 6


def ludb_waves(record: Path) -> dict[str, list[np.ndarray]]:
    """Per wave type, a list of (lead, onset, peak, offset) arrays, one row per annotated wave."""
    import wfdb

    out: dict[str, list[tuple[int, int, int, int]]] = {"p": [], "qrs": [], "t": []}
    for li, lead in enumerate(LUDB_LEADS):
        try:
            ann = wfdb.rdann(str(record), lead)
        except FileNotFoundError:
            raise DataError(f"{record}: LUDB annotation file .{lead} is missing") from None
        sym, smp = ann.symbol, ann.sample
        for k, s in enumerate(sym):
            if s in _SYMBOL and 0 < k < len(sym) - 1 and sym[k - 1] == "(" and sym[k + 1] == ")":
                out[_SYMBOL[s]].append((li, int(smp[k - 1]), int(smp[k]), int(smp[k + 1])))
    return {k: [np.asarray(v, dtype=np.int64).reshape(-1, 4)] for k, v in out.items()}


def _group(rows: np.ndarray, gap: int) -> list[np.ndarray]:
    """Clusters of annotations of one wave type whose peaks lie within gap samples of the next."""
    if rows.size == 0:
        return []
    rows = rows[np.argsort(rows[:, 2])]
    cuts = np.flatnonzero(np.diff(rows[:, 2]) > gap) + 1
    return [g for g in np.split(rows, cuts) if np.unique(g[:, 0]).size >= MIN_LEADS]


def _edges(g: np.ndarray, rule: str) -> tuple[int, int]:
    on, off = np.sort(g[:, 1]), np.sort(g[:, 3])
    if rule == "minmax":
        return int(on[0]), int(off[-1])
    return int(on[1]), int(off[-2])


def reference_intervals(
    record: Path, fs: float = 500.0, rule: Literal["second", "minmax"] = "second"
) -> dict[str, float | None]:
    """Median over beats of P duration, PR, QRS and QT (ms) from a LUDB record's annotations."""
    waves = ludb_waves(record)
    gap = int(0.1 * fs)
    qrs = [_edges(g, rule) + (int(np.median(g[:, 2])),) for g in _group(waves["qrs"][0], gap)]
    ps = [_edges(g, rule) + (int(np.median(g[:, 2])),) for g in _group(waves["p"][0], gap)]
    ts = [_edges(g, rule) + (int(np.median(g[:, 2])),)
          for g in _group(waves["t"][0], int(0.15 * fs))]
    vals: dict[str, list[float]] = {"p_duration_ms": [], "pr_ms": [], "qrs_ms": [], "qt_ms": []}
    ms = 1000.0 / fs
    for k, (qon, qoff, qpk) in enumerate(qrs):
        prev = qrs[k - 1][2] if k else -10**9
        nxt = qrs[k + 1][2] if k + 1 < len(qrs) else 10**9
        vals["qrs_ms"].append((qoff - qon) * ms)
        p = [w for w in ps if prev < w[2] < qpk and w[1] < qon]
        if p:
            pon, poff, _ = p[-1]
            vals["p_duration_ms"].append((poff - pon) * ms)
            vals["pr_ms"].append((qon - pon) * ms)
        t = [w for w in ts if qpk < w[2] < nxt]
        if t:
            vals["qt_ms"].append((t[0][1] - qon) * ms)
    return {k: (float(np.median(v)) if v else None) for k, v in vals.items()}
