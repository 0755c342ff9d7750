"""``ecglens train DATA --out DIR``: train one multi-task network on PTB-XL (resumable)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ecglens.cli.common import print_json
from ecglens.exceptions import DataError


def _run(args: argparse.Namespace) -> int:
    from ecglens.data.training_set import load_training_set
    from ecglens.train.config import TrainConfig
    from ecglens.train.loop import train_member

    out = Path(args.out)
    cfg_path = out / "config.json"
    if cfg_path.is_file():  # resume with the settings the run started with
        cfg = TrainConfig.model_validate_json(cfg_path.read_text())
    else:
        cfg = TrainConfig(name=args.name or out.name, arch=args.arch, seed=args.seed,
                          epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          window=args.window, stride=args.window // 2,
                          time_budget_s=args.time_budget, train_folds=args.train_folds,
                          w_labels=args.w_labels, w_age=args.w_age, w_sex=args.w_sex)
        out.mkdir(parents=True, exist_ok=True)
        cfg_path.write_text(cfg.model_dump_json(indent=1))
    if not Path(args.data).exists():
        raise DataError(f"{args.data}: no such PTB-XL folder or training pack")
    data = load_training_set(args.data, folds=cfg.train_folds, max_records=args.max_records,
                             seed=cfg.seed)
    train_member(cfg, data, out, device=args.device)
    card = json.loads((out / "card.json").read_text())
    summary = {k: card[k] for k in ("arch", "epochs_run", "n_train_records", "train_wall_s",
                                    "device")}
    if args.json:
        print_json({"out": str(out), **summary})
    else:
        print(f"trained {summary['arch']} for {summary['epochs_run']} epochs on "
              f"{summary['n_train_records']} records in {summary['train_wall_s']} s "
              f"({summary['device']}); weights in {out}/final.pt")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train a diagnostic network on PTB-XL (folds 1-8)")
    p.add_argument("data", help="PTB-XL folder (official layout) or a training pack")
    p.add_argument("--out", required=True, help="run folder (checkpoints, log, card); an "
                                                "existing run folder is resumed")
    p.add_argument("--name", help="member name (default: the run folder's name)")
    p.add_argument("--arch", default="xresnet1d101", help="registered architecture")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--time-budget", type=float, help="seconds; fewer epochs if needed")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--window", type=int, default=250, help="crop length in samples at 100 Hz")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-folds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8])
    p.add_argument("--max-records", type=int, help="train on a random subset (smoke tests)")
    p.add_argument("--w-labels", type=float, default=1.0, help="loss weight of label tasks")
    p.add_argument("--w-age", type=float, default=0.5)
    p.add_argument("--w-sex", type=float, default=0.5)
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)
