"""Hardened XML parsing for every XML ECG format.

ECG XML arrives from outside the hospital's trust boundary (email, USB, vendor exports).
Entity declarations (billion laughs) and external references (XXE) are always refused and
nothing is fetched. A bare ``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">`` (every GE MUSE
export has one) is harmless and accepted where ``allow_doctype`` is set; a document type with
an internal subset is not.

Parsing time is bounded too. expat before 2.6 (CVE-2023-52425) rescans an unfinished token
each time it is fed more bytes, so one 40 MB attribute fed in 16–64 KB chunks takes minutes.
Every entry point therefore (1) scans the bytes linearly and refuses any single token larger
than :data:`~ecglens.io.limits.MAX_XML_TOKEN_BYTES` before expat sees them, (2) refuses
encodings in which ``<`` is not the byte the scan looks for, and (3) feeds expat the document
in one call (pyexpat passes it on in 1 MB pieces), so the rescans cost at most a few token
lengths per MB.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import numpy as np
from defusedxml import DefusedXmlException

from ecglens.exceptions import ECGFormatError
from ecglens.io.limits import MAX_XML_BYTES, MAX_XML_TOKEN_BYTES

_BARE_DOCTYPE = re.compile(rb"<!DOCTYPE\s+[A-Za-z_][\w.-]*(\s+(SYSTEM|PUBLIC)\s[^\[>]*)?>")


@contextmanager
def _refusing(path: Path) -> Iterator[None]:
    """Turn every way a hostile or broken document fails into one ECGFormatError."""
    try:
        yield
    except DefusedXmlException as exc:
        raise ECGFormatError(
            path, f"XML refused for safety: {type(exc).__name__} (documents declaring entities "
            "or referring to external resources are not accepted)"
        ) from None
    except SafeET.ParseError as exc:
        raise ECGFormatError(path, f"malformed or truncated XML ({exc})") from None
    except (LookupError, ValueError):  # encoding="UTF-1", or one expat cannot decode
        raise ECGFormatError(path, "XML declares a character encoding that cannot be "
                                   "read") from None


def _utf16_order(data: bytes) -> str | None:
    """"<" for expat's own detection: UTF-16 by BOM or by a first ``<`` of two bytes."""
    if data.startswith((b"\xff\xfe", b"<\0")):
        return "<"
    if data.startswith((b"\xfe\xff", b"\0<")):
        return ">"
    return None


#: encodings in which every ASCII character, ``<`` included, is its own single byte
_ASCII_COMPATIBLE = re.compile(
    r"utf[-_]?8([-_]sig)?|ascii|latin[-_]?1|iso8859[-_]\d+|cp125\d|cp437|cp850")
_DECLARED_ENCODING = re.compile(
    rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']{0,40})[\"']")


def _check_encoding(path: Path, data: bytes, order: str | None) -> None:
    """Refuse declared encodings the token scan cannot read (``<`` not the byte 0x3C: EBCDIC...)."""
    head = data[:400]
    if order is not None:
        head = head.decode("utf-16-le" if order == "<" else "utf-16-be",
                           "ignore").encode("ascii", "ignore")
    m = _DECLARED_ENCODING.match(head.lstrip(b"\xef\xbb\xbf"))
    if m is None:
        return
    name = m.group(1).decode("ascii", "replace")
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise ECGFormatError(path, "XML declares a character encoding that cannot be "
                                   "read") from None
    if order is not None and canonical.startswith("utf-16"):
        return
    if order is not None or not _ASCII_COMPATIBLE.fullmatch(canonical):
        raise ECGFormatError(
            path, f"XML declares character encoding {name[:40]!r}; only UTF-8, UTF-16 and "
            "ASCII-compatible single-byte encodings (ISO-8859, Windows-125x) are accepted"
        )


def _longest_run(units: np.ndarray, value: int, start_run: int = 0) -> int:
    """Length of the longest run of ``units`` without ``value`` (linear, in 4 M-unit blocks)."""
    best, run_start, block = 0, -1 - start_run, 1 << 22
    for begin in range(0, len(units), block):
        hits = np.flatnonzero(units[begin:begin + block] == value)
        if hits.size == 0:
            continue
        hits += begin
        best = max(best, int(hits[0]) - run_start - 1)
        if hits.size > 1:
            best = max(best, int(np.diff(hits).max()) - 1)
        run_start = int(hits[-1])
    return max(best, len(units) - run_start - 1)


