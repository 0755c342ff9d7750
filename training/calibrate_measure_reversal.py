"""Set the lead-reversal decision thresholds for a joint false-alarm rate; write
src/ecglens/weights/measure/reversal-thresholds.json.

    python -m training.measure_ptbxl_medians cache/ptbxl --folds 1-8 --out cache/medians_calib.npz \
        --exclude cache/medians_train.npz cache/medians_train7k.npz
    python -m training.calibrate_measure_reversal cache/medians_calib.npz [--write] [--out-dir DIR]

Eight swaps are tested on every record. Each detector at 99.5 % specificity flags 0.5 % of
correctly wired ECGs, and the false alarms add up: 4.2 % of PTB-XL fold-9 records were flagged
with some swap, one ECG in 24, which a clinic learns to ignore. Here the thresholds share one
specificity q, chosen so that FALSE_ALARM of the unswapped records are flagged with *any* swap;
each detector's threshold is the q-quantile of its scores on them.

The records are PTB-XL folds 1-8 that no reversal model was fit on (``--exclude`` the training
caches when building them), so the tails are not the training fit's. Fold 9 is only used by
benchmarks/bench_measure.py for evaluation.

``--write`` writes the thresholds and each detector's tail of scores as JSON (floats exact) and
records the file's SHA-256 in ``ecglens.measure.artefacts.SHA256``, which
``ecglens.measure.reversal`` checks on load; ``--out-dir`` writes it elsewhere and records nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ecglens.measure.artefacts import write_artefact
from ecglens.measure.reversal import (
    CHEST_PAIRS,
    LIMB_SWAPS,
    decision_thresholds,
    reversal_scores,
    swap_leads,
)
from training.train_measure_reversal import load

FALSE_ALARM = 0.01
TAIL = 0.005  # the top half percent of each detector's unswapped scores is kept: every
# reported swap scores above its threshold (the top 0.125 %), where its false-alarm rate is read
ARTEFACT = "reversal-thresholds.json"
KEYS = LIMB_SWAPS + CHEST_PAIRS


def scores(meds: list[np.ndarray], fids: list[dict[str, int | None]], fs: float,
           variant: str) -> np.ndarray:
    """records × KEYS scores with every record's leads swapped as ``variant`` ('none': as is)."""
    return np.array([[s[k] for k in KEYS] for s in (
        reversal_scores(m if variant == "none" else swap_leads(m, variant), f, fs)
        for m, f in zip(meds, fids, strict=True))])


def thresholds_for(neg: np.ndarray, q: float) -> np.ndarray:
    return np.quantile(neg, q, axis=0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("medians", type=Path)
    ap.add_argument("--write", action="store_true", help=f"write {ARTEFACT} into the package")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="with --write: write the file here instead (nothing recorded)")
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
        top = int(np.ceil(TAIL * len(neg)))
        tails = {name: np.sort(neg[:, k])[::-1][:top] for k, name in enumerate(KEYS)}
        limits = dict(zip(KEYS, thr, strict=True))
        write_artefact(ARTEFACT, thresholds_json(q, len(neg), limits, tails), a.out_dir)


def thresholds_json(q: float, n_records: int, thresholds: dict[str, float],
                    tails: dict[str, np.ndarray]) -> bytes:
    """The shipped file: thresholds and tails as exact floats (JSON keeps a float's repr)."""
    doc = {
        "written_by": "training/calibrate_measure_reversal.py",
        "about": (f"One specificity per detector ({q:.5f}), chosen on {n_records} PTB-XL records "
                  "of folds 1-8 that no reversal model was fit on, so that "
                  f"{FALSE_ALARM:.0%} of them are flagged with any swap. tails holds each "
                  f"detector's {len(next(iter(tails.values())))} highest scores on those "
                  "correctly wired records (of n_records), from which a reported swap's "
                  "false-alarm rate is read."),
        "n_records": int(n_records),
        "thresholds": {k: float(v) for k, v in thresholds.items()},
        "tails": {k: [float(v) for v in vs] for k, vs in tails.items()},
    }
    return (json.dumps(doc, indent=1) + "\n").encode()


if __name__ == "__main__":
    main()
