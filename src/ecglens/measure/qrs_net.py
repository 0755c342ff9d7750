"""Learned QRS boundaries: a small per-lead 1D U-Net on the median beat, run in numpy.

The velocity rule of ``delineate.qrs_bounds`` misses the IEC spread limit for QRS duration on
LUDB (SD 10.7 ms against 10). A network trained on the cardiologists' per-lead annotations errs
differently, and the mean of the two boundaries is closer than either. Each lead of the median
beat is segmented (none / P / QRS / T per sample, at 250 Hz); the lead QRS boundaries are where
the QRS probability crosses 1/2, combined across leads as LUDB's reference is (second-earliest
onset, second-latest offset).

Two members are shipped, one trained on the odd and one on the even LUDB records 1-140
(``training/train_measure_qrs_net.py`` trains them and writes the weights,
``weights/measure/qrs-unet.npz``, whose SHA-256 is checked on load: see ``artefacts``). A
measurement uses the first (odd) member: one net trained on 70 records, which is what the
benchmark evaluates when it measures each LUDB record with the member that did not see it
(``use_members``); the even member ships so that those figures can be reproduced from the
shipped weights.

Inference is plain numpy (batch normalisation folded into the convolutions): about 3 ms per
median beat on one core, and ``ecglens measure`` does not import torch.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ecglens.exceptions import ModelError
from ecglens.measure.artefacts import read_bytes

__all__ = ["NET_FS", "Member", "held_out", "load_members", "net_qrs_bounds", "use_members"]

NET_FS = 250.0
WORK_FS = 500.0  # the rate of the median beats the net is given
BEFORE_S, AFTER_S = 0.24, 0.40  # the crop around R the net sees: the QRS and its surroundings
MIN_LEADS = 3
NEAR_R_S = 0.02  # a lead's QRS run must reach this close to R
WEIGHTS = "qrs-unet.npz"  # in ecglens/weights/measure/, its SHA-256 in artefacts.SHA256

Conv = tuple[np.ndarray, np.ndarray, int]  # weights (out, 9 * in), bias (out, 1), dilation

# (member names or None for all, weights file or None for the shipped one): see use_members
_USE: ContextVar[tuple[frozenset[str] | None, str | None]] = ContextVar(
    "qrs_net_use", default=(None, None))


@dataclass(frozen=True)
class Member:
    name: str
    trained_on: frozenset[int]  # LUDB record numbers
    enc: tuple[tuple[Conv, Conv], ...]
    dec: tuple[tuple[Conv, Conv], ...]
    head: tuple[np.ndarray, np.ndarray]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (leads, 4, samples) for x (leads, samples) at NET_FS."""
        h = x[None].astype(np.float32)  # layout (channels, leads, samples): one matmul per conv
        skips = []
        for i, (c1, c2) in enumerate(self.enc):
            h = _conv(_conv(h, *c1), *c2)
            if i < len(self.enc) - 1:
                skips.append(h)
                half = h.shape[-1] // 2
                h = np.maximum(h[..., 0:2 * half:2], h[..., 1:2 * half:2])
        for i in reversed(range(len(self.dec))):
            h = _upsample(h, skips[i].shape[-1])
            c1, c2 = self.dec[i]
            h = _conv(_conv(np.concatenate([h, skips[i]], 0), *c1), *c2)
        w, b = self.head
        c, n, length = h.shape
        logits = (w @ h.reshape(c, -1)).reshape(-1, n, length) + b[:, :, None]
        logits -= logits.max(axis=0, keepdims=True)
        e = np.exp(logits)
        return (e / e.sum(axis=0, keepdims=True)).transpose(1, 0, 2)


def _conv(h: np.ndarray, w: np.ndarray, b: np.ndarray, dil: int) -> np.ndarray:
    """'Same' convolution, kernel 9, then ReLU, as one matrix product over all leads."""
    c, n, length = h.shape
    pad = np.zeros((c, n, length + 8 * dil), np.float32)
    pad[:, :, 4 * dil:4 * dil + length] = h
    # the nine taps as one strided view of the padded input; reshaping copies it once (im2col)
    cols = as_strided(pad, (9, c, n, length), (dil * pad.strides[2],) + pad.strides)
    y = (w @ cols.reshape(9 * c, n * length)).reshape(-1, n, length)
    y += b[:, :, None]
    return np.maximum(y, 0, out=y)


def _upsample(h: np.ndarray, size: int) -> np.ndarray:
    """Linear interpolation to ``size`` samples (torch's ``interpolate``, align_corners=False)."""
    m = h.shape[-1]
    src = np.maximum((np.arange(size) + 0.5) * m / size - 0.5, 0.0)
    i0 = np.floor(src).astype(np.intp)
    i1 = np.minimum(i0 + 1, m - 1)
    lam = (src - i0).astype(np.float32)
    return h[..., i0] * (1 - lam) + h[..., i1] * lam


