#!/usr/bin/env python3
"""Train the shipped PTB-XL ensemble on one GPU, build the bundle on fold 9, score it.

    PYTHONPATH=src python3 -m training.train_gpu --data .devdata/pack --val /root/ptbxl9 \\
        --out $OUT --budget 400

1. Every member of MEMBERS trains in its own process, all at once on the one GPU (small 1-D
   CNNs leave a big GPU mostly idle, so parallel processes are nearly free), each fitting its
   epochs into ``--budget`` seconds (the schedule is set after the first epoch).
2. Members are exported as fp16 weights with cards; each task's ensemble is chosen greedily on
   fold 9, temperatures and thresholds are fitted there (``ecglens.train.ensemble``).
3. ``ecglens evaluate`` (its CLI function) scores the bundle on fold 9 for every task.

Outputs: one ``.pt`` per member plus ``meta.tar.gz`` (cards, bundle.json, selection, logs,
evaluation JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from ecglens.data.labels import TASKS
from ecglens.data.training_set import load_training_set, save_training_set
from ecglens.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]

MEMBERS: list[dict[str, object]] = [
    {"name": "xresnet1d101_s0", "arch": "xresnet1d101", "seed": 0},
    {"name": "xresnet1d101_s1", "arch": "xresnet1d101", "seed": 1},
    {"name": "inception1d_s0", "arch": "inception1d", "seed": 0},
    {"name": "xresnet1d50_s0", "arch": "xresnet1d50", "seed": 0},
    {"name": "resnet1d_wang_s0", "arch": "resnet1d_wang", "seed": 0},
    # age and sex from 5 s windows, no label loss
    {"name": "agesex_xresnet1d50", "arch": "xresnet1d50", "seed": 2, "window": 500,
     "stride": 250, "w_labels": 0.0, "w_age": 1.0, "w_sex": 1.0},
    # second round: form specialists (the benchmark trains one network per task) and more seeds
    *[{"name": f"form_{arch}", "arch": arch, "seed": 3, "w_age": 0.0, "w_sex": 0.0,
       "task_weights": dict.fromkeys(("all", "diagnostic", "subdiagnostic", "superdiagnostic",
                                      "rhythm"), 0.0)}
      for arch in ("inception1d", "resnet1d_wang", "xresnet1d50")],
    {"name": "inception1d_s1", "arch": "inception1d", "seed": 1},
    {"name": "resnet1d_wang_s1", "arch": "resnet1d_wang", "seed": 1},
]


def run_evaluate(val: Path, bundle: Path, task: str, max_records: int | None
                 ) -> dict[str, object]:
    """The ``ecglens evaluate`` subcommand, in process (its parser and function)."""
    from ecglens.cli import evaluate as ev

    parser = argparse.ArgumentParser(prog="ecglens")
    ev.add_parser(parser.add_subparsers())
    args = parser.parse_args(["evaluate", str(val), "--task", task, "--folds", "9", "--json",
                              "--model", str(bundle)]
                             + (["--max-records", str(max_records)] if max_records else []))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        args.func(args)
    return json.loads(buf.getvalue())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--val", help="PTB-XL folder with fold 9 (official layout)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default="/root/work")
    ap.add_argument("--budget", type=float, default=400)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--max-records", type=int)
    ap.add_argument("--val-max-records", type=int)
    ap.add_argument("--train-folds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8])
    ap.add_argument("--tiny", action="store_true", help="replace every architecture by a "
                    "16-channel resnet1d_wang (a CPU smoke test of the pipeline)")
    ap.add_argument("--members", nargs="*", help="names from MEMBERS (default: all)")
    ap.add_argument("--version", default="1.0")
    a = ap.parse_args()
    t0 = time.time()
    out, work = Path(a.out), Path(a.work)
    runs = work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    data = load_training_set(a.data, folds=a.train_folds, max_records=a.max_records)
    cache = work / "train.npz"
    save_training_set(data, cache)
    print(f"[{time.time() - t0:.0f}s] training set {data.x.shape} cached", flush=True)
    members = [m for m in MEMBERS if not a.members or m["name"] in a.members]
    procs = {}
    for m in members:
        tiny = {"arch": "resnet1d_wang", "model_kwargs": {"planes": 16}} if a.tiny else {}
        cfg = TrainConfig(**{**m, **tiny, "epochs": a.epochs, "time_budget_s": a.budget,
                             "train_folds": a.train_folds})
        d = runs / cfg.name
        d.mkdir(exist_ok=True)
        (d / "config.json").write_text(cfg.model_dump_json(indent=1))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
        procs[cfg.name] = subprocess.Popen(
            [sys.executable, "-m", "ecglens.train.run", str(d / "config.json"), str(cache),
             str(d)], stdout=(d / "stdout.log").open("w"), stderr=subprocess.STDOUT, env=env)
    while any(p.poll() is None for p in procs.values()):
        time.sleep(20)
        status = []
        for name, p in procs.items():
            log = runs / name / "train.log"
            last = log.read_text().strip().splitlines()[-1:] if log.exists() else []
            status.append(f"{name}:{'run' if p.poll() is None else p.returncode} "
                          f"{last[0][:70] if last else ''}")
        print(f"[{time.time() - t0:.0f}s] " + " | ".join(status), flush=True)
    done = [runs / n for n, p in procs.items() if p.returncode == 0]
    for n, p in procs.items():
        if p.returncode != 0:
            print(f"member {n} FAILED:\n{(runs / n / 'stdout.log').read_text()[-3000:]}")
    from ecglens.train.ensemble import build_bundle, export_members

    bundle = work / "bundle" / "ptbxl-ensemble"
    export_members(done, bundle)
    for pt in bundle.glob("*.pt"):
        shutil.copy(pt, out / pt.name)
    print(f"[{time.time() - t0:.0f}s] exported {len(done)} members", flush=True)
    results: dict[str, object] = {}
    try:
        if a.val and Path(a.val).is_dir():
            import torch

            val = load_training_set(a.val, folds=[9], label_names=data.layout.labels,
                                    max_records=a.val_max_records)
            report = build_bundle(done, val, bundle, name="ptbxl-ensemble", version=a.version,
                                  device="cuda" if torch.cuda.is_available() else "cpu")
            print(json.dumps({t: (r["members"], round(r["fold9_score"], 4))
                              for t, r in report.items()}), flush=True)
            print(f"[{time.time() - t0:.0f}s] bundle built", flush=True)
            os.environ["ECGLENS_CACHE"] = str(work / "cache")
            for task in TASKS:
                results[task] = run_evaluate(Path(a.val), bundle, task, a.val_max_records)
                r = results[task]
                print(task, r.get("macro_auc", r.get("mae_years")), r.get("auc_ci95"),
                      r.get("ece"), flush=True)
            for pt in out.glob("*.pt"):  # keep only members the bundle uses
                if not (bundle / pt.name).exists():
                    pt.unlink()
    finally:
        (work / "evaluate_fold9.json").write_text(json.dumps(results, indent=1))
        with tarfile.open(out / "meta.tar.gz", "w:gz") as tar:
            for f in bundle.glob("*.json"):
                tar.add(f, arcname=f"bundle/{f.name}")
            for d in runs.iterdir():
                for f in d.glob("*.log"):
                    tar.add(f, arcname=f"runs/{d.name}/{f.name}")
                if (d / "card.json").exists():
                    tar.add(d / "card.json", arcname=f"runs/{d.name}/card.json")
            tar.add(work / "evaluate_fold9.json", arcname="evaluate_fold9.json")
        print(f"[{time.time() - t0:.0f}s] done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
