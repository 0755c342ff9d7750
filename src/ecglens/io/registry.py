"""Format detection from file content, and the one ``read`` entry point.

The extension is never trusted: hospital exports are routinely renamed (``.txt``, ``.dat``,
no extension at all). We look at the bytes, and for XML at the root element, which we read
with a hardened parser before handing the file to the format's reader.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path

from ecglens.exceptions import ECGFormatError
from ecglens.record import ECG

#: Largest file any reader accepts. A 10 s 12-lead ECG is well under 1 MB in every format;
#: a long Holter in WFDB can reach a few hundred MB. Anything bigger is refused before reading.
MAX_FILE_BYTES = 512 * 1024 * 1024

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


def check_file(path: str | os.PathLike[str]) -> Path:
    """Refuse what no reader should touch: missing, not a regular file, empty or huge."""
    p = Path(path)
    if not p.exists():
        raise ECGFormatError(p, "file not found")
    if not p.is_file():
        raise ECGFormatError(p, "not a regular file")
    size = p.stat().st_size
    if size == 0:
        raise ECGFormatError(p, "file is empty")
    if size > MAX_FILE_BYTES:
        raise ECGFormatError(
            p, f"file is {size / 2**20:.0f} MB, larger than the {MAX_FILE_BYTES // 2**20} MB "
            "limit for one ECG; refusing to read it"
        )
    return p


def _wfdb_header(p: Path) -> Path | None:
    if p.suffix.lower() == ".hea":
        return p
    sibling = p.with_suffix(".hea")
    return sibling if sibling.is_file() else None


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name of the format of ``path``, decided from its content. Raises ECGFormatError."""
    p = check_file(path)
    with p.open("rb") as fh:
        head = fh.read(4096)
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\x93NUMPY") or (head.startswith(b"PK\x03\x04") and p.suffix.lower() == ".npz"):
        return "numpy"
    if len(head) >= 22 and head[16:22] == b"SCPECG":
        return "scp-ecg"
    if len(head) >= 256 and head[:8] == b"0       ":
        return "edf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        from ecglens.io.xmlsafe import root_tag

        root = root_tag(p)
        fmt = _XML_ROOTS.get(root.lower())
        if fmt is None:
            raise ECGFormatError(
                p, f"XML document with root element <{root}> is not a supported ECG format "
                "(expected HL7 aECG <AnnotatedECG>, Philips <restingecgdata> or GE <RestingECG>)"
            )
        return fmt
    if _wfdb_header(p) is not None:
        return "wfdb"
    if _looks_like_csv(head):
        return "csv"
    raise ECGFormatError(p, "unrecognised file content: not a supported ECG format")


def _looks_like_csv(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return False
    sep = "," if "," in lines[0] else (";" if ";" in lines[0] else ("\t" if "\t" in lines[0] else None))
    if sep is None:
        return False
    n = lines[0].count(sep)
    return n >= 0 and all(ln.count(sep) == n for ln in lines[1:-1])


def reader_for(fmt: str) -> Callable[[Path], ECG]:
    try:
        module_name, _ = FORMATS[fmt]
    except KeyError:
        raise ECGFormatError(None, f"unknown format {fmt!r}; known: {sorted(FORMATS)}") from None
    module = importlib.import_module(module_name)
    return module.read_csv if fmt == "csv" else module.read  # type: ignore[no-any-return]


def read(path: str | os.PathLike[str], *, format: str | None = None) -> ECG:
    """Read any supported ECG file into an :class:`~ecglens.record.ECG`.

    The format is detected from the content unless ``format`` names it. Every failure, whatever
    its cause inside a third-party decoder, surfaces as :class:`ECGFormatError` naming the file.
    """
    p = check_file(path)
    fmt = format or detect_format(p)
    reader = reader_for(fmt)
    try:
        return reader(p)
    except ECGFormatError:
        raise
    except MemoryError:
        raise ECGFormatError(p, f"{fmt}: file declares more data than can be held in memory") from None
    except RecursionError:
        raise ECGFormatError(p, f"{fmt}: file structure is nested too deeply") from None
    except Exception as exc:  # third-party decoders raise anything on corrupt input
        raise ECGFormatError(p, f"corrupt or truncated {FORMATS[fmt][1]} file ({type(exc).__name__}: {exc})") from exc
