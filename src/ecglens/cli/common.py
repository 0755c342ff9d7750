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

# Files that are never ECGs: documentation, licences, archives, images, code. Skipped when a
# directory is expanded (a single file of any name is still read: detection is by content).
_SKIP_SUFFIXES = {
    ".txt", ".md", ".rst", ".html", ".json", ".yaml", ".yml", ".tar", ".xz", ".gz", ".bz2",
    ".zip", ".7z", ".pdf", ".png", ".jpg", ".svg", ".py", ".ipynb", ".sh",
}


def _wfdb_companions(folder_files: list[Path]) -> set[Path]:
    """Files that belong to a WFDB record whose header is in the same folder.

    A record is listed once, by its ``.hea``; its signal files (named in the header, whatever
    their extension) and its annotation files (``100.atr``, LUDB's ``1.i`` … ``1.v6``: same stem
    as the header) are part of that record, not ECGs of their own.
    """
    headers = {f for f in folder_files if f.suffix.lower() == ".hea"}
    stems = {(h.parent, h.stem) for h in headers}
    out = {f for f in folder_files if f not in headers and (f.parent, f.stem) in stems}
    for h in headers:
        try:
            if h.stat().st_size > 1024 * 1024:
                continue  # not a real header; reading it will report the problem
            lines = [ln for ln in h.read_text(errors="replace").splitlines()
                     if ln.strip() and not ln.lstrip().startswith("#")]
        except OSError:
            continue
        multi_segment = bool(lines) and "/" in lines[0].split()[0]
        for ln in lines[1:]:
            name = ln.split()[0]
            # a multi-segment record lists segment records, each with its own header
            out.add(h.parent / (f"{name}.hea" if multi_segment else name))
    return out


def expand_inputs(path: str) -> tuple[list[Path], bool]:
    """Files to process and whether the input was a directory.

    In a directory every file is a candidate except hidden files, the non-ECG suffixes above
    and the companion files of WFDB records (so a record is listed once, by its header).
    Anything else that is not a readable ECG is reported as an error, not silently skipped.
    """
    p = Path(path)
    if p.is_dir():
        candidates = [
            f for f in p.rglob("*")
            if f.is_file() and f.suffix.lower() not in _SKIP_SUFFIXES
            and not any(part.startswith(".") for part in f.relative_to(p).parts)
            and not f.name.upper().startswith(("LICENSE", "README", "ATTRIBUTION", "RECORDS"))
        ]
        companions = _wfdb_companions(candidates)
        files = sorted(f for f in candidates if f not in companions)
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
            results.append((f, None, " ".join(f"{type(exc).__name__}: {exc}".split())))
    return results, True


def summary(results: list[tuple[Path, dict[str, Any] | None, str | None]], *, done: str) -> str:
    """One line for the end of a batch, e.g. ``30 of 31 files read, 1 failed``."""
    failed = sum(1 for _, _, err in results if err)
    line = f"{len(results) - failed} of {len(results)} files {done}"
    return f"{line}, {failed} failed" if failed else line


def rel(f: Path, root: str) -> str:
    try:
        return os.path.relpath(f, root)
    except ValueError:
        return str(f)
