"""Re-create the *form* feature model of the shipped bundle from scratch (CPU, ~20 min).

    python -m training.build_form_features extract PTBXL_DIR --out .devdata/form  # summaries
    python -m training.build_form_features train --out .devdata/form              # folds 1-8
    python -m training.build_form_features blend PTBXL_DIR --out .devdata/form \
        --bundle src/ecglens/weights/ptbxl-ensemble                               # fold 9

``extract`` runs the measurement stage on every PTB-XL record of folds 1-9 at 100 Hz (the
networks' input) and caches the raw summaries (``ecglens.models.form_features.summarise``).
``train`` fits, on folds 1-8 only (fold 8 as inner validation for tree counts and epochs),
LightGBM boosters per form label (text format, no pickles) and a small MLP (plain arrays).
``blend`` chooses the two blend scalars (a, w) on fold 9 and measures how optimistic that
choice is (random halvings of fold 9), refits the temperature, per-label offsets and
thresholds of ``form`` and ``all`` on fold 9 (as for the networks), installs both files with
their SHA-256 into the bundle and re-scores both tasks into ``fold9_evaluation.json``.
Needs ``pip install lightgbm`` (the test/bench extras); inference does not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ecglens.models.feature_model import FeatureMLP, save_gbm, save_mlp
from ecglens.models.form_features import FEATURE_VERSION, feature_matrix, summarise_batch

GBM_FILE, MLP_FILE = "form_features_gbm.json.gz", "form_features_mlp.npz"

ALL_FOLDS = list(range(1, 10))


def _chunk(args: tuple[np.ndarray]) -> dict[str, np.ndarray]:
    return summarise_batch(args[0])


def extract(ptbxl: Path, out: Path, workers: int) -> None:
    from ecglens.data.labels import LABEL_TASKS
    from ecglens.data.training_set import load_training_set
    from ecglens.models import load_predictor

    pred = load_predictor()
    labels = {t: pred.labels(t) for t in LABEL_TASKS}
    out.mkdir(parents=True, exist_ok=True)
    data = load_training_set(ptbxl, folds=ALL_FOLDS, label_names=labels)
    print(f"{len(data.x)} records loaded", flush=True)
    step = 200
    starts = list(range(0, len(data.x), step))
    parts: list[dict[str, np.ndarray]] = []
    t0 = time.time()
    with ProcessPoolExecutor(workers) as pool:
        for i, part in enumerate(pool.map(_chunk, [(data.x[s:s + step],) for s in starts])):
            parts.append(part)
            done = min((i + 1) * step, len(data.x))
            print(f"{done}/{len(data.x)} records, {time.time() - t0:.0f} s", flush=True)
    summ = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    s = data.layout.slice("form")
    np.savez(out / "summaries.npz", **summ, ecg_ids=data.ecg_ids, folds=data.folds,
             y=data.targets[:, s], has=data.mask[:, s.start],
             labels=np.array(data.layout.labels["form"]), version=FEATURE_VERSION)
    print(f"wrote {out / 'summaries.npz'}", flush=True)


GBM_PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 7, "min_data_in_leaf": 10,
    "feature_fraction": 0.2, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 5.0,
    "num_threads": 1, "verbose": -1, "seed": 0}
GBM_SEEDS = 3
A_GRID, W_GRID = np.round(np.linspace(0, 1, 11), 2), np.round(np.linspace(0, 1, 21), 2)
MLP_HIDDEN, MLP_SEEDS, MLP_MAX_EPOCHS = 256, 5, 30


def _load_summaries(out: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    z = np.load(out / "summaries.npz")
    if int(z["version"]) != FEATURE_VERSION:
        raise SystemExit(f"{out}/summaries.npz: feature version {int(z['version'])}, "
                         f"expected {FEATURE_VERSION}; run extract again")
    x = feature_matrix({k: z[k] for k in ("meas", "rhythm", "fid", "med")}).astype(np.float64)
    return x, {k: z[k] for k in ("folds", "y", "has", "ecg_ids", "labels")}


def _macro_auc(y: np.ndarray, s: np.ndarray) -> float:
    from ecglens.evaluate.metrics import macro_auc

    return float(macro_auc(y, s))


def train_gbm(x: np.ndarray, meta: dict[str, np.ndarray]) -> tuple[list[list[Any]], dict]:
    """Boosters per label; trees counted by early stopping on fold 8 (trained on 1-7), then
    ``GBM_SEEDS`` boosters (bagging and feature sampling seeds) on folds 1-8 with 15 % more."""
    import lightgbm as lgb

    folds, y, has = meta["folds"], meta["y"], meta["has"]
    tr, va, full = has & (folds <= 7), has & (folds == 8), has & (folds <= 8)
    boosters, report = [], {}
    for j, lab in enumerate(meta["labels"]):
        d = lgb.Dataset(x[tr], y[tr, j])
        b = lgb.train({**GBM_PARAMS, "metric": "auc"}, d, 1200,
                      valid_sets=[lgb.Dataset(x[va], y[va, j], reference=d)],
                      callbacks=[lgb.early_stopping(80, verbose=False)])
        n = max(50, int(b.best_iteration * 1.15))
        boosters.append([lgb.train({**GBM_PARAMS, "seed": seed},
                                   lgb.Dataset(x[full], y[full, j]), n)
                         for seed in range(GBM_SEEDS)])
        report[str(lab)] = {"trees": n, "fold8_auc": float(b.best_score["valid_0"]["auc"])}
        print(f"gbm {lab}: {n} trees, fold-8 AUC {report[str(lab)]['fold8_auc']:.3f}", flush=True)
    return boosters, report


def _fit_mlp(x: np.ndarray, y: np.ndarray, inputs: Any, seed: int, epochs: int,
             val: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[Any, list[float]]:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    xt = torch.tensor(inputs(x), dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    net = nn.Sequential(nn.Dropout(0.1), nn.Linear(xt.shape[1], MLP_HIDDEN), nn.ReLU(),
                        nn.Dropout(0.3), nn.Linear(MLP_HIDDEN, MLP_HIDDEN), nn.ReLU(),
                        nn.Dropout(0.3), nn.Linear(MLP_HIDDEN, y.shape[1]))
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-3)
    hist = []
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 128):
            b = perm[i:i + 128]
            loss = nn.functional.binary_cross_entropy_with_logits(net(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if val is not None:
            net.eval()
            with torch.no_grad():
                p = net(torch.tensor(inputs(val[0]), dtype=torch.float32)).numpy()
            hist.append(_macro_auc(val[1], p))
    net.eval()
    return net, hist


def train_mlp(x: np.ndarray, meta: dict[str, np.ndarray]) -> tuple[FeatureMLP, dict]:
    """Scaling from folds 1-8; epochs chosen on fold 8 (trained on 1-7, 3-epoch moving mean);
    then ``MLP_SEEDS`` nets on folds 1-8."""
    import torch

    torch.set_num_threads(1)
    folds, y, has = meta["folds"], meta["y"], meta["has"]
    tr, va, full = has & (folds <= 7), has & (folds == 8), has & (folds <= 8)
    q25, center, q75 = np.nanpercentile(x[full], [25, 50, 75], axis=0)
    scale = np.where(q75 - q25 > 1e-6, q75 - q25, np.nanstd(x[full], axis=0) + 1e-6)
    scale = np.where(np.isfinite(scale), scale, 1.0)
    center = np.where(np.isfinite(center), center, 0.0)
    proto = FeatureMLP(center=center, scale=scale, nan_columns=np.isnan(x[full]).any(axis=0),
                       layers=[])
    _, hist = _fit_mlp(x[tr], y[tr], proto.inputs, 0, MLP_MAX_EPOCHS, val=(x[va], y[va]))
    smooth = np.convolve(hist, np.ones(3) / 3, mode="same")[1:-1]
    epochs = int(np.argmax(smooth)) + 2
    print(f"mlp: {epochs} epochs (fold-8 AUC {smooth.max():.3f})", flush=True)
    layers = []
    for seed in range(MLP_SEEDS):
        net, _ = _fit_mlp(x[full], y[full], proto.inputs, seed, epochs)
        lin = [m for m in net if hasattr(m, "weight")]
        layers.append([(m.weight.detach().numpy().T.astype(np.float64),
                        m.bias.detach().numpy().astype(np.float64)) for m in lin])
    mlp = FeatureMLP(center=center, scale=scale, nan_columns=proto.nan_columns, layers=layers)
    return mlp, {"epochs": epochs, "fold8_auc": float(smooth.max()), "seeds": MLP_SEEDS}


def train(out: Path) -> None:
    x, meta = _load_summaries(out)
    labels = [str(v) for v in meta["labels"]]
    boosters, gbm_report = train_gbm(x, meta)
    sha = save_gbm(out / GBM_FILE, labels, boosters,
                   {"trained_on": "PTB-XL folds 1-8 (fold 8 for early stopping)",
                    "params": GBM_PARAMS, "report": gbm_report})
    mlp, mlp_report = train_mlp(x, meta)
    sha_mlp = save_mlp(out / MLP_FILE, mlp)
    (out / "train_report.json").write_text(json.dumps(
        {"gbm": gbm_report, "mlp": mlp_report, "gbm_sha256": sha, "mlp_sha256": sha_mlp},
        indent=1))
    print(f"wrote {out / GBM_FILE} ({sha[:12]}), {out / MLP_FILE} ({sha_mlp[:12]})")


def _blend_scores(y: np.ndarray, net: np.ndarray, gbm: np.ndarray, mlp: np.ndarray,
                  rows: np.ndarray) -> np.ndarray:
    """Macro AUC over the (a, w) grid for the records ``rows`` (labels with both classes)."""
    yr = y[rows]
    keep = (yr.sum(axis=0) > 0) & (yr.sum(axis=0) < len(rows))
    yr, n, g, m = yr[:, keep], net[rows][:, keep], gbm[rows][:, keep], mlp[rows][:, keep]
    return np.array([[_macro_auc(yr, (1 - w) * n + w * (a * g + (1 - a) * m)) for w in W_GRID]
                     for a in A_GRID])


def _optimism(y: np.ndarray, net: np.ndarray, gbm: np.ndarray, mlp: np.ndarray,
              n_splits: int = 60) -> dict[str, Any]:
    """Selection optimism of choosing (a, w) on fold 9: choose on a random half, score on
    the other; compare with the other half's own best score."""
    rng = np.random.default_rng(0)
    gaps, honest, chosen = [], [], []
    for _ in range(n_splits):
        idx = rng.permutation(len(y))
        ha, hb = idx[: len(y) // 2], idx[len(y) // 2:]
        sa, sb = _blend_scores(y, net, gbm, mlp, ha), _blend_scores(y, net, gbm, mlp, hb)
        i, j = np.unravel_index(int(np.argmax(sa)), sa.shape)
        gaps.append(float(sb.max() - sb[i, j]))
        honest.append(float(sb[i, j] - sb[0, 0]))  # w = 0: the networks alone
        chosen.append((float(A_GRID[i]), float(W_GRID[j])))
    ch = np.array(chosen)
    return {"splits": n_splits,
            "mean_gap_own_best_vs_chosen_on_other_half": float(np.mean(gaps)),
            "mean_gain_over_networks_with_a_w_chosen_on_other_half": float(np.mean(honest)),
            "gain_q10_q50_q90": [float(q) for q in np.quantile(honest, [0.1, 0.5, 0.9])],
            "a_chosen_q10_q50_q90": [float(q) for q in np.quantile(ch[:, 0], [0.1, 0.5, 0.9])],
            "w_chosen_q10_q50_q90": [float(q) for q in np.quantile(ch[:, 1], [0.1, 0.5, 0.9])]}


def _calibration(z: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Temperature, per-label offsets and thresholds on fold 9, as ``train.ensemble`` fits them."""
    from ecglens.evaluate.calibration import (
        fit_bias_temperature,
        probabilities,
        rare_label_threshold,
        specificity_threshold,
    )

    bias, temp = fit_bias_temperature(z, y)
    p = probabilities(z + bias, temp)
    return {"temperature": temp, "logit_bias": bias.tolist(),
            "thresholds_f1": [rare_label_threshold(y[:, j], p[:, j]) for j in range(y.shape[1])],
            "thresholds_spec95": [specificity_threshold(y[:, j], p[:, j])
                                  for j in range(y.shape[1])]}


def blend(ptbxl: Path, out: Path, bundle: Path, *, optimism_splits: int = 60) -> None:
    """Choose (a, w) on fold 9's form task; install the feature model into ``bundle`` for
    ``form`` and for the form statements within ``all`` (same a and w, nothing chosen there);
    refit both tasks' calibration and thresholds on fold 9 and re-score them."""
    import shutil

    from ecglens.evaluate.run import evaluate_task, load_outputs
    from ecglens.models.bundle import sha256_file
    from ecglens.models.feature_model import FeatureModel, load_feature_model
    from ecglens.models.predictor import Predictor

    spec_path = bundle / "bundle.json"
    spec = json.loads(spec_path.read_text())
    form, every = spec["tasks"]["form"], spec["tasks"]["all"]
    form.pop("feature_model", None)
    every.pop("feature_model", None)
    spec_path.write_text(json.dumps(spec, indent=1))  # networks only, to score them alone
    pred = Predictor(bundle)
    data, outs = load_outputs(pred, ptbxl, [9], stored=bundle / "fold9_outputs.npz")

    def network_logits(task: str, rows: np.ndarray) -> np.ndarray:
        return np.mean([outs[n][rows][:, pred.members[n].layout.slice(task)]
                        for n in pred.task_members(task)], axis=0)

    entry = {"gbm": {"file": GBM_FILE, "sha256": sha256_file(out / GBM_FILE)},
             "mlp": {"file": MLP_FILE, "sha256": sha256_file(out / MLP_FILE)}, "weight": 0.0}
    labels = list(form["labels"])
    fm: FeatureModel = load_feature_model(out, entry, labels)
    t0 = time.time()
    feats = feature_matrix(summarise_batch(data.x.astype(np.float64), pred.fs))
    print(f"fold-9 features of {len(feats)} records in {time.time() - t0:.0f} s", flush=True)
    gbm_all, mlp_all = fm.gbm_raw(feats), fm.mlp(feats)

    s = data.layout.slice("form")
    rows = data.mask[:, s.start]
    net, y = network_logits("form", rows), data.targets[rows][:, s].astype(np.int64)
    gbm, mlp = gbm_all[rows], mlp_all[rows]
    grid = _blend_scores(y, net, gbm, mlp, np.arange(len(y)))
    i, j = np.unravel_index(int(np.argmax(grid)), grid.shape)
    a, w = float(A_GRID[i]), float(W_GRID[j])
    report = {"a_grid": A_GRID.tolist(), "w_grid": W_GRID.tolist(), "scores": grid.tolist(),
              "gbm_share": a, "weight": w, "fold9_macro_auc": float(grid[i, j]),
              "networks_only": float(grid[0, 0]), "gbm_only": _macro_auc(y, gbm),
              "mlp_only": _macro_auc(y, mlp), "equal_shares_best_w": float(grid[5].max()),
              "optimism": _optimism(y, net, gbm, mlp, optimism_splits)
              if optimism_splits else None}
    print(json.dumps({k: v for k, v in report.items() if k != "scores"}, indent=1), flush=True)
    feat_z = a * gbm_all + (1 - a) * mlp_all
    form.update(feature_model={**entry, "weight": w, "gbm_share": a},
                **_calibration((1 - w) * net + w * feat_z[rows], y))

    s = data.layout.slice("all")
    rows = data.mask[:, s.start]
    z, y = network_logits("all", rows), data.targets[rows][:, s].astype(np.int64)
    cols = [list(every["labels"]).index(lab) for lab in labels]
    report["all_networks_only"] = _macro_auc(y, z)
    z[:, cols] = (1 - w) * z[:, cols] + w * feat_z[rows]
    report["all_blended"] = _macro_auc(y, z)
    every.update(feature_model={**entry, "weight": w, "gbm_share": a, "labels": labels},
                 **_calibration(z, y))
    for f in (GBM_FILE, MLP_FILE):
        shutil.copyfile(out / f, bundle / f)
    spec["version"] = "1.2"
    spec_path.write_text(json.dumps(spec, indent=1))
    pred = Predictor(bundle)
    card_path = bundle / "fold9_evaluation.json"
    card = json.loads(card_path.read_text())
    for task in ("form", "all"):
        res = evaluate_task(pred, data, outs, task)
        card[task] = {**res, "folds": [9]}
        print(f"{task}: fold-9 macro AUC {res['macro_auc']:.4f} (CI {res['auc_ci95']})",
              flush=True)
    card_path.write_text(json.dumps(card, indent=1))
    (out / "blend_report.json").write_text(json.dumps(report, indent=1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("ptbxl")
    e.add_argument("--out", default=".devdata/form")
    e.add_argument("--workers", type=int, default=2)
    t = sub.add_parser("train")
    t.add_argument("--out", default=".devdata/form")
    b = sub.add_parser("blend")
    b.add_argument("ptbxl")
    b.add_argument("--out", default=".devdata/form")
    b.add_argument("--bundle", default="src/ecglens/weights/ptbxl-ensemble")
    b.add_argument("--optimism-splits", type=int, default=60,
                   help="random halvings of fold 9 to measure selection optimism (0: skip)")
    args = ap.parse_args(argv)
    if args.cmd == "extract":
        extract(Path(args.ptbxl), Path(args.out), args.workers)
    elif args.cmd == "train":
        train(Path(args.out))
    else:
        blend(Path(args.ptbxl), Path(args.out), Path(args.bundle),
              optimism_splits=args.optimism_splits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
