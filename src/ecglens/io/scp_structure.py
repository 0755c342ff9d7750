"""SCP-ECG record layout: section table, CRCs, size guards, Section 1 tags, and re-assembly.

An SCP-ECG record (EN 1064 / ISO 11073-91064) is ``CRC(2) size(4)`` followed by sections, each
with a 16-byte header ``CRC(2) id(2) length(4) version(1) protocol(1) reserved(6)``. Section 0
points to every other section (id, length, 1-based byte index). All integers are little-endian.
CRCs are CRC-CCITT (polynomial 0x1021, start 0xFFFF) over everything after the CRC field.

The waveform decoding itself is ecgdatakit's; this module is the strict gate in front of it
(every length checked against the file before anything is allocated) and the writer that
de-identification needs.
"""

from __future__ import annotations

import binascii
import itertools
import struct
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from ecglens.exceptions import ECGFormatError

SECTION_HEADER = 16
_RECORD_HEADER = 6


@dataclass(frozen=True)
class Section:
    """Where one section lies in the record: ``offset`` is 0-based, ``length`` includes the
    header."""

    sid: int
    offset: int
    length: int

    def header(self, data: bytes) -> bytes:
        return data[self.offset: self.offset + SECTION_HEADER]

    def body(self, data: bytes) -> bytes:
        return data[self.offset + SECTION_HEADER: self.offset + self.length]


