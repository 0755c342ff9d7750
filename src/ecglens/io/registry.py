"""Format detection from file content, and the one ``read`` entry point.

The extension is never trusted: hospital exports are routinely renamed (``.txt``, ``.dat``,
no extension at all). We look at the bytes, and for XML at the root element, which we read
with a hardened parser before handing the file to the format's reader.

``read`` is also where every input is treated as hostile: size limits are checked before
anything is read, WFDB headers are vetted before wfdb follows the file names they hold, and
whatever a third-party decoder raises on corrupt input comes out as one
:class:`~ecglens.exceptions.ECGFormatError` that names the file and the problem.

And ``read`` is where every reader's output meets one rule (:func:`ecglens.io.limits.check_signal`):
a finite sampling rate within the limits, no infinite sample, no sample beyond ±50 mV, and no
lead without a single recorded sample. NaN marks a missing sample (see :class:`ECG`). The
readers also check their own scale and rate fields, so their messages can name the field.
"""

from __future__ import annotations

import importlib
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from ecglens.exceptions import ECGFormatError, EcglensError
from ecglens.io import xmlsafe
from ecglens.io.limits import (
    MAX_ABS_MV,
    MAX_FILE_BYTES,
    MAX_SAMPLE_VALUES,
    MAX_SAMPLING_RATE_HZ,
    MAX_WFDB_HEADER_BYTES,
    MAX_XML_BYTES,
    MIN_SAMPLING_RATE_HZ,
    check_file,
    check_sampling_rate,
    check_signal,
    one_line,
)
from ecglens.io.preflight import (
    WFDB_RECORD,
    WFDB_RECORD_LINE,
    header_lines,
    read_wfdb,
    vet_numpy,
    wfdb_header_for,
)
from ecglens.record import ECG

__all__ = [
    "FORMATS",
    "MAX_ABS_MV",
    "MAX_FILE_BYTES",
    "MAX_SAMPLE_VALUES",
    "MAX_SAMPLING_RATE_HZ",
    "MAX_WFDB_HEADER_BYTES",
    "MAX_XML_BYTES",
    "MIN_SAMPLING_RATE_HZ",
    "check_file",
    "detect_format",
    "read",
    "reader_for",
    "validate",
]

#: format name -> (module under ecglens.io, human description)
FORMATS: dict[str, tuple[str, str]] = {
    "wfdb": ("ecglens.io.wfdb_format", "WFDB / PhysioNet (.hea + .dat/.mat)"),
    "hl7-aecg": ("ecglens.io.aecg", "HL7 v3 annotated ECG XML"),
    "philips-sierra": ("ecglens.io.sierra", "Philips Sierra XML"),
    "ge-muse": ("ecglens.io.muse", "GE MUSE RestingECG XML"),
    "dicom": ("ecglens.io.dicom", "DICOM 12-lead / General ECG waveform"),
    "scp-ecg": ("ecglens.io.scp", "SCP-ECG (EN 1064)"),
    "edf": ("ecglens.io.edf", "EDF / EDF+"),
    "numpy": ("ecglens.io.arrays", "NumPy .npy / .npz"),
    "csv": ("ecglens.io.arrays", "CSV (one column per lead)"),
}

_XML_ROOTS = {
    "annotatedecg": "hl7-aecg",
    "restingecgdata": "philips-sierra",
    "restingecg": "ge-muse",
}


def _looks_like_wfdb_header(head: bytes) -> bool:
    """A renamed ``.hea``: record line, then (for single-segment records) n_sig signal lines."""
    lines = header_lines(head)
    if not lines or not WFDB_RECORD_LINE.fullmatch(lines[0]):
        return False
    m = WFDB_RECORD.match(lines[0])
    if m is None:
        return False
    n_sig = int(m.group(3))
    if m.group(2) is not None:  # multi-segment: "segment_name length" lines
        return all(re.fullmatch(rb"[-\w~]+[ \t]+\d+", ln) for ln in lines[1:])
    body = lines[1:1 + n_sig]
    return 0 < n_sig == len(body) and all(re.match(rb"\S+[ \t]+\d", ln) for ln in body)


def _looks_like_xml(head: bytes) -> bool:
    """XML in UTF-8 (with or without BOM) or UTF-16 (Philips Sierra 1.04 exports are UTF-16)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head[2:].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be", "ignore").encode()
    elif head.startswith((b"<\0", b"\0<")):
        head = head.replace(b"\0", b"")
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _is_npz(p: Path) -> bool:
    try:
        with zipfile.ZipFile(p) as zf:
            return any(n.endswith(".npy") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name of the format of ``path``, decided from its content. Raises ECGFormatError."""
    p = check_file(path)
    try:
        return _detect(p)
    except ECGFormatError:
        raise
    except Exception as exc:  # a sniffer tripping on hostile bytes must not escape untyped
        raise ECGFormatError(
            p, f"file content could not be identified (sniffing failed with {type(exc).__name__})"
        ) from exc


