"""De-identification of ECG files, format by format, leaving the waveform samples untouched.

Each format module that carries patient data exposes
``deidentify(src: Path, dst: Path, options: DeidOptions) -> None`` which rewrites the file's
metadata in its own format (so the output is still a valid file of that format) and copies
the encoded waveform bytes unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from ecglens.exceptions import ECGFormatError
from ecglens.io.registry import FORMATS, check_file, detect_format


@dataclass(frozen=True)
class DeidOptions:
    """What to do with identifying fields.

    Attributes:
        pseudonym_key: secret for keyed pseudonyms of patient IDs (HMAC-SHA256). The same key
            maps the same ID to the same pseudonym, so records of one patient stay linked.
            ``None`` removes IDs instead.
        date_shift_days: shift every date/time by this many days (keeps intervals between a
            patient's ECGs). Ignored when ``drop_dates`` is set.
        drop_dates: remove dates and times altogether (birth date always goes; age is kept,
            capped at 90 as HIPAA Safe Harbor requires).
    """

    pseudonym_key: bytes | None = None
    date_shift_days: int | None = None
    drop_dates: bool = False

    def pseudonym(self, value: str) -> str:
        """Replacement for an identifier: a keyed hash, or the empty string without a key."""
        if not self.pseudonym_key or not value:
            return ""
        digest = hmac.new(self.pseudonym_key, value.encode(), hashlib.sha256).hexdigest()
        return "ANON-" + digest[:12].upper()

    def shift(self, when: datetime | date) -> datetime | date | None:
        """A date/time after the requested treatment (None = remove it)."""
        if self.drop_dates:
            return None
        if self.date_shift_days:
            return when + timedelta(days=self.date_shift_days)
        return when


def deidentify(
    src: str | Path,
    dst: str | Path,
    options: DeidOptions | None = None,
) -> str:
    """De-identify ``src`` into ``dst`` (same format). Returns the format name."""
    src_p = check_file(src)
    dst_p = Path(dst)
    if dst_p.resolve() == src_p.resolve():
        raise ECGFormatError(dst_p, "refusing to overwrite the original file; choose another "
                                    "output path")
    fmt = detect_format(src_p)
    module = importlib.import_module(FORMATS[fmt][0])
    func = getattr(module, "deidentify", None)
    if func is None:
        raise ECGFormatError(src_p, f"de-identification is not available for {FORMATS[fmt][1]} "
                                    "files")
    dst_p.parent.mkdir(parents=True, exist_ok=True)
    func(src_p, dst_p, options or DeidOptions())
    return fmt
