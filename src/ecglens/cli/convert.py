"""``ecglens convert IN OUT [--to wfdb|edf|csv|npz]``: rewrite an ECG in another format.

The output format comes from ``--to`` or else OUT's extension (``.hea`` or none: WFDB,
``.edf``: EDF+, ``.csv``, ``.npz``). Samples keep their quantisation step
(see :mod:`ecglens.io.writers`). Patient identifiers are not written; sex, age and diagnosis
codes are, where the target format has a place for them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecglens.exceptions import ECGFormatError
from ecglens.io import read
from ecglens.io.arrays import write_csv, write_npz
from ecglens.io.writers import write_edf, write_wfdb

_WRITERS = {"wfdb": write_wfdb, "edf": write_edf, "csv": write_csv, "npz": write_npz}
_BY_SUFFIX = {".hea": "wfdb", "": "wfdb", ".edf": "edf", ".csv": "csv", ".npz": "npz"}


def target_format(out: Path, to: str | None) -> str:
    if to:
        return to
    fmt = _BY_SUFFIX.get(out.suffix.lower())
    if fmt is None:
        raise ECGFormatError(
            out, f"cannot tell the output format from the extension {out.suffix!r}; "
            f"use --to ({', '.join(_WRITERS)}) or one of {', '.join(s for s in _BY_SUFFIX if s)}"
        )
    return fmt


def _run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    fmt = target_format(out, args.to)
    src = Path(args.input).resolve()
    # a WFDB output replaces <base>.hea and <base>.dat: neither may be the input
    targets = {out.resolve()} | ({out.with_suffix(s).resolve() for s in (".hea", ".dat")}
                                 if fmt == "wfdb" else set())
    if src in targets:
        raise ECGFormatError(out, "refusing to overwrite the input file; "
                                  "choose another output path")
    ecg = read(args.input)
    written = _WRITERS[fmt](ecg, out)
    print(f"wrote {fmt}: {written} ({ecg.n_leads} leads, {ecg.fs:g} Hz, {ecg.duration_s:.2f} s)",
          file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("convert", help="convert an ECG file to WFDB, EDF+, CSV or NumPy")
    p.add_argument("input", help="ECG file in any supported format")
    p.add_argument("output", help="output path (WFDB: base name or .hea)")
    p.add_argument("--to", choices=sorted(_WRITERS),
                   help="output format (default: from OUT's extension)")
    p.set_defaults(func=_run)
