"""Format detection from file content, and the one ``read`` entry point.

The extension is never trusted: hospital exports are routinely renamed (``.txt``, ``.dat``,
no extension at all). We look at the bytes, and for XML at the root element, which we read
with a hardened parser before handing the file to the format's reader.

``read`` is also where every input is treated as hostile: size limits are checked before
anything is read, WFDB headers are vetted before wfdb follows the file names they hold, and
whatever a third-party decoder raises on corrupt input comes out as one
:class:`~ecglens.exceptions.ECGFormatError` that names the file and the problem.
"""

from __future__ import annotations

import importlib
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ecglens.exceptions import ECGFormatError
from ecglens.record import ECG

#: Largest file any reader accepts. A 10 s 12-lead ECG is well under 1 MB in every format;
#: a long Holter in WFDB can reach a few hundred MB. Anything bigger is refused before reading.
MAX_FILE_BYTES = 512 * 1024 * 1024

#: Most sample values (samples × leads) a header may declare. 2**27 values are 1 GiB as
#: float64, a 24 h 3-lead Holter at 500 Hz; a header asking for more is hostile or corrupt,
#: and is refused before a decoder allocates for it.
MAX_SAMPLE_VALUES = 2**27

#: XML is parsed into a tree about ten times its size; a 10 s ECG in any XML format is < 1 MB.
MAX_XML_BYTES = 128 * 1024 * 1024

#: A WFDB header is a few hundred bytes (a long multi-segment one, a few hundred KB).
MAX_WFDB_HEADER_BYTES = 16 * 1024 * 1024

#: Sampling rates a real recording can have. Below 1 Hz nothing of an ECG survives; above
#: 100 kHz is beyond even pacemaker-spike detection. Outside that, the header is corrupt.
MIN_SAMPLING_RATE_HZ = 1.0
MAX_SAMPLING_RATE_HZ = 100_000.0

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

# A WFDB record line ("name[/segments] n_sig [fs [n_samples ...]]") and the first token of a
# signal line. Kept deliberately close to wfdb's own grammar (wfdb.io.header.rx_record).
_WFDB_RECORD = re.compile(rb"^[ \t]*([-\w]+)(?:/(\d+))?[ \t]+(\d+)(?:[ \t]+(\S+)(?:[ \t]+(\d+))?)?")
_WFDB_RECORD_LINE = re.compile(rb"[-\w]+(?:/\d+)?[ \t]+\d+(?:[ \t]+[-\d./():]+)*")


def check_file(path: str | os.PathLike[str]) -> Path:
    """Refuse what no reader should touch: missing, not a regular file, empty or huge.

    Only ``stat`` is used, so a 2 GB (or sparse) file is refused without reading a byte.
    """
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


def _header_lines(text: bytes) -> list[bytes]:
    return [ln for ln in (raw.strip() for raw in text.splitlines()) if ln and not ln.startswith(b"#")]


def _looks_like_wfdb_header(head: bytes) -> bool:
    """A renamed ``.hea``: record line, then (for single-segment records) n_sig signal lines."""
    lines = _header_lines(head)
    if not lines or not _WFDB_RECORD_LINE.fullmatch(lines[0]):
        return False
    m = _WFDB_RECORD.match(lines[0])
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


