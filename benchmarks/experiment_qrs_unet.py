"""Experiment (not shipped): a learned per-lead QRS delineator against the rule, cross-fitted on LUDB.

    python benchmarks/experiment_qrs_unet.py            # small net, 250 Hz (~8 min on 2 cores)
    python benchmarks/experiment_qrs_unet.py --large    # 414k parameters, 500 Hz (~17 min)

Question: would a network trained on the cardiologists' per-lead annotations bring the global
QRS duration under the IEC 10 ms SD limit that the rule of ``delineate.qrs_bounds`` misses
(10.7 ms on LUDB 1-140)? LUDB 1-140 is the only delineation reference here, so it is split in
two: a 1D U-Net is trained on the per-lead P/QRS/T masks of the odd records and applied to the
even ones, and the other way round; no record is ever measured by a net that saw it.
The net segments each lead of the median beat that ``analyze`` builds; the QRS is then combined
across leads as the reference is (second-earliest onset, second-latest offset) and compared with
the issue's reference, alone and averaged with the rule's QRS (weight 1/2, fixed beforehand).
Prints mean / SD per variant and half, and the net's time per median beat on one thread.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
import wfdb
from bench_measure import ludb_dir
from torch import nn

import ecglens.measure.analysis as an
from ecglens.io import read
from ecglens.measure.reference import ludb_waves, reference_intervals
from ecglens.signal.filters import clean, highpass, powerline_frequency

IDS = np.arange(1, 141)
SMALL = {"fs": 250.0, "channels": (8, 16, 24, 32, 32), "steps": 4000, "crop": 512}
LARGE = {"fs": 500.0, "channels": (16, 32, 48, 64, 64), "steps": 2000, "crop": 1024}


def _block(cin: int, cout: int, dil: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(cin, cout, 9, padding=4 * dil, dilation=dil), nn.BatchNorm1d(cout), nn.ReLU(),
        nn.Conv1d(cout, cout, 9, padding=4 * dil, dilation=dil), nn.BatchNorm1d(cout), nn.ReLU())


class UNet(nn.Module):
    """One lead in, four classes out per sample (none, P, QRS, T)."""

    def __init__(self, ch: tuple[int, ...]) -> None:
        super().__init__()
        self.enc = nn.ModuleList([_block(1, ch[0])] + [
            _block(ch[i], ch[i + 1], dil=2 if i == len(ch) - 2 else 1) for i in range(len(ch) - 1)])
        self.dec = nn.ModuleList([_block(ch[i + 1] + ch[i], ch[i]) for i in range(len(ch) - 1)])
        self.out = nn.Conv1d(ch[0], 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, e in enumerate(self.enc):
            x = e(x)
            if i < len(self.enc) - 1:
                skips.append(x)
                x = F.max_pool1d(x, 2)
        for i in reversed(range(len(self.dec))):
            x = F.interpolate(x, size=skips[i].shape[-1], mode="linear", align_corners=False)
            x = self.dec[i](torch.cat([x, skips[i]], 1))
        return self.out(x)


def _down(x: np.ndarray, fs: float) -> np.ndarray:
    """500 Hz -> the net's rate (mean of sample pairs: a crude anti-alias, same at train and test)."""
    return x if fs == 500.0 else 0.5 * (x[..., 0::2] + x[..., 1::2])


def dataset() -> tuple[np.ndarray, np.ndarray]:
    """Filtered signals (as analyze filters them) and per-lead masks (-1 = not annotated)."""
    d = ludb_dir()
    xs, ys = [], []
    for i in IDS:
        x = wfdb.rdrecord(str(d / "data" / str(i))).p_signal.astype(np.float64)
        hp = highpass(x, 500.0, 0.5)
        xs.append(clean(x, 500.0, powerline_hz=powerline_frequency(hp, 500.0), hp=hp).T)
        y = np.full((12, x.shape[0]), -1, np.int8)
        waves = ludb_waves(d / "data" / str(i))
        rows = np.concatenate([waves[k][0] for k in waves])
        for li in range(12):
            mine = rows[rows[:, 0] == li]
            if mine.size:
                y[li, mine[:, 1].min():mine[:, 3].max() + 1] = 0
        for cls, key in ((1, "p"), (2, "qrs"), (3, "t")):
            for li, on, _, off in waves[key][0]:
                y[li, on:off + 1] = cls
        ys.append(y)
    return np.stack(xs).astype(np.float32), np.stack(ys)