def check_tokens(path: Path, data: bytes, *, limit: int = MAX_XML_TOKEN_BYTES) -> None:
    """Refuse ``data`` if one XML token is larger than ``limit`` bytes; linear in its size.

    ``<`` never appears inside an attribute value or character data (XML 1.0 §2.3–2.4), so every
    start tag with its attributes and every text run lies between two ``<``: the longest stretch
    without one bounds them all. Comments, CDATA sections and processing instructions may hold
    ``<``; each is measured from its opening to its closing marker.
    """
    order = _utf16_order(data)
    _check_encoding(path, data, order)
    width = 1 if order is None else 2
    if order is None:
        units = np.frombuffer(data, dtype=np.uint8)
    else:
        body = data[2:] if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data
        units = np.frombuffer(body[: len(body) // 2 * 2], dtype=f"{order}u2")
    longest = _longest_run(units, ord("<")) * width
    what = "text or attribute value"
    if longest <= limit:
        encoding = "utf-8" if order is None else ("utf-16-le" if order == "<" else "utf-16-be")
        for opening, closing, kind in ((b"<!--", b"-->", "comment"),
                                       (b"<![CDATA[", b"]]>", "CDATA section"),
                                       (b"<?", b"?>", "processing instruction")):
            o, c = opening.decode().encode(encoding), closing.decode().encode(encoding)
            pos = data.find(o)
            while pos != -1 and longest <= limit:
                end = data.find(c, pos + len(o))
                span = (len(data) if end == -1 else end + len(c)) - pos
                if span > longest:
                    longest, what = span, kind
                pos = -1 if end == -1 else data.find(o, end + len(c))
    if longest > limit:
        raise ECGFormatError(
            path, f"XML holds a {what} of {longest:,} bytes or more, over the {limit / 2**20:g} MB "
            "no ECG document needs for one; refusing to parse it"
        )


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_XML_BYTES:
        raise ECGFormatError(
            path, f"XML file is {size / 2**20:.0f} MB, larger than the {MAX_XML_BYTES // 2**20} MB "
            "limit for one XML ECG; refusing to parse it"
        )


def _read_bounded(path: Path) -> bytes:
    _check_size(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ECGFormatError(path, "cannot read the file "
                                   f"({exc.strerror or type(exc).__name__})") from None


def parse(path: Path, *, allow_doctype: bool = False) -> Element:
    """Parse ``path`` into an ElementTree root, refusing entities, external references,
    (unless ``allow_doctype``) any document type declaration, and oversized tokens."""
    data = _read_bounded(path)
    if allow_doctype:
        head = data[:4096]
        if b"<!DOCTYPE" in head and not _BARE_DOCTYPE.search(head):
            raise ECGFormatError(
                path, "XML refused for safety: the document type declaration has an internal "
                "subset (documents declaring entities are not accepted)"
            )
    check_tokens(path, data)
    with _refusing(path):
        parser = SafeET.DefusedXMLParser(
            forbid_dtd=not allow_doctype, forbid_entities=True, forbid_external=True
        )
        parser.feed(data)  # one call: expat sees no token split over many small feeds
        del data
        return parser.close()


def local(tag: object) -> str:
    """Tag name without its ``{namespace}`` (comments and PIs give ``""``)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class _RootFound(Exception):
    def __init__(self, tag: str) -> None:
        self.tag = tag


class _FirstStart:
    """Parser target that stops at the root element's start tag."""

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        raise _RootFound(tag)

    def close(self) -> None:
        return None


def root_tag(path: Path) -> str:
    """Local name of the root element, read up to its start tag only (cheap for a huge file).

    Only the first ``MAX_XML_TOKEN_BYTES`` + 64 KB are read: the root start tag lies there in
    any document whose tokens are within the limit. A bare DOCTYPE is let through here so
    that detection can route a GE MUSE file; the reader's full parse applies the format's own
    rule.
    """
    _check_size(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(MAX_XML_TOKEN_BYTES + 65536)
    except OSError as exc:
        raise ECGFormatError(path, "cannot read the file "
                                   f"({exc.strerror or type(exc).__name__})") from None
    check_tokens(path, head)
    with _refusing(path):
        parser = SafeET.DefusedXMLParser(
            target=_FirstStart(), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
        try:
            parser.feed(head)
        except _RootFound as found:
            return local(found.tag)
    raise ECGFormatError(path, "XML document has no root element")