def _xml_root(p: Path) -> str:
    """Local name of the root element, read up to its start tag only.

    A bare ``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">`` (every GE MUSE export has one) is let
    through, as :mod:`ecglens.io.xmlsupport` does: nothing external is loaded. Entity
    declarations (billion laughs) and external references (XXE) are refused.
    """
    try:
        for _, elem in SafeET.iterparse(
            str(p), events=("start",), forbid_dtd=False, forbid_entities=True, forbid_external=True
        ):
            return elem.tag.rsplit("}", 1)[-1]
    except DefusedXmlException as exc:
        raise ECGFormatError(
            p, f"XML refused for safety: {type(exc).__name__} (documents with DTDs or entity "
            "declarations are not accepted)"
        ) from None
    except SafeET.ParseError as exc:
        raise ECGFormatError(p, f"malformed or truncated XML ({exc})") from None
    raise ECGFormatError(p, "XML document has no root element")


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
        with p.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise ECGFormatError(p, f"cannot read the file ({exc.strerror or type(exc).__name__})") from None
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\x93NUMPY") or (head.startswith(b"PK\x03\x04") and _is_npz(p)):
        return "numpy"
    if len(head) >= 22 and head[16:22] == b"SCPECG":
        return "scp-ecg"
    if len(head) >= 256 and head[:8] == b"0       ":
        return "edf"
    if _looks_like_xml(head):
        root = _xml_root(p)  # streams up to the root's start tag: cheap even for a huge file
        fmt = _XML_ROOTS.get(root.lower())
        if fmt is None:
            raise ECGFormatError(
                p, f"XML document with root element <{root[:40]}> is not a supported ECG format "
                "(expected HL7 aECG <AnnotatedECG>, Philips <restingecgdata> or GE <RestingECG>)"
            )
        return fmt
    if _wfdb_header(p) is not None or _looks_like_wfdb_header(head):
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
    sep = "," if "," in lines[0] else (";" if ";" in lines[0] else ("\t" if "\t" in lines[0] else None))
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
    return module.read_csv if fmt == "csv" else module.read  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------
# WFDB: the header names other files, so it is vetted before wfdb opens any of them.


def _refuse_huge(p: Path, n_values: int, what: str) -> None:
    if n_values > MAX_SAMPLE_VALUES:
        raise ECGFormatError(
            p, f"WFDB header declares {what}, more than the {MAX_SAMPLE_VALUES:,} sample values "
            "one ECG may hold; refusing to read it"
        )


def _vet_signal_lines(p: Path, lines: list[bytes], sig_len: int) -> None:
    """Samples per frame and byte offsets size wfdb's buffers: bound them before it reads."""
    from wfdb.io.header import rx_signal

    values_per_frame = 0
    for ln in lines:
        m = rx_signal.match(ln.decode("ascii", "replace"))
        if m is None:
            raise ECGFormatError(p, "WFDB header has an invalid signal line")
        values_per_frame += int(m.group("samps_per_frame") or 1)
        if int(m.group("byte_offset") or 0) > MAX_FILE_BYTES:
            raise ECGFormatError(p, "WFDB header declares a byte offset beyond any signal file")
    _refuse_huge(p, values_per_frame * sig_len, f"{values_per_frame} values per frame × {sig_len} frames")


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


def _vet_wfdb_header(p: Path, hea: Path, *, depth: int = 0) -> bytes:
    """Refuse headers that point outside their folder, at huge files, or declare huge records."""
    check_file(hea)
    if hea.stat().st_size > MAX_WFDB_HEADER_BYTES:
        raise ECGFormatError(
            p, f"WFDB header is {hea.stat().st_size / 2**20:.0f} MB; headers are a few KB, refusing it"
        )
    text = hea.read_bytes()
    lines = _header_lines(text)
    m = _WFDB_RECORD.match(lines[0]) if lines else None
    if m is None:
        raise ECGFormatError(p, "WFDB header has no valid record line")
    n_seg, n_sig = m.group(2), int(m.group(3))
    sig_len = int(m.group(5)) if m.group(5) else 0
    _refuse_huge(p, n_sig * sig_len, f"{n_sig} signals × {sig_len} samples")
    body = lines[1:1 + (int(n_seg) if n_seg is not None else n_sig)]
    kind = "segment" if n_seg is not None else "signal file"
    _vet_file_names(p, body, kind)
    if n_seg is not None:
        lengths = [int(ln.split()[1]) for ln in body if len(ln.split()) > 1 and ln.split()[1].isdigit()]
        _refuse_huge(p, n_sig * sum(lengths), f"{n_sig} signals × {sum(lengths)} samples in segments")
    else:
        _vet_signal_lines(p, body, sig_len)
    for name in dict.fromkeys(ln.split()[0] for ln in body):
        text_name = name.decode("utf-8", "replace")
        if text_name == "~":
            continue
        target = hea.parent / (text_name + ".hea" if kind == "segment" else text_name)
        if not target.exists():
            continue
        if kind == "segment":
            if depth >= 1:
                raise ECGFormatError(p, "WFDB multi-segment record nests segments more than one level deep")
            _vet_wfdb_header(p, target, depth=depth + 1)
            continue
        try:
            check_file(target)
        except ECGFormatError as exc:
            raise ECGFormatError(p, f"{kind} {text_name!r} named in the header: {exc.problem}") from None
    return text