def crc_ccitt(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


def _u16(data: bytes, pos: int) -> int:
    return int(struct.unpack_from("<H", data, pos)[0])


def _u32(data: bytes, pos: int) -> int:
    return int(struct.unpack_from("<I", data, pos)[0])


def parse_layout(data: bytes, path: Path) -> dict[int, Section]:
    """Check the record header, both CRC levels and every section pointer; return the sections.

    Sections listed with length 0 are absent and left out. Raises ECGFormatError on any
    inconsistency: a CRC that does not match means the file was altered or damaged, and we
    refuse it rather than interpret possibly wrong samples (the real files all have valid CRCs).
    """
    if len(data) < _RECORD_HEADER + SECTION_HEADER:
        raise ECGFormatError(path, f"SCP-ECG file is only {len(data)} bytes, too short for a "
                                   "record")
    size = _u32(data, 2)
    if size != len(data):
        raise ECGFormatError(
            path, f"SCP-ECG record declares {size} bytes but the file has {len(data)} "
            "(truncated or padded file)"
        )
    if crc_ccitt(data[2:]) != _u16(data, 0):
        raise ECGFormatError(path, "SCP-ECG record CRC mismatch: the file is damaged or was "
                                   "altered")
    if data[16:22] != b"SCPECG":
        raise ECGFormatError(path, "SCP-ECG Section 0 lacks the 'SCPECG' signature")
    if _u16(data, 8) != 0:
        raise ECGFormatError(path, "SCP-ECG record does not start with Section 0")
    sec0 = Section(0, _RECORD_HEADER, _u32(data, 10))
    if sec0.length < SECTION_HEADER + 10 or (sec0.length - SECTION_HEADER) % 10:
        raise ECGFormatError(path, f"SCP-ECG Section 0 has an invalid length ({sec0.length} bytes)")
    if sec0.offset + sec0.length > size:
        raise ECGFormatError(path, "SCP-ECG Section 0 runs past the end of the file")
    sections: dict[int, Section] = {0: sec0}
    _check_section(data, sec0, path)
    body = sec0.body(data)
    for pos in range(0, len(body), 10):
        sid, length, index = struct.unpack_from("<HII", body, pos)
        if length == 0 or sid == 0:
            continue
        if index < 1 or index - 1 + length > size:
            raise ECGFormatError(
                path, f"SCP-ECG Section {sid} ({length} bytes at byte {index}) points past "
                f"the end of the {size}-byte file"
            )
        if sid in sections:
            raise ECGFormatError(path, f"SCP-ECG Section 0 lists Section {sid} twice")
        sec = Section(sid, index - 1, length)
        _check_section(data, sec, path)
        sections[sid] = sec
    _check_no_overlap(sections, path)
    return sections


def _check_section(data: bytes, sec: Section, path: Path) -> None:
    if sec.length < SECTION_HEADER:
        raise ECGFormatError(path, f"SCP-ECG Section {sec.sid} is shorter than its 16-byte header")
    head = sec.header(data)
    if _u16(head, 2) != sec.sid or _u32(head, 4) != sec.length:
        raise ECGFormatError(
            path, f"SCP-ECG Section {sec.sid}: its header (id {_u16(head, 2)}, "
            f"{_u32(head, 4)} bytes) disagrees with the Section 0 pointer"
        )
    chunk = data[sec.offset: sec.offset + sec.length]
    if crc_ccitt(chunk[2:]) != _u16(chunk, 0):
        raise ECGFormatError(path, f"SCP-ECG Section {sec.sid} CRC mismatch: the file is damaged")


def _check_no_overlap(sections: dict[int, Section], path: Path) -> None:
    spans = sorted((s.offset, s.offset + s.length, s.sid) for s in sections.values())
    for (_, end, sid), (start, _, nxt) in itertools.pairwise(spans):
        if start < end:
            raise ECGFormatError(path, f"SCP-ECG Sections {sid} and {nxt} overlap")


def check_sample_bounds(
    data: bytes, sections: dict[int, Section], path: Path
) -> list[tuple[int, int]]:
    """Refuse sample counts the stored bytes cannot hold, before any decoder allocates for them.

    Returns each lead's first and last sample number (1-based, Section 3).

    A Huffman code is at least one bit, an uncompressed sample two bytes; so a lead can hold at
    most 8 (or 0.5) samples per stored byte. Without this, a hostile Section 3 declaring 4e9
    samples makes a decoder allocate tens of GB.
    """
    for needed in (3, 6):
        if needed not in sections:
            raise ECGFormatError(path, f"SCP-ECG Section {needed} is missing")
    sec3 = sections[3].body(data)
    if len(sec3) < 2 or sec3[0] == 0 or 2 + 9 * sec3[0] > len(sec3):
        raise ECGFormatError(path, "SCP-ECG Section 3 (lead definition) is empty or truncated")
    n_leads = sec3[0]
    ranges = []
    for i in range(n_leads):
        start, end = struct.unpack_from("<II", sec3, 2 + 9 * i)
        if start < 1 or end < start:
            raise ECGFormatError(path, f"SCP-ECG lead {i + 1} has an invalid sample range")
        ranges.append((start, end))
    counts = [end - start + 1 for start, end in ranges]
    if max(end for _, end in ranges) > 8 * len(data):
        raise ECGFormatError(path, "SCP-ECG Section 3 declares more samples than the file can hold")
    per_byte = 8.0 if 2 in sections else 0.5  # Huffman codes are at least one bit long
    sizes6 = _lead_sizes(sections[6].body(data), n_leads, 6, path)
    for i, (count, size) in enumerate(zip(counts, sizes6, strict=False)):
        if count > size * per_byte:
            raise ECGFormatError(
                path, f"SCP-ECG lead {i + 1} declares {count} samples but stores only {size} bytes"
            )
    if 5 in sections and 4 in sections:
        sec4, sec5 = sections[4].body(data), sections[5].body(data)
        if len(sec4) >= 2 and len(sec5) >= 4:
            interval = _u16(sec5, 2)
            beat_ms = _u16(sec4, 0)
            if interval == 0:
                raise ECGFormatError(path, "SCP-ECG Section 5 sample interval is 0")
            beat_samples = beat_ms * 1000 / interval
            for i, size in enumerate(_lead_sizes(sec5, n_leads, 5, path)):
                if beat_samples > size * per_byte + 1:
                    raise ECGFormatError(
                        path, f"SCP-ECG reference beat of lead {i + 1} declares more samples "
                        "than it stores"
                    )
    return ranges


def _lead_sizes(body: bytes, n_leads: int, sid: int, path: Path) -> list[int]:
    if len(body) < 6 + 2 * n_leads:
        raise ECGFormatError(path, f"SCP-ECG Section {sid} is too short for {n_leads} leads")
    if _u16(body, 2) == 0:
        raise ECGFormatError(path, f"SCP-ECG Section {sid} sample interval is 0")
    sizes = list(struct.unpack_from(f"<{n_leads}H", body, 6))
    if 6 + 2 * n_leads + sum(sizes) > len(body):
        raise ECGFormatError(path, f"SCP-ECG Section {sid} lead data run past the section end")
    return sizes


# --- Section 1: patient and acquisition tags ------------------------------------------------


def split_tags(body: bytes, path: Path) -> list[tuple[int, bytes]]:
    """Section 1 as (tag, value) pairs, up to the terminator tag 255."""
    tags: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 3 <= len(body):
        tag, length = body[pos], _u16(body, pos + 1)
        pos += 3
        if tag == 255:
            return tags
        if pos + length > len(body):
            raise ECGFormatError(path, f"SCP-ECG Section 1 tag {tag} runs past the section end")
        tags.append((tag, body[pos: pos + length]))
        pos += length
    return tags


def join_tags(tags: list[tuple[int, bytes]]) -> bytes:
    """Section 1 body from tags, with the terminator, padded to an even length as writers do."""
    out = bytearray()
    for tag, value in tags:
        out += struct.pack("<BH", tag, len(value)) + value
    out += b"\xff\x00\x00"
    if (len(out) + SECTION_HEADER) % 2:
        out += b"\x00"
    return bytes(out)


def decode_date(raw: bytes) -> tuple[date | None, str]:
    """A 4-byte SCP date and the byte order of its year ('<' standard, '>' seen in the wild).

    The standard stores the year little-endian. The real Welch Allyn files write it big-endian
    (bytes 07 D0 for 2000), which read little-endian gives year 53255; we take the order that
    gives a plausible year.
    """
    if len(raw) < 4:
        return None, "<"
    for order in ("<", ">"):
        year = struct.unpack_from(f"{order}H", raw, 0)[0]
        if 1850 <= year <= 2200:
            try:
                return date(year, raw[2], raw[3]), order
            except ValueError:
                return None, order
    return None, "<"


def encode_date(when: date, order: str) -> bytes:
    return struct.pack(f"{order}H", when.year) + bytes((when.month, when.day))


def decode_time(raw: bytes) -> time | None:
    if len(raw) < 3 or raw[0] > 23 or raw[1] > 59 or raw[2] > 59:
        return None
    return time(raw[0], raw[1], raw[2])


# --- writing ----------------------------------------------------------------------------------


def rebuild(data: bytes, sections: dict[int, Section], new_bodies: dict[int, bytes]) -> bytes:
    """The record with some section bodies replaced; every other section copied byte for byte.

    Sections keep their order in the file; pointers, section lengths and CRCs, record size and
    record CRC are recomputed. Section 0 keeps its length (only indices change).
    """
    order = sorted(sections.values(), key=lambda s: s.offset)
    new_index: dict[int, tuple[int, int]] = {}
    chunks: list[bytes] = []
    pos = _RECORD_HEADER
    for sec in order:
        if sec.sid in new_bodies and sec.sid != 0:
            chunk = _with_header(sec.header(data), new_bodies[sec.sid])
        else:
            chunk = data[sec.offset: sec.offset + sec.length]
        new_index[sec.sid] = (pos + 1, len(chunk))
        chunks.append(chunk)
        pos += len(chunk)
    sec0_old = sections[0].body(data)
    sec0_body = bytearray(sec0_old)
    for p in range(0, len(sec0_body), 10):
        sid, length, _ = struct.unpack_from("<HII", sec0_body, p)
        if sid in new_index and (length or sid == 0):
            index, new_len = new_index[sid]
            struct.pack_into("<II", sec0_body, p + 2, new_len, index)
    chunks[0] = _with_header(sections[0].header(data), bytes(sec0_body))
    payload = b"".join(chunks)
    body = struct.pack("<I", _RECORD_HEADER + len(payload)) + payload
    return struct.pack("<H", crc_ccitt(body)) + body


def _with_header(old_header: bytes, body: bytes) -> bytes:
    length = SECTION_HEADER + len(body)
    rest = old_header[2:4] + struct.pack("<I", length) + old_header[8:SECTION_HEADER] + body
    return struct.pack("<H", crc_ccitt(rest)) + rest
