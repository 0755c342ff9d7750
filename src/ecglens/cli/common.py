"""What every subcommand shares: expanding inputs, a progress bar, JSON output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ecglens.exceptions import ECGFormatError

# Companion files that belong to a record whose main file is elsewhere (WFDB signals,
# annotations) or that are not ECGs at all; skipped when a directory is expanded.
_SKIP_SUFFIXES = {
    ".dat", ".mat", ".atr", ".txt", ".md", ".json", ".tar", ".xz", ".gz", ".zip", ".pdf",
    ".png", ".py", ".i", ".ii", ".iii", ".avr", ".avl", ".avf",
    ".v1", ".v2", ".v3", ".v4", ".v5", ".v6",
}


def expand_inputs(path: str) -> tuple[list[Path], bool]:
    """Files to process and whether the input was a directory."""
    p = Path(path)
    if p.is_dir():
        files = sorted(
            f for f in p.rglob("*")
            if f.is_file() and f.suffix.lower() not in _SKIP_SUFFIXES and not f.name.startswith(".")
        )
        if not files:
            raise ECGFormatError(p, "directory holds no ECG files")
        return files, True
    if not p.exists():
        raise ECGFormatError(p, "file not found")
    return [p], False


def progress(items: list[Path], *, desc: str) -> Iterator[Path]:
    """A progress bar on stderr (so stdout stays clean JSON)."""
    yield from tqdm(items, desc=desc, unit="file", file=sys.stderr, disable=len(items) < 2)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str, allow_nan=False)
    sys.stdout.write("\n")


def run_many(
    path: str,
    one: Callable[[Path], dict[str, Any]],
    *,
    desc: str,
) -> tuple[list[tuple[Path, dict[str, Any] | None, str | None]], bool]:
    """Apply ``one`` to every input; collect errors per file instead of stopping at the first."""
    files, is_dir = expand_inputs(path)
    if not is_dir:
        return [(files[0], one(files[0]), None)], False
    results: list[tuple[Path, dict[str, Any] | None, str | None]] = []
    for f in progress(files, desc=desc):
        try:
            results.append((f, one(f), None))
        except ECGFormatError as exc:
            results.append((f, None, exc.problem))
        except Exception as exc:  # noqa: BLE001 - a batch must not die on one file
            results.append((f, None, f"{type(exc).__name__}: {exc}"))
    return results, True


def rel(f: Path, root: str) -> str:
    try:
        return os.path.relpath(f, root)
    except ValueError:
        return str(f)
