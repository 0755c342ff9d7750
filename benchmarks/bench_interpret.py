"""Time of ``ecglens interpret`` per ECG, by stage, against its own parts in the same run.

    .venv/bin/python -m benchmarks.bench_interpret [--records 20] [--threads 1]

On PTB-XL fold-9 records (100 Hz, from ``cache/ptbxl``) and the bundled 500 Hz example, with
torch limited to ``--threads`` (1 = the "one core" of the goals). Each record runs once to warm
up, then ``--repeats`` times; medians per record, then the median over records.
Rows: the two stages interpretation is built from — measurement (``measure.analyze``) and the
network (``Predictor.predict``) — as the baseline, then ``interpret`` without explanations,
with explanations of the top 3 findings, and the PDF report.
Goals: interpret ≤ 50 ms; with 3 explanations ≤ 300 ms; PDF ≤ 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch

from ecglens.interpret.pipeline import DEFAULT_BUNDLE, interpret
from ecglens.io import read
from ecglens.measure.analysis import analyze
from ecglens.models import load_predictor
from ecglens.record import ECG
from ecglens.report.pages import write_pdf

ROOT = Path(__file__).resolve().parents[1]
PTBXL = Path(os.environ.get("ECGLENS_CACHE", ROOT / "cache")) / "ptbxl"
EXAMPLE = ROOT / "src" / "ecglens" / "examples" / "E07500.hea"
CPU_TIME = False


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds per call; CPU time of this process when ``CPU_TIME`` (a shared, loaded
    machine stretches wall time by waiting, not by work), else wall time."""
    clock = time.process_time if CPU_TIME else time.perf_counter
    fn()
    out = []
    for _ in range(repeats):
        t = clock()
        fn()
        out.append(clock() - t)
    return statistics.median(out)


def bench_one(ecg: ECG, pred: object, pdf: Path, repeats: int) -> dict[str, float]:
    r = interpret(ecg, predictor=pred, explain=3)  # type: ignore[arg-type]
    return {
        "measure.analyze (baseline)": timed(lambda: analyze(ecg), repeats),
        "Predictor.predict (baseline)": timed(
            lambda: pred.predict(ecg.to_standard_12()), repeats),  # type: ignore[attr-defined]
        "interpret, no explanation": timed(
            lambda: interpret(ecg, predictor=pred, explain=0), repeats),  # type: ignore[arg-type]
        "interpret + 3 explanations": timed(
            lambda: interpret(ecg, predictor=pred, explain=3), repeats),  # type: ignore[arg-type]
        "PDF report (write_pdf)": timed(lambda: write_pdf(ecg, r, pdf), repeats),
        "pages in PDF": write_pdf(ecg, r, pdf),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_BUNDLE, help="model bundle (default: interpret's)")
    ap.add_argument("--records", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpu-time", action="store_true",
                    help="report process CPU time instead of wall time (for loaded machines)")
    args = ap.parse_args()
    global CPU_TIME
    CPU_TIME = args.cpu_time
    torch.set_num_threads(args.threads)
    pred = load_predictor(args.model)
    db = pd.read_csv(PTBXL / "ptbxl_database.csv")
    files = [PTBXL / f"{f}.hea" for f in db[db.strat_fold == 9].filename_lr[:args.records]]
    ecgs: list[ECG] = [read(EXAMPLE)] + [read(f) for f in files]
    tmp = Path(tempfile.mkdtemp())
    rows: dict[str, list[float]] = {k: [] for k in (
        "measure.analyze (baseline)", "Predictor.predict (baseline)", "interpret, no explanation",
        "interpret + 3 explanations", "PDF report (write_pdf)", "pages in PDF")}
    for ecg in ecgs:
        for name, value in bench_one(ecg, pred, tmp / "r.pdf", args.repeats).items():
            rows[name].append(value)
    base = statistics.median(rows["measure.analyze (baseline)"]) + statistics.median(
        rows["Predictor.predict (baseline)"])
    print(f"{len(ecgs)} ECGs (bundled 500 Hz example + {len(files)} PTB-XL fold-9 at 100 Hz), "
          f"torch threads {args.threads}, median of {args.repeats} runs each, "
          f"{'CPU' if CPU_TIME else 'wall'} time")
    print(f"{'stage':<32} {'median':>10} {'max':>10}  ratio to analyze+predict")
    for name, vals in rows.items():
        if name == "pages in PDF":
            print(f"{name:<32} {statistics.median(vals):>10.0f} {max(vals):>10.0f}")
            continue
        med = statistics.median(vals)
        print(f"{name:<32} {med * 1000:>8.1f}ms {max(vals) * 1000:>8.1f}ms  {med / base:5.2f}")


if __name__ == "__main__":
    main()
