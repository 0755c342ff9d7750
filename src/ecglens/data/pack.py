"""A compact training pack of PTB-XL: the 8 independent leads, delta-coded and xz-compressed.

The pack is what travels to a training machine. Leads III, aVR, aVL and aVF are rebuilt from
I and II on load (exactly what inference does for 8-lead files, so training and inference see
the same derivation). ``step_uv`` > 1 quantises the signal (a 10 µV step is below the noise
floor of a resting ECG and makes the pack about half the size); ``step_uv = 1`` is lossless.
"""

from __future__ import annotations

import json
import lzma
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ecglens.data.ptbxl import INDEPENDENT_INDEX, read_database, read_signals
from ecglens.exceptions import DataError
from ecglens.record import derive_limb_leads

PACK_VERSION = 1


def _encode(x: np.ndarray) -> bytes:
    """int64 (n, t, leads) -> zigzag first differences in time as two byte planes, xz."""
    d = np.diff(x, axis=1, prepend=0)
    z = ((d << 1) ^ (d >> 63)).astype(np.uint16)
    planes = np.concatenate([(z & 255).astype(np.uint8).ravel(), (z >> 8).astype(np.uint8).ravel()])
    return lzma.compress(planes.tobytes(), preset=6)


def _decode(blob: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    planes = np.frombuffer(lzma.decompress(blob), dtype=np.uint8)
    half = planes.size // 2
    z = planes[:half].astype(np.int64) | (planes[half:].astype(np.int64) << 8)
    d = (z >> 1) ^ -(z & 1)
    return np.cumsum(d.reshape(shape), axis=1)


def build_pack(ptbxl_root: str | Path, dest: str | Path, *, folds: list[int],
               step_uv: int = 10) -> Path:
    """Write ``dest/`` with one signal blob per fold plus the two CSV files. Returns ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = Path(ptbxl_root)
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        shutil.copyfile(root / name, dest / name)
    fold_meta: dict[str, object] = {}
    meta: dict[str, object] = {"version": PACK_VERSION, "step_uv": step_uv, "folds": fold_meta}
    for fold in folds:
        db = read_database(root, folds=[fold])
        x = read_signals(root, db)[:, :, list(INDEPENDENT_INDEX)].astype(np.int64)
        q = np.round(x / step_uv).astype(np.int64)
        (dest / f"fold{fold}.bin").write_bytes(_encode(q))
        fold_meta[str(fold)] = {"records": len(db), "ecg_ids": db["ecg_id"].tolist()}
    (dest / "pack.json").write_text(json.dumps(meta))
    return dest


def load_pack(src: str | Path, *, folds: list[int] | None = None
              ) -> tuple[pd.DataFrame, np.ndarray]:
    """(database rows, signals float32 mV (n, samples, 12) in standard lead order)."""
    src = Path(src)
    try:
        meta = json.loads((src / "pack.json").read_text())
    except FileNotFoundError as exc:
        raise DataError(f"{src}: not a training pack (pack.json missing)") from exc
    folds = folds or sorted(int(f) for f in meta["folds"])
    dbs, sigs = [], []
    full = read_database(src)
    for fold in folds:
        info = meta["folds"].get(str(fold))
        if info is None:
            raise DataError(f"{src}: fold {fold} is not in this pack")
        ids = info["ecg_ids"]
        q = _decode((src / f"fold{fold}.bin").read_bytes(), (len(ids), 1000, 8))
        mv = (q * (meta["step_uv"] / 1000.0)).astype(np.float32)
        sigs.append(expand_to_12(mv))
        part = full.set_index("ecg_id").loc[ids].reset_index()
        dbs.append(part)
    return pd.concat(dbs, ignore_index=True), np.concatenate(sigs)


def expand_to_12(x8: np.ndarray) -> np.ndarray:
    """(n, t, 8) leads I, II, V1–V6 -> (n, t, 12) in standard order with derived limb leads."""
    lead_i, lead_ii = x8[..., 0], x8[..., 1]
    d = derive_limb_leads(lead_i, lead_ii)
    limb = np.stack([lead_i, lead_ii, d["III"], d["aVR"], d["aVL"], d["aVF"]], axis=-1)
    return np.concatenate([limb, x8[..., 2:]], axis=-1).astype(x8.dtype)
