"""Process settings the ecglens applications (CLI, server) apply at start-up.

``tune_allocator``: a 12-lead measurement allocates and frees temporaries of 0.5–2 MB (filtered
records, beat windows, the QRS net's activations) dozens of times. With glibc's defaults each
one is mapped from, and trimmed back to, the operating system, and the fresh pages fault in
again on every record: on the development machine that was about 2.5 ms of a 23 ms
measurement (``benchmarks/bench_measure.py --only speed`` prints both). Raising the mmap and
trim thresholds keeps those pages in the process for reuse, at the cost of holding up to
``TRIM_BYTES`` of freed memory. Library users who call ``ecglens.measure.analyze`` in their own
process can call it too; it changes nothing but speed and memory retention.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["tune_allocator"]

MMAP_BYTES = 32 * 1024 * 1024  # glibc's largest allowed mmap threshold on 64-bit
TRIM_BYTES = 64 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h


def tune_allocator() -> bool:
    """Apply the thresholds through glibc's ``mallopt``; False where that is unavailable
    (not Linux, or another C library such as musl): nothing is changed there."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES))
