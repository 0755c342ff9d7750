"""Fit the P-absence model of ``ecglens.measure.delineate.p_wave_present`` on PTB-XL folds 1–8.

    python -m training.train_measure_p_presence [--sinus 1500] [--write] [--out-dir DIR]

Records: every fold 1–8 record coded AFIB (P absent) and a random sample of records coded SR
without AFIB/AFLT (P present). Inputs per record, from ``analyze``: the P-window evidence of the
median beat (spatial amplitude, beat-to-beat reproducibility) and the rhythm (RR irregularity,
RR coefficient of variation). An L2 logistic regression on ``p_presence_features``; its decision
threshold is set so that 1 % of the training sinus records are called P-less. Fold 9 is used only
to print the result against the rule in the checked-out code. ``--write`` writes the model to
src/ecglens/weights/measure/p-presence.json (coefficients, intercept and threshold rounded to 4
decimals, as they have always been shipped) and records its SHA-256 in
``ecglens.measure.artefacts.SHA256``, which ``delineate`` checks on load; ``--out-dir`` writes
it elsewhere and records nothing.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from scipy.optimize import minimize

from benchmarks.bench_measure import ptbxl_dir  # the benchmark's own PTB-XL cache (unpacked once)
from ecglens.measure import analyze
from ecglens.measure import delineate as dl
from ecglens.measure.artefacts import write_artefact
from ecglens.record import make_ecg

SINUS_CALLED_ABSENT = 0.01
L2 = 0.1
ARTEFACT = "p-presence.json"
FEATURES = ("reproducibility", "log amplitude (mV)", "RR irregularity", "RR CV",
            "reproducibility x RR CV")  # dl.p_presence_features, in order


def records(folds: list[int], n_sinus: int, seed: int = 0) -> pd.DataFrame:
    db = pd.read_csv(ptbxl_dir() / "ptbxl_database.csv")
    db = db[db.strat_fold.isin(folds)]
    codes = db.scp_codes.map(ast.literal_eval)
    af = db[codes.map(lambda c: "AFIB" in c)].assign(absent=True)
    sr = db[codes.map(lambda c: "SR" in c and "AFIB" not in c and "AFLT" not in c)]
    sr = sr.sample(min(n_sinus, len(sr)), random_state=seed).assign(absent=False)
    return pd.concat([af, sr])


def evidence(db: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features (records with a P-window to test), labels, and the current rule's verdicts."""
    d = ptbxl_dir()
    x, y, now, ok = [], [], [], []
    for k, row in enumerate(db.itertuples()):
        rec = wfdb.rdrecord(str(d / row.filename_lr))
        a = analyze(make_ecg(rec.p_signal, rec.fs, rec.sig_name))
        usable = a.p_reproducibility is not None and a.p_amplitude_mv >= dl.P_MIN_AMP_MV
        ok.append(usable)
        x.append(dl.p_presence_features(a.p_amplitude_mv, a.p_reproducibility or 0.0,
                                        a.rr_irregularity, a.rr_cv))
        y.append(row.absent)
        now.append(not a.p_waves_present)
        if k % 500 == 0:
            print(f"  {k}/{len(db)}", file=sys.stderr)
    return np.array(x), np.array(y, bool), np.array(now, bool), np.array(ok, bool)


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    mu, sd = x.mean(0), x.std(0) + 1e-12
    z = (x - mu) / sd

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        t = w[0] + z @ w[1:]
        p = 1 / (1 + np.exp(-t))
        ll = np.sum(np.logaddexp(0, t) - y * t)
        g = np.r_[np.sum(p - y), z.T @ (p - y)] + L2 * np.r_[0, w[1:]]
        return ll + 0.5 * L2 * np.sum(w[1:] ** 2), g

    w = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B").x
    coef = w[1:] / sd  # back to raw feature units
    return coef, float(w[0] - np.sum(w[1:] * mu / sd)), mu, sd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinus", type=int, default=1500, help="sinus records sampled from folds 1-8")
    ap.add_argument("--write", action="store_true", help=f"write {ARTEFACT} into the package")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="with --write: write the file here instead (nothing recorded)")
    args = ap.parse_args()
    tr = records(list(range(1, 9)), args.sinus)
    print(f"folds 1-8: {int(tr.absent.sum())} AFIB, {int((~tr.absent).sum())} sinus records")
    x, y, _, ok = evidence(tr)
    coef, icpt, _, _ = fit(x[ok], y[ok].astype(float))
    logit = icpt + x @ coef
    thr = float(np.quantile(logit[ok & ~y], 1 - SINUS_CALLED_ABSENT))
    absent = ~ok | (logit >= thr)
    print(f"coefficients {np.round(coef, 4).tolist()}, intercept {icpt:.4f}, logit threshold "
          f"{thr:.4f}")
    print(f"training: AFIB called P-less {absent[y].mean():.1%}, sinus {absent[~y].mean():.1%}")

    te = records([9], 10**6)
    x9, y9, now9, ok9 = evidence(te)
    new9 = ~ok9 | (icpt + x9 @ coef >= thr)
    print(f"fold 9 ({int(y9.sum())} AFIB, {int((~y9).sum())} sinus): P absent in AFIB "
          f"{new9[y9].mean():.1%} (rule in delineate.py when this ran: {now9[y9].mean():.1%}), in "
          "sinus "
          f"{new9[~y9].mean():.1%} (rule when this ran: {now9[~y9].mean():.1%})")
    if args.write:
        write_artefact(ARTEFACT, model_json(coef, icpt, thr), args.out_dir)


def model_json(coef: np.ndarray, intercept: float, threshold: float) -> bytes:
    """The shipped file: P absent where intercept + coef . features >= logit_threshold."""
    def four(v: float) -> float:
        return float(f"{v:.4f}")

    doc = {
        "written_by": "training/train_measure_p_presence.py",
        "about": "logistic P-absence model of ecglens.measure.delineate.p_wave_present: the P "
                 "wave counts as absent where intercept + coef . features >= logit_threshold",
        "features": list(FEATURES),
        "coef": [four(c) for c in coef],
        "intercept": four(intercept),
        "logit_threshold": four(threshold),
    }
    return (json.dumps(doc, indent=1) + "\n").encode()


if __name__ == "__main__":
    main()
