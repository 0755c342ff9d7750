"""``ecglens measure FILE|DIR [--json]``: heart rate, intervals, QTc, axes, quality, lead reversal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ecglens.cli.common import print_json, rel, run_many
from ecglens.io import read
from ecglens.measure import analyze
from ecglens.measure.results import LeadReversal

_UNITS = {
    "heart_rate_bpm": "bpm", "rr_ms": "ms", "p_duration_ms": "ms", "pr_ms": "ms", "qrs_ms": "ms",
    "qt_ms": "ms", "qtc_bazett_ms": "ms", "qtc_fridericia_ms": "ms", "qtc_framingham_ms": "ms",
    "qtc_hodges_ms": "ms", "p_axis_deg": "°", "qrs_axis_deg": "°", "t_axis_deg": "°",
}


def measure_file(path: Path) -> dict[str, Any]:
    """One flat JSON-ready object: the 13 measurements, then quality and lead reversal."""
    res = analyze(read(path))
    m = res.measurements.model_dump()
    out: dict[str, Any] = {k: m[k] for k in _UNITS}
    out["not_measured"] = m["not_measured"]
    out["quality"] = res.quality.model_dump()
    out["lead_reversal"] = res.lead_reversal.model_dump()
    out["beats"] = {
        "n": len(res.beat_types),
        "premature_ventricular": res.beat_types.count("V"),
        "premature_supraventricular": res.beat_types.count("S"),
        "rr_irregular": res.rr_irregular,
        "p_waves_present": res.p_waves_present,
    }
    ms = 1000.0 / res.fs
    out["pacing"] = {
        "paced": res.paced,
        # spike times relative to the R peak of the median beat: negative = before it
        "spikes_ms_from_r": [round((k - res.median_r_index) * ms, 1) for k in res.pacing_spikes],
    }
    return out


def _print_text(d: dict[str, Any]) -> None:
    for k, unit in _UNITS.items():
        v = d[k]
        shown = f"{v:g} {unit}" if v is not None else f"— ({d['not_measured'].get(k, 'n/a')})"
        print(f"{k:>18}: {shown}")
    q = d["quality"]
    print(f"{'quality':>18}: {q['verdict']}" + (f" ({'; '.join(q['reasons'])})" if q["reasons"] else ""))
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


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("measure", help="measure intervals, QTc, axes, signal quality and lead reversal")
    p.add_argument("path", help="ECG file or directory")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)
