"""Hardened XML parsing for every XML ECG format.

ECG XML arrives from outside the hospital's trust boundary (email, USB, vendor exports).
Entity declarations (billion laughs) and external references (XXE) are always refused and
nothing is fetched. A bare ``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">`` (every GE MUSE
export has one) is harmless and accepted where ``allow_doctype`` is set; a document type with
an internal subset is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ecglens.exceptions import ECGFormatError

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
        raise ECGFormatError(path, "XML declares a character encoding that cannot be read") from None


def parse(path: Path, *, allow_doctype: bool = False) -> Element:
    """Parse ``path`` into an ElementTree root, refusing entities, external references and
    (unless ``allow_doctype``) any document type declaration."""
    if allow_doctype:
        with path.open("rb") as fh:
            head = fh.read(4096)
        if b"<!DOCTYPE" in head and not _BARE_DOCTYPE.search(head):
            raise ECGFormatError(
                path, "XML refused for safety: the document type declaration has an internal "
                "subset (documents declaring entities are not accepted)"
            )
    with _refusing(path):
        tree = SafeET.parse(
            str(path), forbid_dtd=not allow_doctype, forbid_entities=True, forbid_external=True
        )
    return tree.getroot()


def local(tag: object) -> str:
    """Tag name without its ``{namespace}`` (comments and PIs give ``""``)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def root_tag(path: Path) -> str:
    """Local name of the root element, read up to its start tag only (cheap for a huge file).

    A bare DOCTYPE is let through here so that detection can route a GE MUSE file; the reader's
    full parse applies the format's own rule.
    """
    with _refusing(path):
        for _, elem in SafeET.iterparse(
            str(path), events=("start",), forbid_dtd=False, forbid_entities=True, forbid_external=True
        ):
            return local(elem.tag)
    raise ECGFormatError(path, "XML document has no root element")
