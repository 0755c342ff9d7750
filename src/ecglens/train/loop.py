"""Train one multi-task network: random crops, one-cycle schedule, checkpoints and resume.

The same code runs on a CPU (a background run with logs; a tiny CI run) and on a GPU (bf16
autocast). The whole training set sits in device memory and crops are cut there, so a GPU is
not starved by a Python data loader.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecglens.data.training_set import TrainingSet, lead_stats
from ecglens.models.bundle import create_model
from ecglens.models.layout import OutputLayout
from ecglens.models.windows import windowed_outputs
from ecglens.train.config import TrainConfig


def multitask_loss(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                   layout: OutputLayout, cfg: TrainConfig) -> torch.Tensor:
    """BCE per label task (masked to the task's records), L1 on standardised age, BCE on sex."""
    out = out.float()
    n_label = layout.slice("age").start
    loss = out.new_zeros(())
    if cfg.w_labels > 0:
        for task in layout.label_tasks:
            s = layout.slice(task)
            m = mask[:, s.start]
            w = cfg.w_labels * cfg.task_weights.get(task, 1.0)
            if w > 0 and m.any():
                loss = loss + w * F.binary_cross_entropy_with_logits(
                    out[m, s], target[m, s])
    a, x = n_label, n_label + 1
    if cfg.w_age > 0 and mask[:, a].any():
        loss = loss + cfg.w_age * F.l1_loss(out[mask[:, a], a], target[mask[:, a], a])
    if cfg.w_sex > 0 and mask[:, x].any():
        loss = loss + cfg.w_sex * F.binary_cross_entropy_with_logits(out[mask[:, x], x],
                                                                     target[mask[:, x], x])
    return loss


def _random_crops(x: torch.Tensor, window: int, gen: torch.Generator) -> torch.Tensor:
    b, c, t = x.shape
    starts = torch.randint(0, t - window + 1, (b,), device=x.device, generator=gen)
    idx = starts[:, None] + torch.arange(window, device=x.device)[None, :]
    return torch.gather(x, 2, idx[:, None, :].expand(b, c, window))


def _lr_at(step: int, steps_per_epoch: int, total_steps: int, lr: float) -> float:
    """Linear warm-up over the first epoch, then cosine decay to zero (one-cycle in spirit)."""
    warm = steps_per_epoch
    if step < warm:
        return lr * (step + 1) / warm
    frac = (step - warm) / max(1, total_steps - warm)
    return lr * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))


def train_member(cfg: TrainConfig, data: TrainingSet, out_dir: str | Path, *,
                 device: str | None = None, log_every_s: float = 30.0) -> Path:
    """Train on ``cfg.train_folds`` of ``data``; write ``out_dir/final.pt`` and ``card.json``.

    A checkpoint is written after every epoch; calling again with the same ``out_dir`` resumes.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(cfg.seed)
    train = data.subset(np.isin(data.folds, cfg.train_folds))
    mean, std = lead_stats(train.x)
    mean_t = torch.tensor(mean, dtype=torch.float32)[None, :, None]
    std_t = torch.tensor(std, dtype=torch.float32)[None, :, None]
    x = ((torch.from_numpy(train.x) - mean_t) / std_t).to(dev)
    y = torch.from_numpy(train.targets).to(dev)
    m = torch.from_numpy(train.mask).to(dev)
    layout = data.layout
    options: dict[str, Any] = dict(cfg.model_kwargs)  # architecture options
    net = create_model(cfg.arch, num_classes=layout.n_outputs, **options).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = x.shape[0]
    steps_per_epoch = max(1, n // cfg.batch_size)  # drop the last partial batch (BN)
    epochs, epoch, step = cfg.epochs, 0, 0
    ckpt = out_dir / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location=dev, weights_only=False)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        epoch, step, epochs = state["epoch"], state["step"], state["epochs"]
    gen = torch.Generator(device=dev)
    gen.manual_seed(cfg.seed * 1000 + epoch)
    log = (out_dir / "train.log").open("a")
    use_amp = dev.type == "cuda"
    t0, last_log = time.time(), 0.0
    while epoch < epochs:
        net.train()
        t_epoch = time.time()
        perm = torch.randperm(n, device=dev, generator=gen)
        total = 0.0
        for i in range(steps_per_epoch):
            rows = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            xb = _random_crops(x[rows], cfg.window, gen)
            if cfg.scale_sd > 0:
                xb = xb * (1 + cfg.scale_sd * torch.randn(xb.shape[0], 1, 1, device=dev,
                                                          generator=gen))
            if cfg.noise_sd > 0:
                xb = xb + cfg.noise_sd * torch.randn(xb.shape, device=dev, generator=gen)
            for group in opt.param_groups:
                group["lr"] = _lr_at(step, steps_per_epoch, epochs * steps_per_epoch, cfg.lr)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
                out = net(xb)
            loss = multitask_loss(out, y[rows], m[rows], layout, cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) if (i % 20 == 0 or i == steps_per_epoch - 1) else 0.0
            step += 1
            if time.time() - last_log > log_every_s:
                last_log = time.time()
                print(json.dumps({"epoch": epoch, "step": step, "loss": float(loss.detach())}),
                      file=log, flush=True)
        epoch += 1
        took = time.time() - t_epoch
        if epoch == 1 and cfg.time_budget_s:
            # fit the schedule into the budget once the speed is known
            epochs = int(max(2, min(cfg.epochs, cfg.time_budget_s // max(took, 1e-3))))
        print(json.dumps({"epoch": epoch, "of": epochs, "epoch_s": round(took, 2),
                          "loss": float(loss.detach()), "elapsed_s": round(time.time() - t0, 1)}),
              file=log, flush=True)
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "epoch": epoch,
                    "step": step, "epochs": epochs}, ckpt)
    net.eval()
    torch.save(net.state_dict(), out_dir / "final.pt")
    card = {"config": cfg.model_dump(), "arch": cfg.arch, "layout": layout.model_dump(),
            "input_mean": mean, "input_std": std, "epochs_run": epochs,
            "n_train_records": int(n), "train_wall_s": round(time.time() - t0, 1),
            "device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev)}
    (out_dir / "card.json").write_text(json.dumps(card, indent=1))
    log.close()
    return out_dir


@torch.no_grad()
def predict_outputs(net: nn.Module, x: np.ndarray, mean: list[float], std: list[float],
                    layout: OutputLayout, *, window: int, stride: int,
                    device: str | torch.device = "cpu", batch: int = 256) -> np.ndarray:
    """Windowed outputs (n, n_outputs) for raw mV signals ``x`` (n, 12, T), float32 compute."""
    net.eval()
    mean_t = torch.tensor(mean, dtype=torch.float32)[None, :, None]
    std_t = torch.tensor(std, dtype=torch.float32)[None, :, None]
    outs = []
    for i in range(0, len(x), batch):
        xb = ((torch.from_numpy(np.ascontiguousarray(x[i:i + batch])) - mean_t) / std_t)
        outs.append(windowed_outputs(net, xb.to(device), layout, window=window,
                                     stride=stride).float().cpu())
    return torch.cat(outs).numpy()
