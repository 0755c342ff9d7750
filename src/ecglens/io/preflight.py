"""Checks made before a reader runs, for formats whose headers steer the decoder.

A WFDB header names other files and sizes wfdb's buffers; an ``.npy`` header makes numpy
allocate its declared shape before reading a byte. Both are vetted here, so a hostile header is
refused with a clear message instead of reading ``/etc/passwd`` or asking for terabytes.
A WFDB header saved under another extension is also staged here so wfdb can open it.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ecglens.exceptions import ECGFormatError
from ecglens.io.limits import (
    MAX_SAMPLE_VALUES,
    MAX_WFDB_HEADER_BYTES,
    check_file,
    one_line,
)
from ecglens.io.wfdb_header import vet_header
from ecglens.record import ECG

# A WFDB record line ("name[/segments] n_sig [fs [n_samples ...]]") and the first token of a
# signal line. Kept deliberately close to wfdb's own grammar (wfdb.io.header.rx_record).
WFDB_RECORD = re.compile(rb"^[ \t]*([-\w]+)(?:/(\d+))?[ \t]+(\d+)(?:[ \t]+(\S+)(?:[ \t]+(\d+))?)?")
WFDB_RECORD_LINE = re.compile(rb"[-\w]+(?:/\d+)?[ \t]+\d+(?:[ \t]+[-\d./():]+)*")


def wfdb_header_for(p: Path) -> Path | None:
    """The ``.hea`` of the record ``p`` belongs to (``p`` itself, or its sibling), if any."""
    if p.suffix.lower() == ".hea":
        return p
    sibling = p.with_suffix(".hea")
    return sibling if sibling.is_file() else None


def header_lines(text: bytes) -> list[bytes]:
    """Non-empty, non-comment lines of a WFDB header."""
    return [ln for ln in (raw.strip() for raw in text.splitlines())
            if ln and not ln.startswith(b"#")]


# --- WFDB ----------------------------------------------------------------------------------


def _refuse_huge(p: Path, n_values: int, what: str) -> None:
    if n_values > MAX_SAMPLE_VALUES:
        raise ECGFormatError(
            p, f"WFDB header declares {what}, more than the {MAX_SAMPLE_VALUES:,} sample values "
            "one ECG may hold; refusing to read it"
        )


def _vet_file_names(p: Path, body: list[bytes], kind: str) -> None:
    """wfdb joins these names to the header's folder: a path there would read any file."""
    for ln in body:
        name = ln.split()[0].decode("utf-8", "replace")
        if name == "~":  # wfdb's marker for "no file" (an empty segment)
            continue
        if ("/" in name or "\\" in name or name.startswith((".", "~")) or os.path.isabs(name)
                or ":" in name):
            raise ECGFormatError(
                p, f"WFDB header names {kind} {name[:60]!r}: only plain file names in the "
                "header's own folder are allowed, never a path outside it"
            )


def _vetwfdb_header_for(p: Path, hea: Path, *, depth: int = 0) -> bytes:
    """Refuse headers that point outside their folder, at huge files, or declare huge records."""
    check_file(hea)
    if hea.stat().st_size > MAX_WFDB_HEADER_BYTES:
        raise ECGFormatError(
            p, f"WFDB header is {hea.stat().st_size / 2**20:.0f} MB; headers are a few KB, "
               "refusing it"
        )
    text = hea.read_bytes()
    lines = header_lines(text)
    m = WFDB_RECORD.match(lines[0]) if lines else None
    if m is None:
        raise ECGFormatError(p, "WFDB header has no valid record line")
    n_seg, n_sig = m.group(2), int(m.group(3))
    sig_len = int(m.group(5)) if m.group(5) else 0
    _refuse_huge(p, n_sig * sig_len, f"{n_sig} signals × {sig_len} samples")
    body = lines[1:1 + (int(n_seg) if n_seg is not None else n_sig)]
    kind = "segment" if n_seg is not None else "signal file"
    _vet_file_names(p, body, kind)
    # every field that sizes or scales the signal (fs, counts, skew, offsets, gains, baselines)
    vet_header(p, text.decode("latin-1"), hea.parent, depth=1)
    for name in dict.fromkeys(ln.split()[0] for ln in body):
        text_name = name.decode("utf-8", "replace")
        if text_name == "~":
            continue
        target = hea.parent / (text_name + ".hea" if kind == "segment" else text_name)
        if not target.exists():
            continue
        if kind == "segment":
            if depth >= 1:
                raise ECGFormatError(p, "WFDB multi-segment record nests segments more than one "
                                        "level deep")
            _vetwfdb_header_for(p, target, depth=depth + 1)
            continue
        try:
            check_file(target)
        except ECGFormatError as exc:
            raise ECGFormatError(p, f"{kind} {text_name!r} named in the header: "
                                    f"{exc.problem}") from None
    return text


