"""Set the lead-reversal decision thresholds for a joint false-alarm rate; write
src/ecglens/measure/reversal_thresholds.py.

    python benchmarks/measure_ptbxl_medians.py cache/ptbxl --folds 1-8 --out cache/medians_calib.npz \
        --exclude cache/medians_train.npz cache/medians_train7k.npz
    python benchmarks/calibrate_measure_reversal.py cache/medians_calib.npz [--write]

Eight swaps are tested on every record. Each detector at 99.5 % specificity flags 0.5 % of
correctly wired ECGs, and the false alarms add up: 4.2 % of PTB-XL fold-9 records were flagged
with some swap, one ECG in 24, which a clinic learns to ignore. Here the thresholds share one
specificity q, chosen so that FALSE_ALARM of the unswapped records are flagged with *any* swap;
each detector's threshold is the q-quantile of its scores on them.

The records are PTB-XL folds 1-8 that no reversal model was fit on (``--exclude`` the training
caches when building them), so the tails are not the training fit's. Fold 9 is only used by
bench_measure.py for evaluation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ecglens.measure.reversal import (
    CHEST_PAIRS,
    LIMB_SWAPS,
    decision_thresholds,
    reversal_scores,
    swap_leads,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_measure_reversal import load

FALSE_ALARM = 0.01
TAIL = 0.005  # the top half percent of each detector's unswapped scores is kept: every
# reported swap scores above its threshold (the top 0.125 %), where its false-alarm rate is read
OUT = Path(__file__).resolve().parents[1] / "src" / "ecglens" / "measure" / "reversal_thresholds.py"
KEYS = LIMB_SWAPS + CHEST_PAIRS


def scores(meds: list[np.ndarray], fids: list[dict[str, int | None]], fs: float,
           variant: str) -> np.ndarray:
    """records × KEYS scores with every record's leads swapped as ``variant`` ('none': as is)."""
    return np.array([[s[k] for k in KEYS] for s in (
        reversal_scores(m if variant == "none" else swap_leads(m, variant), f, fs)
        for m, f in zip(meds, fids))])


def thresholds_for(neg: np.ndarray, q: float) -> np.ndarray:
    return np.quantile(neg, q, axis=0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("medians", type=Path)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    meds, fids, fs = load(a.medians)
    neg = scores(meds, fids, fs, "none")

    def any_flag(q: float) -> float:
        return float((neg >= thresholds_for(neg, q)).any(axis=1).mean())

    lo, hi = 0.99, 1.0  # any_flag falls as q rises: bisect for FALSE_ALARM
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if any_flag(mid) > FALSE_ALARM else (lo, mid)
    q = hi
    thr = thresholds_for(neg, q)
    shipped = np.array([decision_thresholds()[k] for k in KEYS])
    print(f"thresholds in the checked-out code: any swap flagged on "
          f"{(neg >= shipped).any(axis=1).mean():.2%} of these records")
    print(f"{len(meds)} unswapped records; common per-detector specificity {q:.5f}; any swap "
          f"flagged on {any_flag(q):.2%}")
    print(f"{'swap':<7} {'threshold':>10} {'specificity':>12} {'sensitivity':>12}")
    for k, name in enumerate(KEYS):
        pos = scores(meds, fids, fs, name)[:, k]
        print(f"{name:<7} {thr[k]:>10.4f} {(neg[:, k] < thr[k]).mean():>12.2%} "
              f"{(pos >= thr[k]).mean():>12.1%}")
    if a.write:
        table = ",\n".join(f"    {name!r}: {float(t)!r}" for name, t in zip(KEYS, thr))
        top = int(np.ceil(TAIL * len(neg)))
        def wrapped(values: np.ndarray) -> str:  # exact floats, four to a line
            items = [repr(float(v)) for v in values]
            return "\n".join("        " + ", ".join(items[i:i + 4]) + ","
                             for i in range(0, len(items), 4))

        tails = "\n".join(f"    {name!r}: (\n{wrapped(np.sort(neg[:, k])[::-1][:top])}\n    ),"
                          for k, name in enumerate(KEYS))
        OUT.write_text(
            '"""Lead-reversal decision thresholds, written by '
            'benchmarks/calibrate_measure_reversal.py.\n\n'
            f"One specificity per detector ({q:.5f}), chosen on {len(meds)} PTB-XL records of "
            "folds 1-8 that no\nreversal model was fit on, so that "
            f"{FALSE_ALARM:.0%} of them are flagged with any swap. TAILS holds each\n"
            f"detector's {top} highest scores on those correctly wired records (of N_RECORDS), "
            "from which a\nreported swap's false-alarm rate is read.\n"
            '"""\n\n'
            f"N_RECORDS = {len(neg)}\n"
            f"THRESHOLDS: dict[str, float] = {{\n{table},\n}}\n"
            f"TAILS: dict[str, tuple[float, ...]] = {{\n{tails}\n}}\n")
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
