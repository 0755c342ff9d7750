"""``ecglens measure FILE|DIR [--json]``: heart rate, intervals, QTc, axes, quality, lead
reversal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ecglens.cli.common import print_json, rel, run_many
from ecglens.io import read
from ecglens.measure import analyze
from ecglens.measure.results import MEASUREMENT_SPECS, LeadReversal


def measure_file(path: Path) -> dict[str, Any]:
    """The measurement report as one JSON-ready object, the measurements flattened to the top
    (the layout ``measure --json`` has always printed), then quality, lead reversal, beats,
    pacing and the median beats."""
    report = analyze(read(path)).report().model_dump(mode="json")
    return {**report.pop("measurements"), **report}


def _print_text(d: dict[str, Any]) -> None:
    for spec in MEASUREMENT_SPECS:
        v = d[spec.field]
        shown = (f"{v:g} {spec.unit}" if v is not None
                 else f"— ({d['not_measured'].get(spec.field, 'n/a')})")
        print(f"{spec.field:>18}: {shown}")
    q = d["quality"]
    print(f"{'quality':>18}: {q['verdict']}"
          + (f" ({'; '.join(q['reasons'])})" if q["reasons"] else ""))
    lr = d["lead_reversal"]
    if lr["suspected"]:
        print(f"{'lead reversal':>18}: {lr['suspected']} suspected "
              f"({LeadReversal.model_validate(lr).rarity()})")
    elif lr.get("not_assessed"):
        print(f"{'lead reversal':>18}: {lr['not_assessed']}")
    else:
        print(f"{'lead reversal':>18}: none suspected")
    sp = d["pacing"]["spikes_ms_from_r"]
    if sp:
        print(f"{'pacing':>18}: pacemaker spikes at " + ", ".join(f"{t:+g}" for t in sp)
              + " ms from R")


def _run(args: argparse.Namespace) -> int:
    results, is_dir = run_many(args.path, measure_file, desc="measuring")
    if not is_dir:
        d = results[0][1]
        if d is None:  # pragma: no cover - run_many raises for a single file
            return 1
        if args.json:
            print_json(d)
        else:
            _print_text(d)
        return 0
    failed = [(f, err) for f, _, err in results if err]
    if args.json:
        print_json({
            "n_files": len(results),
            "n_failed": len(failed),
            "records": [{"file": rel(f, args.path), **r} for f, r, _ in results if r],
            "errors": [{"file": str(f), "error": e} for f, e in failed],
        })
    else:
        print("file\tHR\tPR\tQRS\tQT\tQTcB\tQRS axis\tquality\treversal")
        for f, d, err in results:
            name = rel(f, args.path)
            if d is None:
                print(f"{name}\tERROR\t{err}")
                continue
            vals = [d[k] for k in ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms",
                                   "qrs_axis_deg")]
            cells = ["—" if v is None else f"{v:.0f}" for v in vals]
            print("\t".join([name, *cells, d["quality"]["verdict"],
                             d["lead_reversal"]["suspected"] or "-"]))
    for f, err in failed:
        print(f"ecglens: error: {f}: {err}", file=sys.stderr)
    return 1 if failed else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("measure",
                       help="measure intervals, QTc, axes, signal quality and lead reversal")
    p.add_argument("path", help="ECG file or directory")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)
