"""De-identification of SCP-ECG files: Section 1 rewritten, waveform sections copied unchanged.

Section 1 is filtered through an allow-list: a tag we do not know to be harmless is dropped, so
manufacturer tags (200+) and free text cannot carry a name through. What is kept:

- patient ID (tag 2): the keyed pseudonym of ``DeidOptions``, or empty (the tag is mandatory);
- age (tag 4), capped at 90 years; computed from the birth date first if the file has no age;
- acquisition date and time (tags 25, 26): shifted, kept or dropped as the options say;
- device identification (tags 14, 15) without institution, department and device numbers and
  without the device serial number;
- clinical, non-identifying tags: height, weight, sex, race, drugs, blood pressure, stat code,
  filters, medical history codes, electrode configuration, time zone.

Names, birth date, referral text, institution, department, physicians, technician, room, free
text, ECG sequence number and manufacturer tags go. Sections 8 and 11 (interpretive statements)
carry the date and time of the interpretation, which is the acquisition day; those seven bytes
are shifted or zeroed like the acquisition date. Every other section is copied byte for byte,
so the samples decode identically.
"""

from __future__ import annotations

import struct
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ecglens.exceptions import ECGFormatError
from ecglens.io.registry import check_file
from ecglens.io.scp_structure import (
    Section,
    decode_date,
    decode_time,
    encode_date,
    join_tags,
    parse_layout,
    rebuild,
    split_tags,
)

if TYPE_CHECKING:
    from ecglens.io.deidentify import DeidOptions

#: Section 1 tags kept unchanged (see the module docstring).
_KEEP = {6, 7, 8, 9, 10, 11, 12, 24, 27, 28, 29, 32, 33, 34}
_AGE_CAP_YEARS = 90
#: Age units of tag 4 -> how many of them make a year.
_PER_YEAR = {1: 1.0, 2: 12.0, 3: 365.25 / 7, 4: 365.25, 5: 8766.0}


def deidentify(src: Path, dst: Path, options: DeidOptions) -> None:
    """Write a de-identified copy of the SCP-ECG file ``src`` to ``dst``."""
    data = check_file(src).read_bytes()
    sections = parse_layout(data, src)
    new: dict[int, bytes] = {}
    if 1 in sections:
        new[1] = join_tags(_clean_tags(split_tags(sections[1].body(data), src), options))
    for sid in (8, 11):
        if sid in sections:
            new[sid] = _clean_statement_date(sections[sid], data, options)
    out = rebuild(data, sections, new)
    try:
        Path(dst).write_bytes(out)
    except OSError as exc:
        raise ECGFormatError(dst, f"cannot write the de-identified file ({exc.strerror})") from None


def _clean_tags(tags: list[tuple[int, bytes]], options: DeidOptions) -> list[tuple[int, bytes]]:
    values = dict(tags)
    out: list[tuple[int, bytes]] = []
    have_age = False
    for tag, value in tags:
        if tag in _KEEP:
            out.append((tag, value))
        elif tag == 2:
            out.append((2, _text(options.pseudonym(_plain(value)))))
        elif tag == 4 and len(value) >= 3:
            out.append((4, _capped_age(value)))
            have_age = _u16(value) > 0
        elif tag in (14, 15) and len(value) >= 36:
            out.append((tag, _clean_device(value)))
        elif tag == 25:
            day, order = decode_date(value)
            shifted = options.shift(day) if day is not None else None
            if isinstance(shifted, date):
                out.append((25, encode_date(shifted, order)))
        elif tag == 26 and not options.drop_dates and decode_time(value) is not None:
            out.append((26, value))
    if not have_age:
        age = _age_from_birth(values)
        if age is not None:
            out.insert(0, (4, struct.pack("<HB", min(age, _AGE_CAP_YEARS), 1)))
    return out


def _clean_device(value: bytes) -> bytes:
    """Tags 14/15 without institution, department and device numbers or the serial number.

    Bytes 0-5 are those three numbers; after the fixed 36 bytes come NUL-terminated strings:
    analysis program revision, serial number, system software, SCP software, manufacturer.
    A device serial number is one of HIPAA's eighteen identifiers.
    """
    strings = value[36:].split(b"\x00")
    if len(strings) > 1:
        strings[1] = b""
    return bytes(6) + value[6:36] + b"\x00".join(strings)


def _capped_age(value: bytes) -> bytes:
    age, unit = _u16(value), value[2]
    per_year = _PER_YEAR.get(unit)
    if per_year is not None and age / per_year > _AGE_CAP_YEARS:
        return struct.pack("<HB", _AGE_CAP_YEARS, 1) + value[3:]
    return value


def _age_from_birth(values: dict[int, bytes]) -> int | None:
    born, _ = decode_date(values.get(5, b""))
    on, _ = decode_date(values.get(25, b""))
    if born is None or on is None:
        return None
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return years if years >= 0 else None


def _clean_statement_date(sec: Section, data: bytes, options: DeidOptions) -> bytes:
    """Sections 8/11 begin: confirmation flag (1), date (4), time (3). Shift or zero the date."""
    body = bytearray(sec.body(data))
    if len(body) < 8:
        return bytes(body)
    day, order = decode_date(bytes(body[1:5]))
    clock = decode_time(bytes(body[5:8]))
    when = None
    if day is not None:
        shifted = options.shift(datetime.combine(day, clock) if clock else day)
        when = shifted if isinstance(shifted, date) else None
    if when is None:
        body[1:8] = bytes(7)
    else:
        body[1:5] = encode_date(when if not isinstance(when, datetime) else when.date(), order)
    return bytes(body)


def _u16(value: bytes) -> int:
    return int(struct.unpack_from("<H", value, 0)[0])


def _plain(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("latin-1").strip()


def _text(value: str) -> bytes:
    return value.encode("ascii") + b"\x00"

