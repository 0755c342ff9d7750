"""Abstention: does ``interpret`` refuse what it cannot read, and only that?

    .venv/bin/python -m benchmarks.abstention_check [--records 0] [--corrupt 100]

1. Good records: every PTB-XL fold-9 record (``--records N`` for the first N) through
   ``interpret`` (no explanations); prints the abstention rate and its reasons (goal < 2 %).
2. Inputs that must not get a confident finding: Gaussian noise, flat lines, a sine wave,
   a unit error (µV read as mV), and real fold-9 records with one random lead replaced by noise
   of that lead's own standard deviation. Prints how many got any finding above the
   high-specificity threshold (goal: none), and — to show what the checks are for — how many
   would have got one from the network alone.
PTB-XL is read from ``cache/ptbxl`` (tests/conftest.py unpacks it there).
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ecglens.interpret.pipeline import DEFAULT_BUNDLE, interpret
from ecglens.interpret.predictor import score
from ecglens.io import read
from ecglens.models import load_predictor
from ecglens.record import STANDARD_LEADS, make_ecg

ROOT = Path(__file__).resolve().parents[1]
PTBXL = Path(os.environ.get("ECGLENS_CACHE", ROOT / "cache")) / "ptbxl"


def fold9(n: int) -> list[Path]:
    db = pd.read_csv(PTBXL / "ptbxl_database.csv")
    files = [PTBXL / f"{f}.hea" for f in db[db.strat_fold == 9].filename_lr]
    return files[:n] if n else files


def network_confident(pred, ecg) -> bool:  # type: ignore[no-untyped-def]
    try:
        s = score(pred, ecg.to_standard_12(), "all", keep_graph=False)
    except ValueError:
        return False
    return any(t is not None and p >= t for p, _, t in s.labels.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_BUNDLE, help="model bundle (default: interpret's)")
    ap.add_argument("--records", type=int, default=0, help="fold-9 records (0 = all)")
    ap.add_argument("--corrupt", type=int, default=100, help="records with a noisy lead")
    args = ap.parse_args()
    torch.set_num_threads(1)
    pred = load_predictor(args.model)
    rng = np.random.default_rng(2026)

    files = fold9(args.records)
    t0 = time.perf_counter()
    reasons: collections.Counter[str] = collections.Counter()
    n_abst = n_caution = 0
    for f in files:
        r = interpret(read(f), predictor=pred, explain=0)
        n_caution += bool(r.abstention.caution)
        if r.abstention.abstained:
            n_abst += 1
            reasons.update(x.split(":")[0] for x in r.abstention.reasons)
    dt = time.perf_counter() - t0
    print(f"good records: PTB-XL fold 9, {len(files)} records, abstained {n_abst} "
          f"({100 * n_abst / len(files):.2f} %) [{dt / len(files) * 1000:.0f} ms/record]")
    for why, k in reasons.most_common():
        print(f"    {k:5d}  {why}")
    print(f"    interpreted with caution (no finding may be confident): {n_caution} "
          f"({100 * n_caution / len(files):.2f} %)")

    fs, n = 500.0, 5000
    t = np.arange(n)[:, None] / fs
    synthetic = {
        "gaussian noise 0.5 mV": lambda i: rng.normal(0, 0.5, (n, 12)),
        "gaussian noise 0.05 mV": lambda i: rng.normal(0, 0.05, (n, 12)),
        "flat line": lambda i: np.zeros((n, 12)),
        "flat line + 10 µV noise": lambda i: rng.normal(0, 0.01, (n, 12)),
        "sine 1.2 Hz, 1 mV": lambda i: np.tile(np.sin(2 * np.pi * (1 + 0.1 * i) * t), (1, 12)),
        "random walk": lambda i: np.cumsum(rng.normal(0, 0.02, (n, 12)), axis=0),
    }
    print("\ninputs that must get no confident finding (cases: interpret confident / network "
          "alone confident):")
    for name, make in synthetic.items():
        ours = raw = 0
        for i in range(10):
            ecg = make_ecg(make(i), fs, list(STANDARD_LEADS))
            r = interpret(ecg, predictor=pred, explain=0)
            ours += any(f.confident for f in r.findings)
            raw += network_confident(pred, ecg)
        print(f"    {name:<28} 10 cases: {ours} / {raw}")
    ours = raw = 0
    unit = [(e := read(f)).replace(signal=e.signal * 1000) for f in files[:10]]
    for ecg in unit:
        ours += any(f.confident for f in interpret(ecg, predictor=pred, explain=0).findings)
        raw += network_confident(pred, ecg)
    print(f"    {'µV read as mV (×1000)':<28} 10 cases: {ours} / {raw}")
    ours = raw = 0
    picks = rng.choice(len(files), size=min(args.corrupt, len(files)), replace=False)
    for k in picks:
        ecg = read(files[k])
        sig = np.array(ecg.signal)
        # an independent lead: the model derives III, aVR, aVL, aVF from I and II itself
        j = ecg.leads.index(str(rng.choice(["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"])))
        sig[:, j] = rng.normal(0, max(sig[:, j].std(), 0.05), sig.shape[0])
        bad = ecg.replace(signal=sig)
        ours += any(f.confident for f in interpret(bad, predictor=pred, explain=0).findings)
        raw += network_confident(pred, bad)
    print(f"    {'one lead replaced by noise':<28} {len(picks)} cases: {ours} / {raw}")


if __name__ == "__main__":
    main()
