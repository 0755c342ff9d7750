#!/usr/bin/env python3
"""Inference throughput of the shipped diagnostic model on this CPU, and training wall time.

    python -m benchmarks.bench_inference [--records 32] [--repeats 3] [--threads N]

For each member of the shipped bundle and for the whole bundle (``Predictor.predict``), prints
ECGs per second for single ECGs (one 10 s record at a time, sliding windows inside) and for a
batch of ``--records`` PTB-XL fold-9 records. The baseline, named in every ratio, is the
smallest member (resnet1d_wang), run in the same process. Training: the wall time recorded in
each member's card (GPU run) and, measured here, CPU seconds per training step of 128 crops.
Numbers on a shared machine are pessimistic; the script prints the load average with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ecglens.data.labels import LABEL_TASKS
from ecglens.data.training_set import load_training_set
from ecglens.models import create_model, load_predictor
from ecglens.record import ECG, STANDARD_LEADS
from ecglens.train.config import TrainConfig
from ecglens.train.loop import multitask_loss

ROOT = Path(__file__).resolve().parents[1]


def _best(fn, repeats: int) -> float:
    fn()  # warm-up: oneDNN builds its kernels on the first call of each shape
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ptbxl", default=str(ROOT / "cache" / "ptbxl"))
    ap.add_argument("--records", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} threads, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    p = load_predictor("ptbxl-ensemble")  # every member architecture; not DEFAULT_MODEL
    labels = {t: p.labels(t) for t in LABEL_TASKS}
    data = load_training_set(a.ptbxl, folds=[9], label_names=labels, max_records=a.records)
    x = p.standardise(data.x)
    one = x[:1]
    rows = []
    with torch.no_grad():
        for name in p.members:
            single = _best(lambda n=name: p.member_outputs(n, one), a.repeats)
            batch = _best(lambda n=name: p.member_outputs(n, x), a.repeats)
            rows.append((name, 1 / single, len(x) / batch))
    base = next(r for r in rows if r[0].startswith("resnet1d_wang"))
    print(f"\n{'member':<22}{'single ECG/s':>14}{'batch ECG/s':>14}{'vs ' + base[0]:>28}")
    for name, s, b in rows:
        print(f"{name:<22}{s:>14.2f}{b:>14.2f}{b / base[2]:>22.2f}x batch")
    ecg = ECG(data.x[0].T.astype(np.float64), 100.0, STANDARD_LEADS)
    whole = _best(lambda: p.predict(ecg), a.repeats)
    with torch.no_grad():
        def batch_all() -> None:
            cache: dict[str, torch.Tensor] = {}
            for t in p.tasks:
                p.outputs(x, t, cache=cache)
        whole_b = _best(batch_all, a.repeats)
    print(f"{'whole bundle':<22}{1 / whole:>14.2f}{len(x) / whole_b:>14.2f}"
          f"{(len(x) / whole_b) / base[2]:>22.2f}x batch")
    print("\ntraining (wall time recorded in each member's card; GPU runs were 5-6 members "
          "in parallel on one GPU)")
    for name, m in p.members.items():
        c = m.card
        print(f"  {name:<22}{c.epochs_run:>4} epochs {c.train_wall_s:>8.1f} s on "
              f"{c.device}, {c.n_train_records} records")
    print("\nCPU seconds per training step (128 crops of 2.5 s, forward + backward + AdamW):")
    cfg = TrainConfig()
    y = torch.from_numpy(data.targets[:1]).repeat(128, 1)
    mask = torch.from_numpy(data.mask[:1]).repeat(128, 1)
    for arch in sorted({m.card.arch for m in p.members.values()}):
        net = create_model(arch, num_classes=data.layout.n_outputs)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
        xb = torch.randn(128, 12, 250)

        def step(net=net, opt=opt, xb=xb) -> None:
            loss = multitask_loss(net(xb), y, mask, data.layout, cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
        s = _best(step, 2)
        epoch_h = s * (17_418 // 128) * 50 / 3600
        print(f"  {arch:<16}{s:>8.2f} s/step  -> about {epoch_h:.1f} h for 50 epochs of "
              "folds 1-8 on this CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
