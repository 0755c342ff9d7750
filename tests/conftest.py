"""Shared fixtures: locate the real data in ``../shared/data`` (or ``$ECGLENS_DATA``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    root = Path(os.environ.get("ECGLENS_DATA", ROOT.parent / "shared" / "data"))
    if not (root / "formats").is_dir():
        pytest.fail(
            f"real ECG data not found at {root}: set ECGLENS_DATA to the shared data folder "
            "(the one holding formats/, ptbxl/, ludb.tar.xz)",
            pytrace=False,
        )
    return root


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return data_root()


@pytest.fixture(scope="session")
def formats_dir(data_dir: Path) -> Path:
    return data_dir / "formats"


def _cache_dir() -> Path:
    d = Path(os.environ.get("ECGLENS_CACHE", ROOT / "cache"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def ptbxl_dir(data_dir: Path) -> Path:
    """PTB-XL in the official layout, unpacked once from the compact shared copy (fold 9 + 1)."""
    dest = _cache_dir() / "ptbxl"
    marker = dest / ".unpacked-folds-1-9"
    if not marker.exists():
        subprocess.run(
            [sys.executable, str(data_dir / "ptbxl" / "unpack.py"), str(dest)],
            check=True, capture_output=True,
        )
        marker.touch()
    return dest


@pytest.fixture(scope="session")
def ludb_dir(data_dir: Path) -> Path:
    """LUDB records 1–140 unpacked once."""
    dest = _cache_dir()
    if not (dest / "ludb" / "data" / "1.hea").exists():
        subprocess.run(["tar", "-xJf", str(data_dir / "ludb.tar.xz"), "-C", str(dest)], check=True)
    return dest / "ludb"
