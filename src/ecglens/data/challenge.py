"""PhysioNet/CinC Challenge 2020/2021 data: WFDB headers with ``# Age``, ``# Sex`` and SNOMED-CT
diagnoses in ``# Dx:`` comments, signals in ``.mat`` files (read through ``ecglens.io``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ecglens.exceptions import DataError
from ecglens.record import ECG


@dataclass(frozen=True)
class ChallengeRecord:
    header: Path
    dx: tuple[str, ...]  # SNOMED-CT concept ids, as strings
    age: float  # NaN where unknown
    sex: str | None  # "M", "F" or None

    def read(self) -> ECG:
        from ecglens.io import read

        return read(self.header)


def parse_header(path: Path) -> ChallengeRecord:
    dx: tuple[str, ...] = ()
    age, sex = math.nan, None
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read challenge header ({exc.strerror})") from exc
    for line in lines:
        if not line.startswith("#"):
            continue
        key, _, value = line.lstrip("#").partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "dx":
            dx = tuple(c.strip() for c in value.split(",") if c.strip())
        elif key == "age":
            try:
                age = float(value)
            except ValueError:
                age = math.nan
        elif key == "sex":
            sex = {"male": "M", "m": "M", "female": "F", "f": "F"}.get(value.lower())
    if not dx:
        raise DataError(f"{path}: no '# Dx:' line (not a PhysioNet challenge header)")
    return ChallengeRecord(header=path, dx=dx, age=age, sex=sex)


def read_challenge_dir(root: str | Path) -> list[ChallengeRecord]:
    """Every challenge record under ``root`` (recursively), sorted by path."""
    root = Path(root)
    headers = sorted(root.rglob("*.hea"))
    if not headers:
        raise DataError(f"{root}: no WFDB headers found")
    return [parse_header(h) for h in headers]
