"""Fit the LA/LL reversal detector on PTB-XL folds 1–8; write reversal-lall-trees.npz.

    python -m training.measure_ptbxl_medians cache/ptbxl --folds 1-8 --n 7000 \
        --out cache/medians_train7k.npz
    python -m training.train_measure_reversal_lall cache/medians_train7k.npz [--out-dir DIR]

Swapping LA and LL mirrors the frontal plane about the aVR axis (I ↔ II, III → −III, aVL ↔ aVF):
a normal ECG stays a plausible ECG, so a linear score of the limb features finds few swaps (15 %
at 99.6 % specificity). The signs are combinations (a P wave larger in I than in II *and* a
negative P in III; I resembling its chest-lead prediction less than II does), which trees capture.
Gradient-boosted trees (LightGBM, used only here) on the same 44 limb features, LA/LL-swapped
versions of the records against the originals and their LA/RA and RA/LL versions. The tree size
(GRID) is chosen by the out-of-fold sensitivity (5 folds by record) at the 99.6 % quantile of the
out-of-fold scores of the unswapped records (7,000 records: 44 % for 7 leaves × 200 trees, 52 %
for 15 × 300, 54 % for 31 × 300). The trees are exported to numpy arrays (a compressed .npz, read
without pickle, its SHA-256 recorded in ``ecglens.measure.artefacts.SHA256``) and evaluated by
``ecglens.trees`` (no LightGBM at run time); ``--out-dir`` writes the file elsewhere and records
nothing (a trial run). The shipped decision threshold is set on other records by
calibrate_measure_reversal.py. Fold 9 is only used by benchmarks/bench_measure.py.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from ecglens.measure.artefacts import write_artefact
from ecglens.measure.reversal import LIMB_SWAPS, limb_features, swap_leads
from ecglens.trees import forest_from_arrays
from training.train_measure_reversal import load

SPECIFICITY = 0.996
N_FOLDS = 5
GRID = ((7, 200), (15, 300), (31, 300))  # (leaves per tree, trees); the best out-of-fold is kept
PARAMS = {"objective": "binary", "learning_rate": 0.05, "min_data_in_leaf": 20,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
          "verbose": -1, "num_threads": 1, "seed": 0, "deterministic": True}
ARTEFACT = "reversal-lall-trees.npz"


def features(meds: list[np.ndarray], fids: list[dict[str, int | None]],
             fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Limb features of each record and its three limb swaps; label 1 = LA/LL; record index."""
    x, y, rec = [], [], []
    for k, (m, f) in enumerate(zip(meds, fids, strict=True)):
        for variant in ("none",) + LIMB_SWAPS:
            mm = m if variant == "none" else swap_leads(m, variant)
            x.append(limb_features(mm, f, fs))
            y.append(int(variant == "LA/LL"))
            rec.append(k)
    return np.array(x), np.array(y), np.array(rec)

def flatten(booster: lgb.Booster) -> dict[str, np.ndarray]:
    """Trees as arrays: internal node i tests x[feature[i]] <= threshold[i]; a child < 0 is
    leaf ~child, whose value is in leaf[tree, ~child]."""
    trees = booster.dump_model()["tree_info"]
    n_int = max(t["num_leaves"] - 1 for t in trees)
    n_leaf = max(t["num_leaves"] for t in trees)
    feat = np.zeros((len(trees), max(n_int, 1)), dtype=np.int64)
    thr = np.zeros((len(trees), max(n_int, 1)))
    left = np.full((len(trees), max(n_int, 1)), -1, dtype=np.int64)
    right = np.full((len(trees), max(n_int, 1)), -1, dtype=np.int64)
    leaf = np.zeros((len(trees), n_leaf))
    depth = 0

    def walk(t: int, node: dict[str, Any], d: int) -> int:
        nonlocal depth
        depth = max(depth, d)
        if "leaf_index" in node:
            leaf[t, node["leaf_index"]] = node["leaf_value"]
            return ~int(node["leaf_index"])
        i = int(node["split_index"])
        if node["decision_type"] != "<=":
            raise ValueError(f"unsupported split {node['decision_type']}")
        feat[t, i], thr[t, i] = node["split_feature"], node["threshold"]
        left[t, i] = walk(t, node["left_child"], d + 1)
        right[t, i] = walk(t, node["right_child"], d + 1)
        return i

    for t, tree in enumerate(trees):
        root = tree["tree_structure"]
        if "split_index" not in root:  # a single-leaf tree: every row ends in leaf 0
            leaf[t, 0] = root.get("leaf_value", 0.0)
            left[t, 0] = right[t, 0] = ~0
            continue
        walk(t, root, 0)
    small = np.int8 if max(n_leaf, feat.max() + 1) < 128 else np.int16  # compact, exact
    return {"split_feature": feat.astype(small), "split_threshold": thr,
            "left": left.astype(small), "right": right.astype(small), "leaf": leaf,
            "depth": np.array(depth)}


def trees_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """The shipped file: the arrays exactly (float64 thresholds and leaves), compressed .npz."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def probabilities(arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """P(LA/LL) of rows x by the exported trees, as ecglens.measure.reversal scores them."""
    return 1.0 / (1.0 + np.exp(-forest_from_arrays(arrays).raw(x)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("medians", type=Path, help="median-beat cache (measure_ptbxl_medians.py)")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="write the trees here instead of the package (nothing recorded)")
    a = ap.parse_args()
    meds, fids, fs = load(a.medians)
    x, y, rec = features(meds, fids, fs)
    orig = np.arange(len(y)) % (1 + len(LIMB_SWAPS)) == 0
    fold = rec % N_FOLDS
    best: tuple[float, int, int] | None = None
    for leaves, rounds in GRID:
        params = dict(PARAMS, num_leaves=leaves)
        oof = np.zeros(len(y))
        for k in range(N_FOLDS):
            b = lgb.train(params, lgb.Dataset(x[fold != k], y[fold != k]), rounds)
            oof[fold == k] = b.predict(x[fold == k])
        thr = float(np.quantile(oof[orig], SPECIFICITY))
        sens = float((oof[y == 1] >= thr).mean())
        print(f"{leaves} leaves x {rounds} trees, out-of-fold: threshold {thr:.4f}, LA/LL "
              f"sensitivity {sens:.3f}, LA/RA or RA/LL called LA/LL "
              f"{(oof[(y == 0) & ~orig] >= thr).mean():.4f}")
        if best is None or sens > best[0]:
            best = (sens, leaves, rounds)
    assert best is not None
    _, leaves, rounds = best
    booster = lgb.train(dict(PARAMS, num_leaves=leaves), lgb.Dataset(x, y), rounds)
    arrays = flatten(booster)

    check = probabilities(arrays, x[:200])
    if not np.allclose(check, booster.predict(x[:200]), atol=1e-9):
        raise SystemExit("exported trees disagree with LightGBM")

    path = write_artefact(ARTEFACT, trees_npz(arrays), a.out_dir)
    # the written file must give the same scores as LightGBM (floats written exactly)
    with np.load(path, allow_pickle=False) as z:
        written = {k: z[k] for k in z.files}
    if not np.allclose(probabilities(written, x[::7]), booster.predict(x[::7]), atol=1e-9):
        raise SystemExit(f"{path} disagrees with LightGBM")

if __name__ == "__main__":
    main()
