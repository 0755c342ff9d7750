"""``ecglens predict FILE [--json]``: diagnostic statements, ECG-age and sex from one ECG."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecglens.cli.common import print_json
from ecglens.io import read


def _run(args: argparse.Namespace) -> int:
    from ecglens.models import load_predictor

    predictor = load_predictor(args.model)
    ecg = read(Path(args.file))
    pred = predictor.predict(ecg)
    if args.json:
        print_json(pred.model_dump(mode="json"))
        return 0
    print(f"model: {pred.model.name} {pred.model.version}")
    for note in pred.warnings:
        print(f"note: {note}")
    for task, tp in pred.tasks.items():
        top = sorted(tp.probabilities.items(), key=lambda kv: -kv[1])[:args.top]
        listed = ", ".join(f"{k} {v:.2f}" for k, v in top)
        print(f"{task:>16}: positive [{', '.join(tp.positive) or '-'}]  top: {listed}")
    if pred.age_years is not None:
        print(f"{'ECG-age':>16}: {pred.age_years:.1f} years")
    if pred.sex_female_probability is not None:
        print(f"{'sex':>16}: P(female) = {pred.sex_female_probability:.2f}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("predict", help="run the shipped diagnostic model on one ECG file")
    p.add_argument("file", help="ECG file in any supported format")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--model", help="model bundle name or folder (default: the shipped one)")
    p.add_argument("--top", type=int, default=3, help="labels listed per task (text output)")
    p.set_defaults(func=_run)
