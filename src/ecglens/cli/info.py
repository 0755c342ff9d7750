"""``ecglens info FILE|DIR [--json]``: what is in an ECG file.

For a directory every ECG below it is read (WFDB records once, by their header) with a progress
bar on stderr. stdout gets one tab-separated row per file (or, with ``--json``, one object with
``n_files``, ``n_read``, ``n_failed``, ``records`` and ``errors``); a file that cannot be read is
a row ``ERROR`` on stdout and a line ``ecglens: error: FILE: problem`` on stderr, and the batch
goes on. stderr ends with a summary (``30 of 31 files read, 1 failed``). The exit status is 0
when every file was read and 1 when any failed, so scripts can tell.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from ecglens.cli.common import print_json, rel, run_many, summary
from ecglens.io import detect_format, read
from ecglens.record import ECG


def describe(path: Path) -> dict[str, Any]:
    """Read ``path`` and summarise it (what ``ecglens info`` prints for one file)."""
    fmt = detect_format(path)
    return summarize(read(path, format=fmt), path, fmt)


def summarize(ecg: ECG, path: Path, fmt: str) -> dict[str, Any]:
    """The JSON-safe summary of a record: a corrupt file can carry NaN or infinite device
    measurements, which strict JSON cannot hold, so those are reported as null."""
    out: dict[str, Any] = {
        "file": str(path),
        "format": fmt,
        "leads": list(ecg.leads),
        "sampling_rate_hz": ecg.fs,
        "n_samples": ecg.n_samples,
        "duration_s": round(ecg.duration_s, 6),
        "units": "mV",
    }
    if ecg.acquisition.device:
        out["device"] = ecg.acquisition.device
    if ecg.device.measurements:
        out["device_measurements"] = {
            k: (v if isinstance(v, (int, float)) and math.isfinite(v) else None)
            for k, v in ecg.device.measurements.items()
        }
    if ecg.device.statements:
        out["device_statements"] = ecg.device.statements
    if ecg.device.codes:
        out["device_codes"] = ecg.device.codes
    return out


def _run(args: argparse.Namespace) -> int:
    results, is_dir = run_many(args.path, describe, desc="reading")
    if not is_dir:
        info = results[0][1] or {}  # run_many raises for a single file that fails
        if args.json:
            print_json(info)
        else:
            for k, v in info.items():
                print(f"{k:>20}: {', '.join(map(str, v)) if isinstance(v, list) else v}")
        return 0
    failed = [(f, err) for f, _, err in results if err]
    if args.json:
        print_json({
            "n_files": len(results),
            "n_read": len(results) - len(failed),
            "n_failed": len(failed),
            "records": [r for _, r, _ in results if r],
            "errors": [{"file": str(f), "error": e} for f, e in failed],
        })
    else:
        for f, rec, err in results:
            name = rel(f, args.path)
            if rec:
                print(f"{name}\t{rec['format']}\t{len(rec['leads'])} leads\t"
                      f"{rec['sampling_rate_hz']:g} Hz\t{rec['duration_s']:.2f} s")
            else:
                print(f"{name}\tERROR\t{err}")
    for f, err in failed:
        print(f"ecglens: error: {f}: {err}", file=sys.stderr)
    print(f"ecglens: {summary(results, done='read')}", file=sys.stderr)
    return 1 if failed else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("info", help="describe an ECG file or every ECG file in a directory")
    p.add_argument("path", help="ECG file or directory")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)
