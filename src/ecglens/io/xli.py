"""Philips XLI waveform decoding (the compression of Sierra ECG XML), bounded.

Per lead: an 8-byte chunk header (size, first difference), 10-bit LZW codes, then byte-split
16-bit second differences. The arithmetic is ``sierraecg``'s (``lzw.LzwDecoder``,
``xli.xli_decode_deltas``; ``tests/test_io_hardening.py`` checks identical output on the real
files); the LZW loop is ours because its output must be bounded while decoding: a 700 KB file
of repeated codes expands to gigabytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecglens.exceptions import ECGFormatError

__all__ = ["lzw_decode", "xli_decode", "xli_samples"]


class _LzwError(Exception):
    """The code stream refers to a table entry that cannot exist yet."""


class _LzwTooLong(Exception):
    """The decoded output passed the allowed size."""


def lzw_decode(data: bytes, max_bytes: int, bits: int = 10) -> bytes:
    """Decode Philips XLI's LZW stream, as ``sierraecg.lzw.LzwDecoder`` does, up to ``max_bytes``.

    Same bit order (MSB first through a 32-bit buffer), same table (256 literals, entries up to
    ``2**bits - 2``, then frozen), same end (a code above that, or fewer than ``bits`` bits
    left). One difference: the output is counted after every code, and decoding stops with
    :class:`_LzwTooLong` as soon as it passes ``max_bytes``; one code adds at most ``2**bits``
    bytes, so memory and time are bounded by ``max_bytes`` whatever the stream holds.
    """
    max_code = (1 << bits) - 2
    table: list[bytes | None] = [bytes((i,)) for i in range(256)] + [None] * (max_code + 1 - 256)
    next_code = 256
    previous = b""
    out = bytearray()
    n = len(data)
    offset = bit_count = bit_buffer = 0
    shift = 32 - bits
    while True:
        while bit_count <= 24:
            if offset < n:
                bit_buffer |= (data[offset] << (24 - bit_count)) & 0xFFFFFFFF
                offset += 1
                bit_count += 8
            elif bit_count < bits:
                return bytes(out)
            else:
                break
        code = (bit_buffer >> shift) & 0xFFFF
        bit_buffer = (bit_buffer << bits) & 0xFFFFFFFF
        bit_count -= bits
        if code > max_code:
            return bytes(out)
        entry = table[code]
        if entry is None:  # not yet in the table: the previous string and its own first byte
            if not previous:
                raise _LzwError
            entry = previous + previous[:1]
            table[code] = entry
        if previous and next_code <= max_code:
            table[next_code] = previous + entry[:1]
            next_code += 1
        previous = entry
        out += entry
        if len(out) > max_bytes:
            raise _LzwTooLong


def xli_samples(buffer: bytes, first: int) -> np.ndarray | None:
    """Samples of one lead from its decoded XLI bytes (``sierraecg.xli.xli_decode_deltas``).

    The first half of ``buffer`` holds the high bytes, the second half the low bytes of 16-bit
    values d. Then x0 = d0, x1 = d1 and x_i = 2·x_(i-1) − x_(i-2) − e_i with e_2 = ``first`` and
    e_i = d_(i-1) − 64: two cumulative sums. None where a sample leaves the 16-bit range (where
    sierraecg fails storing it).
    """
    half = len(buffer) // 2
    raw = np.frombuffer(buffer, dtype=np.uint8)
    d = ((raw[:half].astype(np.uint16) << 8) | raw[half:2 * half]).view(np.int16).astype(np.int64)
    if half < 3:
        return d
    e = np.empty(half - 2, dtype=np.int64)
    e[0] = first
    e[1:] = d[2:half - 1] - 64
    steps = np.empty(half - 1, dtype=np.int64)
    steps[0] = d[1] - d[0]
    steps[1:] = steps[0] - np.cumsum(e)
    x = np.empty(half, dtype=np.int64)
    x[0] = d[0]
    x[1:] = d[0] + np.cumsum(steps)
    if x.min() < -32768 or x.max() > 32767:
        return None
    return x


def xli_decode(path: Path, data: bytes, n_leads: int, n_samples: int) -> list[np.ndarray]:
    """Decode ``n_leads`` XLI chunks, each exactly ``n_samples`` 16-bit samples (bounded)."""
    max_bytes = 2 * n_samples
    leads: list[np.ndarray] = []
    offset = 0
    while len(leads) < n_leads:
        k = len(leads) + 1
        if offset + 8 > len(data):
            raise ECGFormatError(
                path, f"XLI waveform data ends after {len(leads)} of {n_leads} leads (truncated)"
            )
        size = int.from_bytes(data[offset:offset + 4], "little", signed=True)
        start = int.from_bytes(data[offset + 6:offset + 8], "little", signed=True)
        if size <= 0 or offset + 8 + size > len(data):
            raise ECGFormatError(path, f"XLI chunk {k} has an invalid size ({size} bytes)")
        try:
            buffer = lzw_decode(data[offset + 8:offset + 8 + size], max_bytes)
        except _LzwTooLong:
            raise ECGFormatError(
                path, f"XLI chunk {k} expands beyond the {n_samples} samples per lead it may hold "
                "(a decompression bomb or corrupt data); decoding stopped"
            ) from None
        except _LzwError:  # a code that refers to a string the LZW table cannot have yet
            raise ECGFormatError(path, f"XLI chunk {k} is not valid LZW data") from None
        if len(buffer) < max_bytes:
            raise ECGFormatError(path, f"XLI chunk {k} holds {len(buffer) // 2} of {n_samples} "
                                       "samples")
        samples = xli_samples(buffer, start)
        if samples is None:
            raise ECGFormatError(path, f"XLI chunk {k} does not decode (a sample leaves the 16-bit "
                                       "range)")
        leads.append(samples)
        offset += 8 + size
    return leads
