"""Limits every reader works within, and the checks that need nothing but ``stat``.

Each limit is far above any real ECG and far below what would hurt the machine reading it:
hostile or corrupt files are refused by these numbers before any decoder allocates for them.
"""

from __future__ import annotations

import os
from pathlib import Path

from ecglens.exceptions import ECGFormatError

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


def one_line(text: str, limit: int = 300) -> str:
    """Decoder messages can span lines; the CLI promises exactly one."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