def _detect(p: Path) -> str:
    try:
        with p.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise ECGFormatError(p, "cannot read the file "
                                f"({exc.strerror or type(exc).__name__})") from None
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\x93NUMPY") or (head.startswith(b"PK\x03\x04") and _is_npz(p)):
        return "numpy"
    if len(head) >= 22 and head[16:22] == b"SCPECG":
        return "scp-ecg"
    if len(head) >= 256 and head[:8] == b"0       ":
        return "edf"
    if _looks_like_xml(head):
        root = xmlsafe.root_tag(p)
        fmt = _XML_ROOTS.get(root.lower())
        if fmt is None:
            raise ECGFormatError(
                p, f"XML document with root element <{root[:40]}> is not a supported ECG format "
                "(expected HL7 aECG <AnnotatedECG>, Philips <restingecgdata> or GE <RestingECG>)"
            )
        return fmt
    if wfdb_header_for(p) is not None or _looks_like_wfdb_header(head):
        return "wfdb"
    if _looks_like_csv(head):
        return "csv"
    raise ECGFormatError(p, "unrecognised file content: not a supported ECG format")


def _looks_like_csv(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        return False
    sep = ("," if "," in lines[0]
           else (";" if ";" in lines[0] else ("\t" if "\t" in lines[0] else None)))
    if sep is None:
        return False
    n = lines[0].count(sep)
    return all(ln.count(sep) == n for ln in lines[1:-1])


def reader_for(fmt: str) -> Callable[[Path], ECG]:
    try:
        module_name, _ = FORMATS[fmt]
    except KeyError:
        raise ECGFormatError(None, f"unknown format {fmt!r}; known: {sorted(FORMATS)}") from None
    module = importlib.import_module(module_name)
    return module.read_csv if fmt == "csv" else module.read


def read(path: str | os.PathLike[str], *, format: str | None = None) -> ECG:
    """Read any supported ECG file into an :class:`~ecglens.record.ECG`.

    The format is detected from the content unless ``format`` names it. Every failure, whatever
    its cause inside a third-party decoder, surfaces as :class:`ECGFormatError` naming the file.
    A ``MemoryError`` is kept as the ``__cause__`` so tests can tell "refused before allocating"
    from "allocation failed".
    """
    p = check_file(path)
    fmt = format or detect_format(p)
    reader = reader_for(fmt)
    if fmt in _XML_ROOTS.values() and p.stat().st_size > MAX_XML_BYTES:
        raise ECGFormatError(
            p, f"XML file is {p.stat().st_size / 2**20:.0f} MB, larger than the "
            f"{MAX_XML_BYTES // 2**20} MB limit for one XML ECG; refusing to parse it"
        )
    try:
        if fmt == "numpy":
            vet_numpy(p)
        ecg = read_wfdb(p, reader) if fmt == "wfdb" else reader(p)
    except ECGFormatError as exc:
        if "\n" in exc.problem or len(exc.problem) > 300:
            raise ECGFormatError(exc.path, one_line(exc.problem)) from exc
        raise
    except EcglensError as exc:  # ours (e.g. ECGSignalError from make_ecg): written without PHI
        raise ECGFormatError(p, one_line(f"{FORMATS[fmt][1]} file does not hold a usable ECG: "
                                         f"{exc}")) from exc
    except MemoryError as exc:
        raise ECGFormatError(p, f"{fmt}: file declares more data than can be held in "
                                "memory") from exc
    except RecursionError:
        raise ECGFormatError(p, f"{fmt}: file structure is nested too deeply") from None
    except Exception as exc:  # third-party decoders raise anything on corrupt input
        # Only the type: decoder messages can quote field values (pydicom prints the element,
        # patient name included). The full message stays on __cause__ for developers.
        raise ECGFormatError(
            p, f"corrupt or truncated {FORMATS[fmt][1]} file (its decoder failed with "
            f"{type(exc).__name__})"
        ) from exc
    if ecg.n_samples == 0 or ecg.n_leads == 0:
        raise ECGFormatError(p, f"{FORMATS[fmt][1]} file holds no samples")
    check_sampling_rate(p, ecg.fs, f"{FORMATS[fmt][1]} file")
    check_signal(p, ecg.signal, ecg.leads, FORMATS[fmt][1])
    if ecg.resolution_mv is not None:
        bad = [n for n, r in zip(ecg.leads, ecg.resolution_mv, strict=False)
               if not 0.0 <= abs(r) <= MAX_ABS_MV]
        if bad:
            raise ECGFormatError(p, f"{FORMATS[fmt][1]} file: lead {bad[0]} has an invalid "
                                    "amplitude step")
    return ecg


def validate(path: str | os.PathLike[str], *, format: str | None = None) -> str:
    """Check that ``path`` is a readable, plausible ECG; return its format name.

    Meant for the moment a file is received (an upload): it runs the full :func:`read`, which
    is bounded in time and memory for any input under the size limits (declared sizes are
    vetted before allocating, compressed waveforms stop at an absolute cap, XML tokens are
    capped before parsing), so it answers in seconds with the format or the
    :class:`ECGFormatError` that ``read`` would raise later.
    """
    p = check_file(path)
    fmt = format or detect_format(p)
    read(p, format=fmt)
    return fmt