def read_wfdb(p: Path, reader: Callable[[Path], ECG]) -> ECG:
    hea = wfdb_header_for(p)
    text = _vetwfdb_header_for(p, hea if hea is not None else p)
    if hea is not None:
        return reader(hea)
    # A header saved under another name (.txt, .dat, none): wfdb only opens "<name>.hea", so
    # stage the header and links to its signal files in a private folder under that name.
    lines = header_lines(text)
    m = WFDB_RECORD.match(lines[0])
    if m is None:  # cannot happen: vetted above; kept so the type checker knows
        raise ECGFormatError(p, "WFDB header has no valid record line")
    if m.group(2) is not None:
        raise ECGFormatError(p, "multi-segment WFDB header must keep its .hea extension")
    record = m.group(1).decode()
    with tempfile.TemporaryDirectory(prefix="ecglens-wfdb-") as tmp:
        staged = Path(tmp) / f"{record}.hea"
        staged.write_bytes(text)
        for ln in lines[1:1 + int(m.group(3))]:
            name = ln.split()[0].decode()
            src, dst = p.parent / name, Path(tmp) / name
            if src.is_file() and not dst.exists():
                try:
                    dst.symlink_to(src.resolve())
                except OSError:  # no symlinks (Windows without privilege)
                    dst.write_bytes(src.read_bytes())
        try:
            return reader(staged)
        except ECGFormatError as exc:
            raise ECGFormatError(p, exc.problem.replace(str(tmp), str(p.parent))) from None


# --- NumPy:  numpy.load allocates the shape an .npy header declares before reading any data.


def _vet_npy_header(p: Path, fh: IO[bytes], available: int, name: str) -> None:
    import numpy as np
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = npy_format.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise ECGFormatError(p, f"NumPy array {name} has an invalid header "
                                f"({one_line(str(exc), 120)})") from None
    count = 1
    for dim in shape:
        if int(dim) < 0:
            raise ECGFormatError(p, f"NumPy array {name} declares a negative dimension "
                                    f"{tuple(shape)}")
        count *= int(dim)
    declared = count * max(np.dtype(dtype).itemsize, 1)
    if count > MAX_SAMPLE_VALUES or declared > available:
        raise ECGFormatError(
            p, f"NumPy array {name} declares shape {tuple(shape)} ({declared:,} bytes) but "
            f"{'the file' if available < declared else 'one ECG'} cannot hold that much; refusing "
            "to read it"
        )


def vet_numpy(p: Path) -> None:
    """Check every array's declared shape against the bytes that are really there."""
    with p.open("rb") as fh:
        if fh.read(6) == b"\x93NUMPY":
            fh.seek(0)
            _vet_npy_header(p, fh, p.stat().st_size, p.name)
            return
    try:
        with zipfile.ZipFile(p) as zf:
            infos = [i for i in zf.infolist() if i.filename.endswith(".npy")]
            total = sum(i.file_size for i in infos)
            if total > 8 * MAX_SAMPLE_VALUES + 2**20:  # a zip bomb inflates far past the file
                raise ECGFormatError(p, f".npz archive inflates to {total:,} bytes; refusing to "
                                        "read it")
            for info in infos:
                # float ECG samples deflate 2-5x; a member that inflates 100x past 16 MB is a bomb
                if info.file_size > 16 * 2**20 and info.file_size > 100 * info.compress_size:
                    raise ECGFormatError(
                        p, f".npz member {info.filename} inflates {info.compress_size:,} bytes to "
                        f"{info.file_size:,}; refusing a compression bomb"
                    )
                with zf.open(info) as member:
                    _vet_npy_header(p, member, info.file_size, info.filename)
    except ECGFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            KeyError) as exc:
        raise ECGFormatError(p, "corrupt or truncated .npz archive "
                                f"({type(exc).__name__})") from None