@cache
def load_members(path: str | None = None) -> tuple[Member, ...]:
    """The members in a weights file; by default the shipped ``weights/measure/qrs-unet.npz``
    (refused with a ModelError unless it matches its recorded SHA-256)."""
    if path is None:
        raw = read_bytes(WEIGHTS)
    else:
        try:
            raw = Path(path).read_bytes()
        except OSError as e:
            raise ModelError(f"QRS delineator weights {path}: cannot be read ({e})") from e
    with np.load(io.BytesIO(raw)) as z:  # allow_pickle stays False: arrays only
        a = {k: z[k] for k in z.files}

    def conv(key: str) -> Conv:
        return a[key + "/w"], a[key + "/b"], int(a[key + "/dil"])

    members = []
    for name in (str(s) for s in a["members"]):
        n_enc = int(a[f"{name}/n_enc"])
        enc = tuple((conv(f"{name}/enc{i}/0"), conv(f"{name}/enc{i}/1")) for i in range(n_enc))
        dec = tuple((conv(f"{name}/dec{i}/0"), conv(f"{name}/dec{i}/1"))
                    for i in range(n_enc - 1))
        members.append(Member(name, frozenset(int(i) for i in a[f"{name}/trained_on"]), enc, dec,
                              (a[f"{name}/head/w"], a[f"{name}/head/b"])))
    return tuple(members)


def held_out(ludb_record: int, path: str | None = None) -> set[str]:
    """The members not trained on this LUDB record: the ones the benchmark may measure it with."""
    return {m.name for m in load_members(path) if ludb_record not in m.trained_on}


@contextmanager
def use_members(names: set[str] | frozenset[str] | None = None,
                weights: str | None = None) -> Iterator[None]:
    """Measure with only these members (an empty set: the rule alone), or from another weights
    file; for the benchmark, which measures each LUDB record with the member that did not see it.
    """
    token = _USE.set((None if names is None else frozenset(names), weights))
    try:
        yield
    finally:
        _USE.reset(token)


def _crossings(p: np.ndarray, centre: float) -> tuple[float, float] | None:
    """Sub-sample onset and offset of the run of p >= 1/2 nearest ``centre``."""
    q = np.flatnonzero(p >= 0.5)
    if q.size == 0 or np.abs(q - centre).min() > NEAR_R_S * NET_FS:
        return None
    s = e = int(q[np.argmin(np.abs(q - centre))])
    while s > 0 and p[s - 1] >= 0.5:
        s -= 1
    while e < p.size - 1 and p[e + 1] >= 0.5:
        e += 1
    on = s - (p[s] - 0.5) / (p[s] - p[s - 1]) if s > 0 else float(s)
    off = e + (p[e] - 0.5) / (p[e] - p[e + 1]) if e < p.size - 1 else float(e)
    return float(on), float(off)


def net_qrs_bounds(med: np.ndarray, r: int, fs: float) -> tuple[float, float] | None:
    """Global QRS onset and offset (fractional sample indices of ``med``) by the shipped nets.

    med: leads × samples at WORK_FS with R at index r; flat leads are left out. None if the rate
    differs, the beat is too short, or fewer than MIN_LEADS leads show a QRS.
    """
    only, path = _USE.get()
    members = load_members(path)
    members = members[:1] if only is None else tuple(m for m in members if m.name in only)
    if fs != WORK_FS or not members:
        return None
    step = int(WORK_FS / NET_FS)
    x = med[:, :med.shape[1] // step * step]
    x = x.reshape(x.shape[0], -1, step).mean(axis=2)  # the mean of sample pairs, as in training
    rc = r / step
    a, b = int(rc - BEFORE_S * NET_FS), int(rc + AFTER_S * NET_FS)
    if a < 0 or b > x.shape[1]:
        return None
    x = x[:, a:b]
    x = x[np.ptp(x, axis=1) > 0]  # a flat lead (one analyze zeroed as unusable) has no QRS
    if x.shape[0] < MIN_LEADS:
        return None
    x = x - np.median(x, axis=1, keepdims=True)
    p = np.mean([m.probabilities(x)[:, 2] for m in members], axis=0)
    found = [c for c in (_crossings(lead, rc - a) for lead in p) if c is not None]
    if len(found) < MIN_LEADS:
        return None
    ons, offs = np.sort([f[0] for f in found]), np.sort([f[1] for f in found])
    # back to WORK_FS indices: net sample j is the mean of samples step*j .. step*j + step - 1
    centre = (step - 1) / 2
    return (a + ons[1]) * step + centre, (a + offs[-2]) * step + centre
