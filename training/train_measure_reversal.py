"""Fit the lead-reversal models on PTB-XL folds 1–8; write weights/measure/reversal-linear.npz.

    python -m training.measure_ptbxl_medians cache/ptbxl --folds 1-8 --n 2500 \
        --out cache/medians_train.npz
    python -m training.train_measure_reversal cache/medians_train.npz [--out-dir DIR]

The weights are written as a numpy .npz (uncompressed, read without pickle) and its SHA-256 is
recorded in ``ecglens.measure.artefacts.SHA256``, which ``ecglens.measure.reversal`` checks on
load; ``--out-dir`` writes the file elsewhere and records nothing (a trial run).

Swaps are simulated on the median beats of real records (see measure_ptbxl_medians.py). The
sensitivities printed are at 99.6 % specificity on these training records; the shipped decision
thresholds are set afterwards on other records by calibrate_measure_reversal.py. Fold 9 is only
used by benchmarks/bench_measure.py for evaluation.
"""

from __future__ import annotations

import argparse
import ast
import io
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from ecglens.measure.artefacts import write_artefact
from ecglens.measure.reversal import (
    CHEST_PAIRS,
    LIMB_SWAPS,
    chest_features,
    fit_chest_to_limb,
    limb_features,
    swap_leads,
)

SPECIFICITY = 0.996
L2 = 1e-2
ARTEFACT = "reversal-linear.npz"


def load(path: Path) -> tuple[list[np.ndarray], list[dict[str, int | None]], float]:
    d = np.load(path)
    keys = ("p_on", "p_off", "qrs_on", "qrs_off", "t_off")
    meds, fids = [], []
    for m, f, ok in zip(d["med"], d["fid"], d["ok"], strict=True):
        if ok:
            meds.append(m)
            fids.append({k: (None if v < 0 else int(v)) for k, v in zip(keys, f, strict=True)})
    return meds, fids, float(d["fs"])


def features(meds, fids, fs, coef):  # type: ignore[no-untyped-def]
    """Limb rows (X, class) and chest rows (X, label) for originals and every simulated swap."""
    lx, ly, cx, cy, lsrc, csrc = [], [], [], [], [], []
    for m, f in zip(meds, fids, strict=True):
        for variant in ("none",) + LIMB_SWAPS + CHEST_PAIRS:
            mm = m if variant == "none" else swap_leads(m, variant)
            lx.append(limb_features(mm, f, fs, coef))
            ly.append(LIMB_SWAPS.index(variant) + 1 if variant in LIMB_SWAPS else 0)
            lsrc.append(variant)
            rows = chest_features(mm, f, fs)
            for k, row in enumerate(rows):
                cx.append(row)
                cy.append(1 if variant == CHEST_PAIRS[k] else 0)
                csrc.append(variant)
    return (np.array(lx), np.array(ly), np.array(lsrc), np.array(cx), np.array(cy),
            np.array(csrc))


def fit_softmax(x: np.ndarray, y: np.ndarray, n_class: int) -> tuple[np.ndarray, np.ndarray]:
    n, d = x.shape
    onehot = np.eye(n_class)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: n_class * d].reshape(n_class, d)
        b = theta[n_class * d:]
        z = x @ w.T + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -np.sum(onehot * np.log(p + 1e-12)) / n + L2 * np.sum(w * w)
        g = (p - onehot) / n
        gw = g.T @ x + 2 * L2 * w
        return nll, np.r_[gw.ravel(), g.sum(axis=0)]

    res = minimize(loss, np.zeros(n_class * d + n_class), jac=True, method="L-BFGS-B",
                   options={"maxiter": 2000})
    return res.x[: n_class * d].reshape(n_class, d), res.x[n_class * d:]


def weights_npz(coef: np.ndarray, lm: np.ndarray, ls: np.ndarray, lw: np.ndarray,
                lb: np.ndarray, cm: np.ndarray, cs: np.ndarray, cw: np.ndarray, cb: float,
                n_records: int) -> bytes:
    """The shipped file, an uncompressed .npz: the arrays at 6 decimals (as they have always
    been shipped: the calibrated thresholds are set on these scores), CHEST_B exact."""
    arrays = {"CHEST_TO_LIMB": coef, "LIMB_MEAN": lm, "LIMB_STD": ls, "LIMB_W": lw, "LIMB_B": lb,
              "CHEST_MEAN": cm, "CHEST_STD": cs, "CHEST_W": cw}
    buf = io.BytesIO()
    np.savez(buf, **{k: six_decimals(v) for k, v in arrays.items()}, CHEST_B=np.float64(cb),
             N_RECORDS=np.int64(n_records))
    return buf.getvalue()


def six_decimals(a: np.ndarray) -> np.ndarray:
    """``a`` rounded as the weights were when they were Python literals: printed by
    ``np.array2string(precision=6)`` and read back (the nearest double to each printed decimal;
    ``np.round`` can differ from it in the last bit)."""
    a = np.asarray(a, dtype=np.float64)
    text = np.array2string(a, separator=", ", precision=6, threshold=a.size + 1)
    return np.array(ast.literal_eval(text), dtype=np.float64).reshape(a.shape)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("medians", type=Path, help="median-beat cache (measure_ptbxl_medians.py)")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="write the weights here instead of the package (nothing recorded)")
    a = ap.parse_args()
    meds, fids, fs = load(a.medians)
    coef = fit_chest_to_limb(meds, fids, fs)
    lx, ly, lsrc, cx, cy, csrc = features(meds, fids, fs, coef)
    lm, ls = lx.mean(axis=0), lx.std(axis=0) + 1e-6
    cm, cs = cx.mean(axis=0), cx.std(axis=0) + 1e-6
    cm[5:], cs[5:] = 0.0, 1.0  # keep the pair one-hot as is
    lw, lb = fit_softmax((lx - lm) / ls, ly, 4)
    cw2, cb2 = fit_softmax((cx - cm) / cs, cy, 2)
    cw, cb = cw2[1] - cw2[0], float(cb2[1] - cb2[0])

    z = (lx - lm) / ls @ lw.T + lb
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    orig = lsrc == "none"
    for k, name in enumerate(LIMB_SWAPS):
        thr = max(float(np.quantile(p[orig, k + 1], SPECIFICITY)), 0.05)
        sens = float((p[ly == k + 1, k + 1] >= thr).mean())
        print(f"train {name}: threshold {thr:.3f} sensitivity {sens:.3f}")
    zc = (cx - cm) / cs @ cw + cb
    pc = 1 / (1 + np.exp(-zc))
    for k, name in enumerate(CHEST_PAIRS):
        pair = cx[:, 5 + k] == 1
        neg = pc[pair & (csrc == "none")]
        thr = max(float(np.quantile(neg, SPECIFICITY)), 0.05)
        sens = float((pc[pair & (cy == 1)] >= thr).mean())
        print(f"train {name}: threshold {thr:.3f} sensitivity {sens:.3f}")

    write_artefact(ARTEFACT, weights_npz(coef, lm, ls, lw, lb, cm, cs, cw, cb, len(meds)),
                   a.out_dir)


if __name__ == "__main__":
    main()
