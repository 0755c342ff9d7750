"""Are the explanations about the model, and do they point at what the model uses?

    .venv/bin/python -m benchmarks.explain_sanity [--method integrated_gradients]
        [--records 40] [--per-label 15] [--seed 0]

1. Model-randomisation check (Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018):
   the attribution of each record's top label under the trained ensemble is compared with the
   attribution under the same ensemble with every weight re-initialised (cascading
   randomisation of all layers at once). Spearman rank correlation over the 12 × T map, both of
   |attribution| and of the signed map, averaged over ``--records`` fold-9 records.
   Goal: mean < 0.3 — an explanation that survives randomisation describes the input, not
   the model.
2. Deletion test (in the spirit of RISE/ROAR): for fold-9 records that carry a label in
   PTB-XL's ground truth, zero (= the training mean after standardisation) the 10 % of input
   samples (lead × time) with the largest positive attribution for that label, or a random
   10 %, and record the drop of the label's calibrated probability. Goal: the top-10 % drop is
   at least twice the random drop.
PTB-XL fold 9 is read from ``cache/ptbxl`` (tests/conftest.py unpacks it there).
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ecglens.explain.attribution import METHODS, attribute
from ecglens.interpret.pipeline import DEFAULT_BUNDLE
from ecglens.io import read
from ecglens.models import load_predictor

ROOT = Path(__file__).resolve().parents[1]
PTBXL = Path(os.environ.get("ECGLENS_CACHE", ROOT / "cache")) / "ptbxl"
TASK = "all"
DELETION_LABELS = ("NORM", "IMI", "ASMI", "LVH", "CLBBB", "CRBBB", "AFIB", "1AVB", "IRBBB",
                   "LAFB", "NDT", "STACH", "SBRAD", "ISC_", "PVC")


def randomised(predictor):  # type: ignore[no-untyped-def]
    """A copy of the ensemble with every layer re-initialised (BatchNorm statistics reset)."""
    rnd = copy.deepcopy(predictor)
    torch.manual_seed(12345)
    for member in rnd.members.values():
        for module in member.network.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        member.network.eval()
    return rnd


def probability(predictor, x: torch.Tensor, index: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        z = predictor.logits(x, TASK)[:, index] / predictor.temperature(TASK)
    return torch.sigmoid(z).numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_BUNDLE, help="model bundle (default: interpret's)")
    ap.add_argument("--method", choices=METHODS, default="integrated_gradients")
    ap.add_argument("--records", type=int, default=40)
    ap.add_argument("--per-label", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    pred = load_predictor(args.model)
    labels = list(pred.labels(TASK))
    db = pd.read_csv(PTBXL / "ptbxl_database.csv")
    db = db[db.strat_fold == 9].reset_index(drop=True)
    db["codes"] = db.scp_codes.map(lambda s: set(ast.literal_eval(s)))
    rng = np.random.default_rng(args.seed)

    def load(i: int) -> torch.Tensor:
        return pred.preprocess(read(PTBXL / f"{db.filename_lr[i]}.hea").to_standard_12())

    # 1. model randomisation
    t0 = time.perf_counter()
    rnd = randomised(pred)
    rho_abs, rho_sig = [], []
    for i in rng.choice(len(db), size=min(args.records, len(db)), replace=False):
        x = load(int(i))
        top = int(np.argmax(probability(pred, x, slice(None))[0]))  # type: ignore[arg-type]
        a = attribute(lambda b: pred.logits(b, TASK), x, [top], method=args.method)[0].ravel()
        r = attribute(lambda b: rnd.logits(b, TASK), x, [top], method=args.method)[0].ravel()
        rho_abs.append(stats.spearmanr(np.abs(a), np.abs(r)).statistic)
        rho_sig.append(stats.spearmanr(a, r).statistic)
    print(f"method: {args.method}")
    print(f"1. model randomisation, {len(rho_abs)} fold-9 records, top label each "
          f"[{time.perf_counter() - t0:.0f} s]")
    print(f"   Spearman(|trained|, |random|): mean {np.mean(rho_abs):.3f} "
          f"(median {np.median(rho_abs):.3f}, max {np.max(rho_abs):.3f})")
    print(f"   Spearman(signed):              mean {np.mean(rho_sig):.3f} "
          f"(median {np.median(rho_sig):.3f}, max {np.max(rho_sig):.3f})")
    print("   goal mean < 0.3: "
          f"{'PASS' if max(np.mean(rho_abs), np.mean(rho_sig)) < 0.3 else 'FAIL'}"
          " (both variants)")

    # 2. deletion
    t0 = time.perf_counter()
    rows = []
    for code in DELETION_LABELS:
        if code not in labels:
            continue
        k = labels.index(code)
        pos = np.flatnonzero(db.codes.map(lambda c, code=code: code in c).to_numpy())
        for i in rng.choice(pos, size=min(args.per_label, pos.size), replace=False):
            x = load(int(i))
            a = attribute(lambda b: pred.logits(b, TASK), x, [k], method=args.method)[0]
            n_del = round(0.10 * a.size)
            top = np.argsort(-a.ravel())[:n_del]
            masks = [top] + [rng.choice(a.size, size=n_del, replace=False) for _ in range(3)]
            batch = x.repeat(len(masks) + 1, 1, 1)
            for j, m in enumerate(masks, start=1):
                flat = batch[j].reshape(-1)
                flat[torch.from_numpy(m)] = 0.0
            p = probability(pred, batch, k)
            rows.append((code, p[0], p[0] - p[1], float(np.mean(p[0] - p[2:]))))
    df = pd.DataFrame(rows, columns=["label", "p", "drop_top", "drop_random"])
    print(f"\n2. deletion of 10 % of the input, {len(df)} (record, label) pairs from fold-9 "
          f"positives [{time.perf_counter() - t0:.0f} s]")
    per = df.groupby("label")[["p", "drop_top", "drop_random"]].mean()
    per["n"] = df.groupby("label").size()
    print(per.round(3).to_string())
    top_m, rnd_m = df.drop_top.mean(), df.drop_random.mean()
    ratio = top_m / rnd_m if rnd_m > 0 else float("inf")  # random deletion raised p on average
    print(f"   mean probability drop: top-attributed {top_m:.3f}, random {rnd_m:.3f}, "
          f"ratio {ratio:.1f} (goal ≥ 2: {'PASS' if ratio >= 2 else 'FAIL'})")


if __name__ == "__main__":
    main()
