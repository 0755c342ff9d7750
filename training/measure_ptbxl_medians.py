"""Median beats of PTB-XL records, cached for the lead-reversal fit and its calibration.

    python -m training.measure_ptbxl_medians cache/ptbxl --folds 1-8 --n 2500 \
        --out cache/medians_train.npz
    python -m training.measure_ptbxl_medians cache/ptbxl --folds 9 --out cache/medians_fold9.npz
    python -m training.measure_ptbxl_medians cache/ptbxl --folds 1-8 --out cache/medians_calib.npz \
        --exclude cache/medians_train.npz cache/medians_train7k.npz

Lead swaps are signed permutations of the leads; filtering and the per-lead median commute with
them, so the median beats of a record with simulated swapped electrodes are exactly the signed
permutation of the original's median beats. Caching them once makes every swap free to simulate.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

from ecglens.measure import analyze
from ecglens.record import make_ecg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ptbxl", type=Path)
    ap.add_argument("--folds", default="9")
    ap.add_argument("--n", type=int, default=0, help="random subset size (0 = all)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--exclude", type=Path, nargs="*", default=[],
                    help="median caches whose records to leave out (the ones a model was fit on)")
    a = ap.parse_args()
    lo, _, hi = a.folds.partition("-")
    folds = set(range(int(lo), int(hi or lo) + 1))
    db = pd.read_csv(a.ptbxl / "ptbxl_database.csv")
    db = db[db.strat_fold.isin(folds)]
    seen = {int(i) for f in a.exclude for i in np.load(f)["ecg_id"]}
    db = db[~db.ecg_id.isin(seen)]
    if a.n:
        db = db.sample(n=min(a.n, len(db)), random_state=0)
    meds, fids, ids, afib, ok = [], [], [], [], []
    for _, row in db.iterrows():
        rec = wfdb.rdrecord(str(a.ptbxl / row.filename_lr))
        ecg = make_ecg(rec.p_signal, rec.fs, rec.sig_name)
        res = analyze(ecg)
        codes = ast.literal_eval(row.scp_codes)
        good = res.median_beats.shape[1] == 120 and res.fiducials["qrs_on"] is not None
        meds.append(res.median_beats if good else np.zeros((12, 120)))
        f = res.fiducials
        fids.append([-1 if f[k] is None else f[k] for k in ("p_on", "p_off", "qrs_on", "qrs_off",
                                                             "t_off")])
        ids.append(int(row.ecg_id))
        afib.append("AFIB" in codes)
        ok.append(good)
    np.savez_compressed(a.out, med=np.array(meds), fid=np.array(fids), ecg_id=np.array(ids),
                        afib=np.array(afib), ok=np.array(ok), fs=100.0)


if __name__ == "__main__":
    main()
