"""``ecglens evaluate PTBXL_DIR --task TASK --folds 9 [--json]``: score the model on PTB-XL."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecglens.cli.common import print_json
from ecglens.data.labels import TASKS
from ecglens.exceptions import DataError


def _run(args: argparse.Namespace) -> int:
    from ecglens.data.ptbxl import available_folds
    from ecglens.evaluate.run import evaluate_task, load_outputs
    from ecglens.models import load_predictor

    root = Path(args.ptbxl_dir)
    have = available_folds(root)
    missing = [f for f in args.folds if f not in have]
    if missing:
        raise DataError(f"{root}: folds {missing} are not available here (found {have})")
    predictor = load_predictor(args.model)
    # a cached run holds every member's outputs; without one, compute only this task's
    data, outs = load_outputs(predictor, root, args.folds, args.max_records,
                              use_cache=not args.no_cache,
                              task=args.task if args.no_cache else None,
                              stored=Path(args.outputs) if args.outputs else None)
    res = evaluate_task(predictor, data, outs, args.task, n_boot=args.bootstrap)
    res["folds"] = args.folds
    if args.json:
        print_json(res)
        return 0
    if args.task == "age":
        lo, hi = res["mae_ci95"] or (None, None)
        print(f"age: MAE {_num(res['mae_years'], '.2f')} y (95% CI {_num(lo, '.2f')}-"
              f"{_num(hi, '.2f')}) on {res['n_records']} records, folds {args.folds}")
    else:
        lo, hi = res["auc_ci95"] or (None, None)
        ci = "no CI: too few positives" if lo is None else f"95% CI {_num(lo)}-{_num(hi)}"
        print(f"{args.task}: macro AUC {_num(res['macro_auc'])} ({ci}), "
              f"ECE {_num(res['ece'])} on {res['n_records']} records, folds {args.folds}")
    for k, v in res.get("subgroups", {}).items():
        metric = v.get("macro_auc", v.get("mae_years"))
        # a subgroup with no positive of any label has no AUC: say so instead of failing
        print(f"  {k:>12}: n={v['n']:5d}  {_num(metric)}")
    return 0


def _num(x: float | None, spec: str = ".3f") -> str:
    return "—" if x is None else format(x, spec)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("evaluate", help="score the diagnostic model on PTB-XL folds")
    p.add_argument("ptbxl_dir", help="PTB-XL folder in the official layout")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--folds", type=int, nargs="+", default=[9])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--model", help="model bundle name or folder (default: the shipped one)")
    p.add_argument("--max-records", type=int, help="score a fixed random subset")
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for CIs")
    p.add_argument("--no-cache", action="store_true", help="recompute network outputs")
    p.add_argument("--outputs", help="stored member outputs (.npz with ecg_ids) to score "
                                     "instead of running the networks")
    p.set_defaults(func=_run)
