"""Hardened XML parsing for every XML ECG format.

ECG XML arrives from outside the hospital's trust boundary (email, USB, vendor exports).
We forbid DTDs entirely: no external entities (XXE), no entity expansion (billion laughs),
no network access, and cap the document size before parsing.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ecglens.exceptions import ECGFormatError


def parse(path: Path) -> Element:
    """Parse ``path`` into an ElementTree root, refusing DTDs and entities."""
    try:
        tree = SafeET.parse(str(path), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ECGFormatError(
            path, f"XML refused for safety: {type(exc).__name__} (documents with DTDs or entity "
            "declarations are not accepted)"
        ) from None
    except SafeET.ParseError as exc:
        raise ECGFormatError(path, f"malformed or truncated XML ({exc})") from None
    return tree.getroot()


def local(tag: str) -> str:
    """Tag name without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def root_tag(path: Path) -> str:
    """Local name of the root element (parses the whole document safely)."""
    return local(parse(path).tag)
