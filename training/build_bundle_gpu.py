#!/usr/bin/env python3
"""Build the shipped bundle from exported members (``NAME.pt`` + ``NAME.json`` pairs) on fold 9
and score it with ``ecglens evaluate``; returns bundle.json, selection, evaluation and every
member's fold-9 outputs.

    PYTHONPATH=src python3 -m training.build_bundle_gpu --members .devdata/members \\
        --val /root/ptbxl9 --out $OUT
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from ecglens.data.labels import TASKS
from ecglens.data.training_set import load_training_set
from ecglens.train.ensemble import build_bundle
from training.train_gpu import run_evaluate


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", required=True, nargs="+", help="folders of members")
    ap.add_argument("--val", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default="/root/bundlework")
    ap.add_argument("--version", default="1.1")
    ap.add_argument("--val-max-records", type=int)
    a = ap.parse_args()
    import torch

    out, work = Path(a.out), Path(a.work)
    bundle = work / "ptbxl-ensemble"
    bundle.mkdir(parents=True, exist_ok=True)
    entries = []
    cards = sorted(p for d in a.members for p in Path(d).glob("*.json")
                   if p.name not in ("bundle.json", "selection.json"))
    for card_path in cards:
        card = json.loads(card_path.read_text())
        src = card_path.parent
        name = card_path.stem
        shutil.copy(src / f"{name}.pt", bundle / f"{name}.pt")
        shutil.copy(card_path, bundle / card_path.name)
        entries.append({"name": name, "arch": card["arch"], "sha256": card["sha256"]})
    first = json.loads(cards[0].read_text())
    val = load_training_set(a.val, folds=[9], label_names=first["layout"]["labels"],
                            max_records=a.val_max_records)
    report = build_bundle([], val, bundle, name="ptbxl-ensemble", version=a.version,
                          device="cuda" if torch.cuda.is_available() else "cpu",
                          entries=entries, outputs_path=out / "fold9_outputs.npz")
    print(json.dumps({t: (r["members"], round(r["fold9_score"], 4)) for t, r in report.items()}),
          flush=True)
    os.environ["ECGLENS_CACHE"] = str(work / "cache")
    results = {}
    for task in TASKS:
        results[task] = run_evaluate(Path(a.val), bundle, task, a.val_max_records)
        r = results[task]
        print(task, r.get("macro_auc", r.get("mae_years")), r.get("auc_ci95"), r.get("ece"),
              flush=True)
    (out / "evaluate_fold9.json").write_text(json.dumps(results, indent=1))
    shutil.copy(bundle / "bundle.json", out / "bundle.json")
    shutil.copy(bundle / "selection.json", out / "selection.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
