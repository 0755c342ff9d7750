"""A gradient-boosted model on waveform measurements, blended into a task's network logits.

The networks read the raw 10 s; this model reads what the measurement stage found (median-beat
amplitudes, intervals, ectopic beats; ``form_features``). Two learners on the same features,
trained on PTB-XL folds 1-8 — one LightGBM booster per label and a small multi-label MLP
(mean of a few seeds) — are averaged into ``z_features``, which is averaged with the network
ensemble's logits::

    z = (1 - w) * z_networks + w * (a * z_gbm + (1 - a) * z_mlp) + logit_bias

with the two scalars ``w`` (feature weight) and ``a`` (the boosters' share) chosen on the
validation fold. LightGBM trains the boosters; inference walks them with numpy
(``ecglens.models.trees``), so LightGBM is not needed at run time. Boosters are stored in its
text format inside a gzip-compressed JSON file, the MLP as plain arrays in an ``.npz`` read
without pickle; the SHA-256 of both is in ``bundle.json`` and checked on every load. The
feature term is constant in the signal for autograd, so it adds nothing to gradients:
attributions explain the networks.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecglens.exceptions import ModelError
from ecglens.models.bundle import sha256_file
from ecglens.models.card import FeatureModelCard
from ecglens.models.form_features import (
    FEATURE_FS,
    FEATURE_VERSION,
    feature_matrix,
    feature_names,
    summarise_batch,
)
from ecglens.models.trees import Forest, parse_lightgbm_text

__all__ = ["FeatureMLP", "FeatureModel", "load_feature_model", "save_gbm", "save_mlp"]


@dataclass(frozen=True)
class FeatureMLP:
    """Robust scaling (training folds' median and IQR, clipped), missing-value indicators and
    a ReLU MLP whose logits are averaged over seeds. Plain numpy: no torch at inference."""

    center: np.ndarray
    scale: np.ndarray
    nan_columns: np.ndarray  # bool mask: features with a missing-value indicator
    layers: list[list[tuple[np.ndarray, np.ndarray]]]  # per seed: (W (in, out), b) per layer

    def inputs(self, features: np.ndarray) -> np.ndarray:
        z = np.clip((features - self.center) / self.scale, -6.0, 6.0)
        miss = np.isnan(z[:, self.nan_columns])
        return np.concatenate([np.nan_to_num(z, nan=0.0), miss], axis=1)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        x = self.inputs(np.asarray(features, dtype=np.float64))
        outs = []
        for seed in self.layers:
            h = x
            for i, (w, b) in enumerate(seed):
                h = h @ w + b
                if i < len(seed) - 1:
                    h = np.maximum(h, 0.0)
            outs.append(h)
        return np.mean(outs, axis=0)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"center": self.center, "scale": self.scale, "nan_columns": self.nan_columns}
        for s, seed in enumerate(self.layers):
            for i, (w, b) in enumerate(seed):
                out[f"s{s}_w{i}"], out[f"s{s}_b{i}"] = w, b
        return out

    @classmethod
    def from_arrays(cls, z: Any) -> FeatureMLP:
        layers: list[list[tuple[np.ndarray, np.ndarray]]] = []
        s = 0
        while f"s{s}_w0" in z:
            seed, i = [], 0
            while f"s{s}_w{i}" in z:
                seed.append((np.asarray(z[f"s{s}_w{i}"], dtype=np.float64),
                             np.asarray(z[f"s{s}_b{i}"], dtype=np.float64)))
                i += 1
            layers.append(seed)
            s += 1
        return cls(center=np.asarray(z["center"]), scale=np.asarray(z["scale"]),
                    nan_columns=np.asarray(z["nan_columns"], dtype=bool), layers=layers)


@dataclass
class FeatureModel:
    """Per-label boosters and an MLP over ``form_features``, and the blend weight."""

    labels: list[str]
    boosters: list[tuple[Forest, int]]  # per label (``labels`` order): its seeds' trees, n seeds
    mlp: FeatureMLP
    weight: float
    gbm_share: float
    files: dict[str, str]  # file name -> SHA-256
    #: where ``labels`` sit among the task's outputs (None: the task's labels are ``labels``)
    columns: list[int] | None = None

    @property
    def key(self) -> str:
        """Identifies the raw scores (files and learner shares), for caching them per input."""
        return f"{sorted(self.files.values())}:{self.gbm_share}"

    def gbm_raw(self, features: np.ndarray) -> np.ndarray:
        """(B, n_features) -> (B, n_labels): each label's boosters' mean raw score."""
        return np.stack([forest.raw(features) / n for forest, n in self.boosters], axis=1)

    def raw_from_features(self, features: np.ndarray) -> np.ndarray:
        """(B, n_features) -> (B, n_labels) raw scores (log-odds), the learners' blend."""
        a = self.gbm_share
        return a * self.gbm_raw(features) + (1.0 - a) * self.mlp(features)

    def raw(self, x_mv: np.ndarray, fs: float = FEATURE_FS) -> np.ndarray:
        """(B, 12, T) signals in mV, standard lead order, at ``fs`` -> (B, n_labels)."""
        if abs(fs - FEATURE_FS) > 1e-6:
            raise ModelError(f"the feature model measures {FEATURE_FS:g} Hz input, got {fs:g} Hz")
        return self.raw_from_features(feature_matrix(summarise_batch(x_mv, fs)))

    def blend(self, network_logits: Any, feature_logits: Any) -> Any:
        """The task's logits with the feature model's labels blended (numpy or torch, (B, n))."""
        w = self.weight
        if self.columns is None:
            return (1.0 - w) * network_logits + w * feature_logits
        out = network_logits.clone() if hasattr(network_logits, "clone") else network_logits.copy()
        out[:, self.columns] = (1.0 - w) * network_logits[:, self.columns] + w * feature_logits
        return out


def _verified(folder: Path, name: str, sha256: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise ModelError(f"{path}: feature model file missing")
    digest = sha256_file(path)
    if digest != sha256:
        raise ModelError(f"{path}: SHA-256 does not match bundle.json (file {digest[:12]}…, "
                         f"bundle {sha256[:12]}…); the file is corrupt or was replaced")
    return path


_LOADED: dict[tuple[str, str, str], tuple[list[tuple[Forest, int]], FeatureMLP]] = {}


def load_feature_model(folder: Path, entry: FeatureModelCard | dict[str, Any],
                       labels: list[str]) -> FeatureModel:
    """Read and verify the feature model ``entry`` (a task's ``feature_model`` in bundle.json):
    its boosters and MLP files with their SHA-256, ``weight``, ``gbm_share`` and optionally
    ``labels``, the subset of the task's ``labels`` it scores (e.g. the form statements within
    ``all``). Files are verified on every load, parsed once per process. A plain dict (a
    bundle being built) is validated as a ``FeatureModelCard`` first."""
    if not isinstance(entry, FeatureModelCard):
        entry = FeatureModelCard.model_validate(entry)
    own = list(entry.labels if entry.labels is not None else labels)
    unknown = [lab for lab in own if lab not in labels]
    if unknown:
        raise ModelError(f"{folder}: feature model labels {unknown} are not the task's labels")
    columns = None if own == list(labels) else [list(labels).index(lab) for lab in own]
    gbm_path = _verified(folder, entry.gbm.file, entry.gbm.sha256)
    mlp_path = _verified(folder, entry.mlp.file, entry.mlp.sha256)
    files = {gbm_path.name: entry.gbm.sha256, mlp_path.name: entry.mlp.sha256}
    cache_key = (entry.gbm.sha256, entry.mlp.sha256, "|".join(own))
    if cache_key not in _LOADED:
        _LOADED[cache_key] = _parse(gbm_path, mlp_path, own)
    boosters, mlp = _LOADED[cache_key]
    return FeatureModel(labels=own, boosters=boosters, mlp=mlp, weight=entry.weight,
                        gbm_share=entry.gbm_share, files=files, columns=columns)


def _parse(gbm_path: Path, mlp_path: Path,
           labels: list[str]) -> tuple[list[tuple[Forest, int]], FeatureMLP]:
    try:
        doc = json.loads(gzip.decompress(gbm_path.read_bytes()))
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise ModelError(f"{gbm_path}: feature model is not valid JSON") from exc
    n_feat = len(feature_names())
    if doc.get("feature_version") != FEATURE_VERSION or doc.get("n_features") != n_feat:
        raise ModelError(f"{gbm_path}: built for feature version {doc.get('feature_version')} "
                         f"with {doc.get('n_features')} features; this ecglens computes version "
                         f"{FEATURE_VERSION} with {n_feat}")
    if list(doc["labels"]) != list(labels):
        raise ModelError(f"{gbm_path}: labels differ from the task's labels")
    boosters = [(parse_lightgbm_text(doc["models"][lab]), len(doc["models"][lab]))
                for lab in labels]
    with np.load(mlp_path, allow_pickle=False) as z:
        mlp = FeatureMLP.from_arrays(z)
    if mlp.center.shape != (n_feat,) or mlp.layers[0][-1][0].shape[1] != len(labels):
        raise ModelError(f"{mlp_path}: MLP shapes do not fit {n_feat} features, "
                         f"{len(labels)} labels")
    return boosters, mlp


def save_gbm(path: Path, labels: list[str], boosters: list[list[Any]],
             info: dict[str, Any]) -> str:
    """Write the boosters (LightGBM text format, per label a list over seeds) into one
    gzip-compressed JSON file; returns its SHA-256."""
    doc = {"feature_version": FEATURE_VERSION, "n_features": len(feature_names()),
           "feature_names": feature_names(), "labels": list(labels), **info,
           "models": {lab: [b.model_to_string() for b in seeds]
                      for lab, seeds in zip(labels, boosters, strict=True)}}
    # mtime=0: the same boosters give the same bytes, hence the same SHA-256
    path.write_bytes(gzip.compress(json.dumps(doc).encode(), mtime=0))
    return sha256_file(path)


def save_mlp(path: Path, mlp: FeatureMLP) -> str:
    """Write the MLP as float32 arrays (``np.savez``, no objects); returns its SHA-256."""
    arrays = {k: (v if v.dtype == bool else v.astype(np.float32)) for k, v in mlp.arrays().items()}
    with path.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy stubs: allow_pickle
    return sha256_file(path)
