"""Train the learned QRS delineator (``ecglens.measure.qrs_net``) on LUDB, cross-fitted.

    python -m training.train_measure_qrs_net            # train, print, write nothing (~8 min)
    python -m training.train_measure_qrs_net --write    # ...and write weights/measure/qrs-unet.npz
    python -m training.train_measure_qrs_net --tiny     # the cheaper variant (not shipped)

LUDB 1-140 is the only delineation reference here, so it is split in two: a 1D U-Net is trained
on the per-lead P/QRS/T masks of the odd records, another on the even ones (seed 0, one thread
each, in parallel). Both are shipped; a measurement uses the odd one, and the figures printed
here measure each record with the member that did not see it. The net segments each lead of the
median beat that ``analyze`` builds; the QRS is combined across leads as the reference is
(second-earliest onset, second-latest offset) and compared with the issue's reference, alone
and averaged with the velocity rule's QRS (weight 1/2, fixed beforehand).
Prints mean / SD per variant and half, and the numpy net's time per median beat on one thread.
``--write`` ships the weights (a compressed .npz, read without pickle) and records the file's
SHA-256 in ``ecglens.measure.artefacts.SHA256``, which ``qrs_net`` checks on load.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # one thread per process (two training processes, one per core)

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import wfdb
from torch import nn

import ecglens.measure.delineate as dl
from benchmarks.bench_measure import ludb_dir  # the benchmark's own LUDB cache (unpacked once)
from ecglens.io import read
from ecglens.measure import analyze
from ecglens.measure.artefacts import write_artefact
from ecglens.measure.qrs_net import held_out, load_members, net_qrs_bounds, use_members
from ecglens.measure.reference import ludb_waves, reference_intervals
from ecglens.signal.filters import clean, highpass, powerline_frequency

IDS = np.arange(1, 141)
ARTEFACT = "qrs-unet.npz"  # in src/ecglens/weights/measure/
SMALL = {"fs": 250.0, "channels": (8, 16, 24, 32, 32), "steps": 4000, "crop": 512}
TINY = {"fs": 250.0, "channels": (8, 12, 16, 24, 24), "steps": 4000, "crop": 512}


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
    """500 Hz -> the net's rate (mean of sample pairs: a crude anti-alias, same at train and
    test)."""
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


def export(states: dict[str, dict], cfg: dict, path: str) -> None:
    """The trained nets as numpy arrays for ``ecglens.measure.qrs_net``: batch normalisation
    folded into each convolution, kernels laid out (out, 9 * in) for one matrix product."""
    out: dict[str, np.ndarray] = {"members": np.array(list(states))}
    for half, state in states.items():
        net = UNet(cfg["channels"])
        net.load_state_dict(state)
        out[f"{half}/trained_on"] = IDS[IDS % 2 == (1 if half == "odd" else 0)]
        out[f"{half}/n_enc"] = np.array(len(net.enc))
        for part, blocks in (("enc", net.enc), ("dec", net.dec)):
            for i, block in enumerate(blocks):
                for j, (conv, bn) in enumerate(((block[0], block[1]), (block[3], block[4]))):
                    g = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().numpy()
                    w = conv.weight.detach().numpy() * g[:, None, None]
                    b = (conv.bias.detach().numpy() - bn.running_mean.numpy()) * g \
                        + bn.bias.detach().numpy()
                    key = f"{half}/{part}{i}/{j}"
                    out[key + "/w"] = w.transpose(0, 2, 1).reshape(w.shape[0], -1).astype(
                        np.float32)
                    out[key + "/b"] = b.astype(np.float32)[:, None]
                    out[key + "/dil"] = np.array(conv.dilation[0])
        out[f"{half}/head/w"] = net.out.weight.detach().numpy()[:, :, 0].astype(np.float32)
        out[f"{half}/head/b"] = net.out.bias.detach().numpy().astype(np.float32)[:, None]
    np.savez_compressed(path, **out)


def evaluate(weights: str) -> None:
    """Cross-fitted figures: each record measured by the member that did not see it."""
    keys = ("p_duration_ms", "pr_ms", "qrs_ms", "qt_ms")
    got: dict = {}
    inner = dl.net_qrs_bounds

    def spy(med, r, fs):  # net_qrs_bounds's signature
        got["net"] = inner(med, r, fs)
        return got["net"]

    rows = []
    dl.net_qrs_bounds = spy
    try:
        for i in IDS:
            rec = ludb_dir() / "data" / str(i)
            ecg = read(rec.with_suffix(".hea"))
            ref = reference_intervals(rec)
            with use_members(set(), weights):
                rule = analyze(ecg).measurements
            with use_members(held_out(int(i), weights), weights):
                both = analyze(ecg).measurements
            net = got["net"]
            alone = None if net is None else (net[1] - net[0]) * 2.0  # 500 Hz samples -> ms
            rows.append((int(i), ref, rule, both, alone))
    finally:
        dl.net_qrs_bounds = inner
    print(f"LUDB 1-140 against the issue's reference, mean / SD (ms), {len(rows)} records; "
          "each record measured with the member that did not see it:")
    ids = np.array([r[0] for r in rows])
    for key in keys:
        for name, k in (("rule alone", 2), ("rule + net (shipped)", 3), ("net alone", 4)):
            if k == 4 and key != "qrs_ms":
                continue
            e = np.array([np.nan if None in (r[1][key], (r[k] if k == 4 else
                                                          getattr(r[k], key)))
                          else (r[k] if k == 4 else getattr(r[k], key)) - r[1][key]
                          for r in rows])
            part = []
            for s_name, mask in (("all", ids > 0), ("odd", ids % 2 == 1), ("even", ids % 2 == 0)):
                v = e[mask & np.isfinite(e)]
                part.append(f"{s_name} {v.mean():+5.1f} / {v.std():5.2f} (n={v.size})")
            print(f"  {key:<14} {name:<21} " + "  ".join(part))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true", help="(8, 12, 16, 24, 24) channels (not "
                                                        "shipped)")
    ap.add_argument("--write", action="store_true",
                    help=f"write the weights to src/ecglens/weights/measure/{ARTEFACT}")
    ap.add_argument("--states", type=str, default=None,
                    help="a folder with odd.pt and even.pt: skip training, use these state dicts")
    a = ap.parse_args()
    cfg = TINY if a.tiny else SMALL
    t0 = time.time()
    if a.states:
        states = {h: torch.load(os.path.join(a.states, f"{h}.pt")) for h in ("odd", "even")}
    else:
        x_all, y_all = dataset()
        with mp.get_context("spawn").Pool(2) as pool:
            got = pool.map(train, [(h, cfg, x_all, y_all) for h in ("odd", "even")])
        states = dict(zip(("odd", "even"), got, strict=True))
        print(f"config {cfg}; trained both halves in {time.time() - t0:.0f} s")
    path = os.path.join(tempfile.mkdtemp(), ARTEFACT)
    export(states, cfg, path)
    if a.write:  # ship it and record its checksum, which qrs_net verifies at load
        path = str(write_artefact(ARTEFACT, Path(path).read_bytes()))
        load_members.cache_clear()
    print(f"weights: {path} ({os.path.getsize(path) / 1e3:.0f} kB)")
    evaluate(path)
    rec = ludb_dir() / "data" / "1"
    ecg = read(rec.with_suffix(".hea"))
    med = analyze(ecg).median_beats
    members = load_members(path)
    for names in ({members[0].name}, {m.name for m in members}):
        with use_members(names, path):
            net_qrs_bounds(med, 225, 500.0)
            t1 = time.process_time()
            for _ in range(50):
                net_qrs_bounds(med, 225, 500.0)
        print(f"net CPU time per median beat, {len(names)} member(s), one thread: "
              f"{(time.process_time() - t1) / 50 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