def _read_wfdb(p: Path, reader: Callable[[Path], ECG]) -> ECG:
    hea = _wfdb_header(p)
    text = _vet_wfdb_header(p, hea if hea is not None else p)
    if hea is not None:
        return reader(hea)
    # A header saved under another name (.txt, .dat, none): wfdb only opens "<name>.hea", so
    # stage the header and links to its signal files in a private folder under that name.
    lines = _header_lines(text)
    m = _WFDB_RECORD.match(lines[0])
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


# --------------------------------------------------------------------------------------------
# NumPy: numpy.load allocates the shape an .npy header declares before reading any data.


def _vet_npy_header(p: Path, fh: BinaryIO, available: int, name: str) -> None:
    import numpy as np
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = npy_format.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise ECGFormatError(p, f"NumPy array {name} has an invalid header ({_one_line(str(exc), 120)})") from None
    count = 1
    for dim in shape:
        if int(dim) < 0:
            raise ECGFormatError(p, f"NumPy array {name} declares a negative dimension {tuple(shape)}")
        count *= int(dim)
    declared = count * max(np.dtype(dtype).itemsize, 1)
    if count > MAX_SAMPLE_VALUES or declared > available:
        raise ECGFormatError(
            p, f"NumPy array {name} declares shape {tuple(shape)} ({declared:,} bytes) but "
            f"{'the file' if available < declared else 'one ECG'} cannot hold that much; refusing to read it"
        )


def _vet_numpy(p: Path) -> None:
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
                raise ECGFormatError(p, f".npz archive inflates to {total:,} bytes; refusing to read it")
            for info in infos:
                # float ECG samples deflate 2-5x; a member that inflates 100x past 16 MB is a bomb
                if info.file_size > 16 * 2**20 and info.file_size > 100 * info.compress_size:
                    raise ECGFormatError(
                        p, f".npz member {info.filename} inflates {info.compress_size:,} bytes to "
                        f"{info.file_size:,}; refusing a compression bomb"
                    )
                with zf.open(info) as member:
                    _vet_npy_header(p, member, info.file_size, info.filename)  # type: ignore[arg-type]
    except ECGFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError) as exc:
        raise ECGFormatError(p, f"corrupt or truncated .npz archive ({type(exc).__name__})") from None


# --------------------------------------------------------------------------------------------


def _one_line(text: str, limit: int = 300) -> str:
    """Decoder messages can span lines; the CLI promises exactly one."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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
            _vet_numpy(p)
        ecg = _read_wfdb(p, reader) if fmt == "wfdb" else reader(p)
    except ECGFormatError as exc:
        if "\n" in exc.problem or len(exc.problem) > 300:
            raise ECGFormatError(exc.path, _one_line(exc.problem)) from exc
        raise
    except MemoryError as exc:
        raise ECGFormatError(p, f"{fmt}: file declares more data than can be held in memory") from exc
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
    if not MIN_SAMPLING_RATE_HZ <= ecg.fs <= MAX_SAMPLING_RATE_HZ:  # also False for NaN
        raise ECGFormatError(
            p, f"{FORMATS[fmt][1]} file declares a sampling rate of {ecg.fs:g} Hz, outside the "
            f"{MIN_SAMPLING_RATE_HZ:g}–{MAX_SAMPLING_RATE_HZ:g} Hz any ECG device records at"
        )
    return ecg
