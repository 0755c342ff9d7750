"""Shared fixtures: locate the real data in ``../shared/data`` (or ``$ECGLENS_DATA``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _origin_checkout() -> Path | None:
    """The local checkout this clone was made from (``git clone . /tmp/x``), if any."""
    try:
        url = subprocess.run(["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
                             capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except OSError:
        return None
    path = Path(url.removeprefix("file://"))
    return path.resolve() if url and path.is_dir() else None


def data_root() -> Path:
    if "ECGLENS_DATA" in os.environ:
        root = Path(os.environ["ECGLENS_DATA"])
    else:
        # beside this checkout, or beside the checkout a local clone was made from
        root = ROOT.parent / "shared" / "data"
        origin = _origin_checkout()
        if not (root / "formats").is_dir() and origin is not None:
            root = origin.parent / "shared" / "data" if (
                origin.parent / "shared" / "data" / "formats").is_dir() else root
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


# --- the clinic service: every service test runs on SQLite and on PostgreSQL -----------------

def _pg_admin_url() -> str | None:
    """``ECGLENS_TEST_PG_URL``: a PostgreSQL server the tests may create databases on
    (.ci/run starts one). Without it the PostgreSQL half is skipped, unless
    ``ECGLENS_REQUIRE_PG=1`` says it must run."""
    url = os.environ.get("ECGLENS_TEST_PG_URL")
    if not url:
        if os.environ.get("ECGLENS_REQUIRE_PG") == "1":
            pytest.fail("ECGLENS_REQUIRE_PG=1 but ECGLENS_TEST_PG_URL is not set", pytrace=False)
        pytest.skip("no PostgreSQL server: set ECGLENS_TEST_PG_URL (.ci/run starts one)")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ecglens.db'}"
        return
    import uuid

    import sqlalchemy as sa

    admin_url = _pg_admin_url()
    name = f"ecglens_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
