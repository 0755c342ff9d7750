"""Boosted decision trees evaluated with numpy: the one tree evaluator of the package.

Stage-neutral (it imports nothing of the pipeline stages, only ``ecglens.exceptions``), so the
measurement stage (the LA/LL reversal trees) and the models (the form-feature boosters) both use
it. Inference needs no LightGBM (its wheel links the system OpenMP library, absent on slim
images): trees are held as per-tree arrays and all trees are walked together, one level per
step.

Two stored layouts are read:

- LightGBM's own text model format (``parse_lightgbm_text``), with LightGBM's missing-value rules
  (``NumericalDecision`` in LightGBM's ``tree.h``): the decision type's bit 1 is "default left",
  bits 2-3 the missing type (0 none: NaN is read as 0; 1 zero: 0 and NaN take the default side;
  2 NaN: NaN takes the default side). Numerical splits only. ``tests/test_models_form_features.py``
  checks the result against ``lightgbm.Booster.predict(raw_score=True)``.
- plain arrays (``forest_from_arrays``: ``split_feature``, ``split_threshold``, ``left``,
  ``right``, ``leaf``, ``depth``, as ``training/train_measure_reversal_lall.py`` writes them):
  x goes left when ``x[feature] <= threshold``, so a NaN goes right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecglens.exceptions import ModelError

__all__ = ["Forest", "forest_from_arrays", "parse_lightgbm_text"]

_ZERO = 1e-35  # LightGBM's kZeroThreshold


@dataclass(frozen=True)
class Forest:
    """Trees padded to a common size: internal node arrays (T, N), leaf values (T, L)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray  # child index; a negative c is leaf ~c
    right: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray  # 0 none, 1 zero, 2 NaN
    leaf: np.ndarray
    root: np.ndarray  # 0, or ~0 for a tree that is a single leaf
    depth: int

    def raw(self, x: np.ndarray) -> np.ndarray:
        """(B, n_features) -> (B,) sum of the trees' leaf values (the booster's raw score)."""
        x = np.asarray(x, dtype=np.float64)
        t = np.arange(self.feature.shape[0])[None, :]
        node = np.broadcast_to(self.root, (x.shape[0], t.size)).copy()
        rows = np.arange(x.shape[0])[:, None]
        for _ in range(self.depth):
            inside = node >= 0
            if not inside.any():
                break
            i = np.where(inside, node, 0)
            v = x[rows, self.feature[t, i]]
            miss = self.missing[t, i]
            nan = np.isnan(v)
            v = np.where(nan & (miss != 2), 0.0, v)
            default = ((miss == 1) & (np.abs(v) <= _ZERO)) | ((miss == 2) & nan)
            go_left = np.where(default, self.default_left[t, i], v <= self.threshold[t, i])
            nxt = np.where(go_left, self.left[t, i], self.right[t, i])
            node = np.where(inside, nxt, node)
        if (node >= 0).any():
            raise ModelError("tree walk did not reach a leaf (corrupt tree arrays)")
        return self.leaf[t, ~node].sum(axis=1)


def _ints(v: str) -> list[int]:
    return [int(s) for s in v.split()]


def _floats(v: str) -> list[float]:
    return [float(s) for s in v.split()]


def _depth(left: list[int], right: list[int]) -> int:
    if not left:
        return 0
    best, stack = 0, [(0, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in (left[node], right[node]) if c >= 0)
    return best


def parse_lightgbm_text(texts: list[str]) -> Forest:
    """One forest from the trees of one or more LightGBM text models (their raw scores add).

    Raises ModelError for what this evaluator does not do (categorical or linear trees,
    multi-class models).
    """
    trees: list[dict[str, str]] = []
    for text in texts:
        if "num_tree_per_iteration=1" not in text:
            raise ModelError("only single-output LightGBM models are supported")
        for block in text.split("\nTree=")[1:]:
            fields = dict(line.split("=", 1) for line in block.split("\n")[1:] if "=" in line)
            if fields.get("num_cat", "0") != "0" or fields.get("is_linear", "0") != "0":
                raise ModelError("categorical or linear LightGBM trees are not supported")
            trees.append(fields)
        if not trees:
            raise ModelError("LightGBM model text holds no trees")
    n_int = max(int(t["num_leaves"]) - 1 for t in trees) or 1
    n_leaf = max(int(t["num_leaves"]) for t in trees)
    shape = (len(trees), n_int)
    feature = np.zeros(shape, dtype=np.int64)
    threshold = np.zeros(shape)
    left = np.full(shape, -1, dtype=np.int64)
    right = np.full(shape, -1, dtype=np.int64)
    dleft = np.zeros(shape, dtype=bool)
    missing = np.zeros(shape, dtype=np.int8)
    leaf = np.zeros((len(trees), n_leaf))
    root = np.zeros(len(trees), dtype=np.int64)
    depth = 0
    for k, t in enumerate(trees):
        leaf_values = _floats(t["leaf_value"])
        leaf[k, :len(leaf_values)] = leaf_values
        if int(t["num_leaves"]) == 1:
            root[k] = ~0
            continue
        n = int(t["num_leaves"]) - 1
        dt = np.array(_ints(t["decision_type"]))
        if (dt & 1).any():
            raise ModelError("categorical LightGBM splits are not supported")
        feature[k, :n] = _ints(t["split_feature"])
        threshold[k, :n] = _floats(t["threshold"])
        lc, rc = _ints(t["left_child"]), _ints(t["right_child"])
        left[k, :n], right[k, :n] = lc, rc
        dleft[k, :n] = (dt & 2) > 0
        missing[k, :n] = (dt >> 2) & 3
        depth = max(depth, _depth(lc, rc))
    return Forest(feature=feature, threshold=threshold, left=left, right=right,
                  default_left=dleft, missing=missing, leaf=leaf, root=root, depth=depth)


def forest_from_arrays(arrays: dict[str, np.ndarray]) -> Forest:
    """A forest from trees stored as plain arrays (T trees, N internal nodes, L leaves).

    ``split_feature``, ``split_threshold``, ``left``, ``right``: (T, N); internal node i sends x
    to ``left`` if ``x[split_feature] <= split_threshold``, else to ``right``; a negative child c
    is leaf ~c of ``leaf`` (T, L). Every tree starts at node 0 (a single-leaf tree is a node whose
    children are both ~0); ``depth`` bounds the number of steps to a leaf. No missing-value rule:
    NaN fails ``<=`` and goes right (read as missing type NaN with the default side right).
    """
    need = ("split_feature", "split_threshold", "left", "right", "leaf", "depth")
    if missing := [k for k in need if k not in arrays]:
        raise ModelError(f"tree arrays lack {missing}")
    feature = np.asarray(arrays["split_feature"], dtype=np.int64)
    shape = feature.shape
    parts = [np.asarray(arrays[k]) for k in ("split_threshold", "left", "right")]
    if feature.ndim != 2 or any(p.shape != shape for p in parts) or arrays["leaf"].ndim != 2 \
            or arrays["leaf"].shape[0] != shape[0]:
        raise ModelError("tree arrays of inconsistent shapes")
    return Forest(feature=feature, threshold=np.asarray(parts[0], dtype=np.float64),
                  left=parts[1].astype(np.int64), right=parts[2].astype(np.int64),
                  default_left=np.zeros(shape, dtype=bool), missing=np.full(shape, 2, np.int8),
                  leaf=np.asarray(arrays["leaf"], dtype=np.float64),
                  root=np.zeros(shape[0], dtype=np.int64), depth=int(arrays["depth"]) + 1)
