"""``ecglens predict FILE|DIR [--json]``: diagnostic statements, ECG-age and sex.

One file: the probabilities per task (or the full JSON). A directory: every ECG in it, a
progress bar on stderr, one row per file (or one JSON object with ``n_files``, ``n_failed``,
``predictions`` and ``errors``); a file that cannot be read is reported and the batch goes on,
and the exit status is 1 when any file failed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ecglens.cli.common import print_json, rel, run_many
from ecglens.io import read
from ecglens.models import DEFAULT_MODEL


def _text(pred: Any, top_n: int) -> str:
    lines = [f"model: {pred.model.name} {pred.model.version}"]
    lines += [f"note: {note}" for note in pred.warnings]
    for task, tp in pred.tasks.items():
        top = sorted(tp.probabilities.items(), key=lambda kv: -kv[1])[:top_n]
        listed = ", ".join(f"{k} {v:.2f}" for k, v in top)
        lines.append(f"{task:>16}: positive [{', '.join(tp.positive) or '-'}]  top: {listed}")
    if pred.age_years is not None:
        lines.append(f"{'ECG-age':>16}: {pred.age_years:.1f} years")
    if pred.sex_female_probability is not None:
        lines.append(f"{'sex':>16}: P(female) = {pred.sex_female_probability:.2f}")
    return "\n".join(lines)


def _row(pred: Any) -> str:
    """One line per file: the positive labels of each task, ECG-age, P(female)."""
    tasks = "  ".join(f"{task}: {','.join(tp.positive) or '-'}"
                      for task, tp in pred.tasks.items())
    age = "—" if pred.age_years is None else f"{pred.age_years:.0f}"
    sex = "—" if pred.sex_female_probability is None else f"{pred.sex_female_probability:.2f}"
    return f"{age}\t{sex}\t{tasks}"


def _run(args: argparse.Namespace) -> int:
    from ecglens.models import load_predictor

    predictor = load_predictor(args.model)
    results, is_dir = run_many(args.file, lambda f: {"p": predictor.predict(read(f))},
                               desc="predicting")
    if not is_dir:
        first = results[0][1]
        assert first is not None  # run_many raises for a single file that fails
        pred = first["p"]
        if args.json:
            print_json(pred.model_dump(mode="json"))
        else:
            print(_text(pred, args.top))
        return 0
    failed = [(f, err) for f, _, err in results if err]
    if args.json:
        print_json({
            "n_files": len(results), "n_failed": len(failed),
            "predictions": [{"file": rel(f, args.file), **d["p"].model_dump(mode="json")}
                            for f, d, _ in results if d],
            "errors": [{"file": str(f), "error": e} for f, e in failed],
        })
    else:
        print("file\tECG-age\tP(female)\tpositive statements")
        for f, d, err in results:
            print(f"{rel(f, args.file)}\t" + (_row(d["p"]) if d else f"ERROR\t{err}"))
    for f, err in failed:
        print(f"ecglens: error: {f}: {err}", file=sys.stderr)
    print(f"ecglens: {len(results) - len(failed)} of {len(results)} files predicted"
          + (f", {len(failed)} failed" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("predict", help="run the shipped diagnostic model on an ECG file or on "
                       "every ECG file in a directory")
    p.add_argument("file", metavar="path", help="ECG file in any supported format, or directory")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"model bundle name or folder (default: {DEFAULT_MODEL})")
    p.add_argument("--top", type=int, default=3, help="labels listed per task (text output)")
    p.set_defaults(func=_run)

