"""Shared plumbing of the XML ECG readers (HL7 aECG, Philips Sierra, GE MUSE).

Reading: every document first passes the hardened parser (:mod:`ecglens.io.xmlsafe`). GE MUSE
exports always start with ``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">``; such a bare
document-type declaration is harmless as long as no entity is declared and nothing external
is fetched, so :func:`parse` can accept it while still refusing every entity declaration
(billion laughs) and every external reference (XXE).

De-identification: after the hardened parse succeeded, the same bytes are parsed again with
lxml (entities not resolved, no network, no DTD loading) so the document can be rewritten
with its namespaces, DOCTYPE, encoding and waveform text unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from xml.etree.ElementTree import Element

from lxml import etree

from ecglens.exceptions import ECGFormatError
from ecglens.io import xmlsafe
from ecglens.io.deidentify import DeidOptions
from ecglens.io.registry import check_file

#: HIPAA Safe Harbor: ages above 89 are reported as "90 or older".
AGE_CAP_YEARS = 90



local = xmlsafe.local

#: an element of either tree: the hardened parse (stdlib) or the one rewritten (lxml)
_E = TypeVar("_E", Element, etree._Element)


def parse(path: Path, *, allow_doctype: bool = False) -> Element:
    """Hardened parse of ``path`` (see :func:`ecglens.io.xmlsafe.parse`), after the size checks."""
    check_file(path)
    return xmlsafe.parse(path, allow_doctype=allow_doctype)


def children(el: _E, name: str) -> list[_E]:
    """Direct children of ``el`` whose local name is ``name`` (namespace ignored)."""
    return [c for c in el if local(c.tag) == name]


def child(el: _E | None, *names: str) -> _E | None:
    """Follow a path of local names, first match at each step; None where it breaks."""
    for name in names:
        if el is None:
            return None
        el = next((c for c in el if local(c.tag) == name), None)
    return el


def descendants(el: _E, name: str) -> Iterator[_E]:
    return (d for d in el.iter() if local(d.tag) == name)


def text(el: _E | None, *names: str) -> str | None:
    """Stripped text of the element at ``names`` below ``el``; None if absent or empty."""
    found = child(el, *names) if names else el
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None


def number(value: str | None) -> float | None:
    """A finite float from a field, or None ("Failed", "Indeterminate", empty...)."""
    if value is None:
        return None
    try:
        x = float(value.strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def cap_age(years: float) -> float:
    return min(years, float(AGE_CAP_YEARS))


def sex_code(value: str | None) -> str | None:
    v = (value or "").strip().lower()
    return "M" if v in {"m", "male"} else "F" if v in {"f", "female"} else None


# --- rewriting (de-identification) -------------------------------------------------------

def load_for_rewrite(path: Path, *, allow_doctype: bool = False) -> etree._ElementTree:
    """Parse ``path`` for rewriting, after it passed the hardened parser."""
    parse(path, allow_doctype=allow_doctype)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_blank_text=False, strip_cdata=False,
    )
    try:
        return etree.parse(str(path), parser)
    except etree.XMLSyntaxError as exc:
        raise ECGFormatError(path, f"malformed XML ({exc})") from None


def drop_comments(tree: etree._ElementTree) -> None:
    """Remove every XML comment: free text that vendors and people fill with anything."""
    root = tree.getroot()
    for c in list(root.iter(etree.Comment)):
        parent = c.getparent()
        if parent is not None:
            if c.tail:
                prev = c.getprevious()
                if prev is not None:
                    prev.tail = (prev.tail or "") + c.tail
                else:
                    parent.text = (parent.text or "") + c.tail
            parent.remove(c)
    # comments outside the root element are dropped by write(), which serialises the root only


def write(tree: etree._ElementTree, dst: Path) -> None:
    """Write ``tree`` in its original encoding with XML declaration and DOCTYPE.

    Only the root element is serialised, so comments and processing instructions outside it
    are left behind.
    """
    encoding = tree.docinfo.encoding or "UTF-8"
    # lxml-stubs lack DocInfo.doctype and type tostring's doctype as str, where lxml takes None
    # for "no DOCTYPE" (an empty string would write an empty declaration)
    doctype: str | None = tree.docinfo.doctype or None  # type: ignore[attr-defined]
    data = etree.tostring(tree.getroot(), encoding=encoding, xml_declaration=True,
                          doctype=doctype)  # type: ignore[arg-type]
    assert isinstance(data, bytes)  # any encoding but "unicode" gives bytes
    try:
        dst.write_bytes(data)
    except OSError as exc:
        raise ECGFormatError(dst, f"cannot write the de-identified file ({exc.strerror})") from None


def blank(el: Any) -> None:
    """Empty an element and all of its descendants' text and attributes values, keep structure."""
    for d in el.iter():
        if not isinstance(d.tag, str):
            continue
        if d.text and d.text.strip():
            d.text = None
        for k in list(d.attrib):
            d.attrib[k] = ""


def shift_date(d: date, options: DeidOptions) -> date | None:
    """``d`` after the requested date treatment (None = drop it)."""
    shifted = options.shift(d)
    if shifted is None:
        return None
    return shifted.date() if isinstance(shifted, datetime) else shifted


_SIGNATURE = re.compile(
    r"\b(confirmed|overread|over-read|read|reviewed|signed|edited|referred|requested)\s+by\b"
    r"|\belectronically\s+signed\b",
    re.IGNORECASE,
)


def looks_like_signature(value: str | None) -> bool:
    """True for a statement such as "Confirmed by SMITH, JOHN (123) on 1/2/2024": it names a
    person."""
    return bool(value and _SIGNATURE.search(value))


def age_at(birth: date | None, when: datetime | date | None) -> float | None:
    """Age in whole years on the day of the recording, when both dates are known."""
    if birth is None or when is None:
        return None
    day = when.date() if isinstance(when, datetime) else when
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return float(years) if 0 <= years < 150 else None