def train(args: tuple[str, dict, np.ndarray, np.ndarray]) -> dict:
    half, cfg, x_all, y_all = args
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    keep = IDS % 2 == (1 if half == "odd" else 0)
    x_tr, y_tr = _down(x_all[keep], cfg["fs"]), y_all[keep][..., ::int(500 / cfg["fs"])]
    n = x_tr.shape[-1]
    spans = [[(np.flatnonzero(y >= 0).min(), np.flatnonzero(y >= 0).max()) if (y >= 0).any()
              else None for y in yl] for yl in y_tr]
    net = UNet(cfg["channels"])
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=cfg["steps"],
                                                pct_start=0.1)
    length, margin = cfg["crop"], int(0.4 * cfg["fs"])
    t = np.arange(length) / cfg["fs"]
    for _ in range(cfg["steps"]):
        xb, yb = [], []
        while len(xb) < 32:
            k, li = rng.integers(len(x_tr)), rng.integers(12)
            if spans[k][li] is None:
                continue
            lo, hi = spans[k][li]
            a = max(lo - margin, 0)
            s0 = rng.integers(a, max(min(hi - length + margin, n - length), a) + 1)
            x = x_tr[k, li:li + 1, s0:s0 + length] * rng.uniform(0.6, 1.6)
            x = x + rng.normal(0, rng.uniform(0, 0.03), x.shape)  # noise, then baseline wander
            x = x + rng.normal(0, 0.1) * np.sin(2 * np.pi * rng.uniform(0.1, 0.6) * t
                                                + rng.uniform(0, 6.3))
            xb.append(x - np.median(x))
            yb.append(y_tr[k, li, s0:s0 + length].astype(np.int64))
        loss = F.cross_entropy(net(torch.tensor(np.stack(xb), dtype=torch.float32)),
                               torch.tensor(np.stack(yb)), ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.state_dict()


def median_beats() -> dict[int, tuple[np.ndarray, int, float | None, float | None]]:
    """Per record: the median beat analyze delineates, its R index, the rule's QRS, reference."""
    got: dict = {}
    inner = an.delineate

    def spy(med, r, fs, rr_s, **kw):  # delineate's signature
        got["med"], got["r"] = med, r
        return inner(med, r, fs, rr_s, **kw)

    an.delineate = spy
    try:
        out = {}
        for i in IDS:
            rec = ludb_dir() / "data" / str(i)
            m = an.analyze(read(rec.with_suffix(".hea"))).measurements
            out[int(i)] = (got["med"], got["r"], m.qrs_ms, reference_intervals(rec)["qrs_ms"])
        return out
    finally:
        an.delineate = inner


def net_qrs(net: UNet, med: np.ndarray, r: int, fs: float) -> float | None:
    """Second-latest minus second-earliest lead QRS boundary (ms) of the net on a median beat."""
    step = 500.0 / fs
    x = _down(med, fs)
    rr = r / step
    a = int(rr - 0.24 * fs)
    x = x[:, a:int(rr + 0.4 * fs)]  # the QRS and its surroundings only: time is the limit
    x = x - np.median(x, axis=1, keepdims=True)
    with torch.no_grad():
        p = torch.softmax(net(torch.tensor(x[:, None], dtype=torch.float32)), 1).numpy()[:, 2]
    ons, offs = [], []
    c0 = rr - a
    for lead in p:
        q = np.flatnonzero(lead >= 0.5)
        if q.size == 0 or np.abs(q - c0).min() > 0.02 * fs:
            continue
        s = e = int(q[np.argmin(np.abs(q - c0))])
        while s > 0 and lead[s - 1] >= 0.5:
            s -= 1
        while e < lead.size - 1 and lead[e + 1] >= 0.5:
            e += 1
        # sub-sample: where the probability crosses 1/2
        ons.append(s - (lead[s] - 0.5) / (lead[s] - lead[s - 1]) if s > 0 else s)
        offs.append(e + (lead[e] - 0.5) / (lead[e] - lead[e + 1]) if e < lead.size - 1 else e)
    if len(ons) < 3:
        return None
    return float((np.sort(offs)[-2] - np.sort(ons)[1]) * 1000.0 / fs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", action="store_true", help="414k parameters at 500 Hz")
    cfg = LARGE if ap.parse_args().large else SMALL
    t0 = time.time()
    x_all, y_all = dataset()
    with mp.get_context("spawn").Pool(2) as pool:
        states = pool.map(train, [(h, cfg, x_all, y_all) for h in ("odd", "even")])
    print(f"config {cfg}; trained both halves in {time.time() - t0:.0f} s")
    nets = {}
    for half, state in zip(("odd", "even"), states, strict=True):
        nets[half] = UNet(cfg["channels"])
        nets[half].load_state_dict(state)
        nets[half].eval()
    torch.set_num_threads(1)
    rows = []
    beats = median_beats()
    for i, (med, r, rule, ref) in beats.items():
        net = nets["even" if i % 2 else "odd"]  # the half that did not contain record i
        q = net_qrs(net, med, r, cfg["fs"])
        if None not in (q, rule, ref):
            rows.append((i, rule - ref, q - ref, 0.5 * (rule + q) - ref))
    e = np.array(rows)
    print(f"LUDB 1-140, QRS against the issue's reference, mean / SD (ms), n={len(e)}:")
    for k, name in ((1, "rule (shipped)"), (2, "net, cross-fitted"), (3, "mean of the two")):
        sub = [(s, e[mask, k]) for s, mask in (("all", e[:, 0] > 0), ("odd", e[:, 0] % 2 == 1),
                                                 ("even", e[:, 0] % 2 == 0))]
        print(f"  {name:<18} " + "  ".join(f"{s} {v.mean():+5.1f} / {v.std():5.2f}" for s, v in sub))
    med, r, _, _ = beats[1]
    net_qrs(nets["odd"], med, r, cfg["fs"])
    t1 = time.perf_counter()
    for _ in range(20):
        net_qrs(nets["odd"], med, r, cfg["fs"])
    print(f"net time per median beat, one thread: {(time.perf_counter() - t1) / 20 * 1000:.1f} ms "
          f"(the whole of analyze takes about 21 ms)")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
