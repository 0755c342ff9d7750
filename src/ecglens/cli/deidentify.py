"""``ecglens deidentify IN OUT [--key-file F | --key K] [--shift-days N | --drop-dates]``.

Writes a de-identified copy of one ECG file, or of every ECG file under a directory (the output
directory mirrors the input tree), in the same format. Waveform samples are copied unchanged.
Nothing read from the files is printed: only counts, paths and the reason a file failed.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from ecglens.cli.common import expand_inputs, progress, rel
from ecglens.exceptions import ECGFormatError, EcglensError
from ecglens.io.deidentify import DeidOptions, deidentify


def _options(args: argparse.Namespace) -> DeidOptions:
    key: bytes | None = None
    if args.key_file:
        try:
            key = Path(args.key_file).read_bytes().strip()
        except OSError as exc:
            raise ECGFormatError(args.key_file, f"cannot read key file ({exc.strerror})") from None
        if not key:
            raise ECGFormatError(args.key_file, "key file is empty")
    elif args.key:
        key = args.key.encode()
    return DeidOptions(pseudonym_key=key, date_shift_days=args.shift_days,
                       drop_dates=args.drop_dates)


def _run(args: argparse.Namespace) -> int:
    options = _options(args)
    files, is_dir = expand_inputs(args.input)
    out = Path(args.output)
    if not is_dir:
        dst = out / files[0].name if out.is_dir() else out
        fmt = deidentify(files[0], dst, options)
        print(f"de-identified 1 {fmt} file -> {dst}", file=sys.stderr)
        return 0
    if out.exists() and not out.is_dir():
        raise ECGFormatError(out, "input is a directory, so the output must be a directory too")
    if out.resolve() == Path(args.input).resolve():
        raise ECGFormatError(out, "refusing to write into the input directory; "
                                  "choose another output")
    done: Counter[str] = Counter()
    failed: list[tuple[Path, str]] = []
    for f in progress(files, desc="de-identifying"):
        try:
            done[deidentify(f, out / rel(f, args.input), options)] += 1
        except EcglensError as exc:
            failed.append((f, exc.problem if isinstance(exc, ECGFormatError) else str(exc)))
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop a batch
            failed.append((f, f"{type(exc).__name__}"))
    for f, err in failed:
        print(f"ecglens: error: {f}: {err}", file=sys.stderr)
    summary = ", ".join(f"{n} {fmt}" for fmt, n in sorted(done.items())) or "no files"
    print(f"de-identified {summary}; {len(failed)} failed -> {out}", file=sys.stderr)
    return 1 if failed else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "deidentify",
        help="write a de-identified copy of an ECG file or of every ECG file in a directory",
        description="Remove or pseudonymise patient identifiers, shift or drop dates, and copy the "
        "waveform samples unchanged. Supported: WFDB, DICOM, EDF (and XML/SCP formats whose "
        "readers provide it).",
    )
    p.add_argument("input", help="ECG file or directory")
    p.add_argument("output", help="output file (or directory when the input is a directory)")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--key-file", help="file holding the secret for keyed pseudonyms of patient "
                     "IDs (same key -> same pseudonym); without a key, IDs are removed")
    key.add_argument("--key", help="the secret itself (visible to other users in the process "
                     "list; prefer --key-file)")
    dates = p.add_mutually_exclusive_group()
    dates.add_argument("--shift-days", type=int, default=None,
                       help="shift every date by N days (keeps intervals between ECGs)")
    dates.add_argument("--drop-dates", action="store_true", help="remove dates and times")
    p.set_defaults(func=_run)
