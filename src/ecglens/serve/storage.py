"""The data folder: originals by content hash, rendered reports, and the upload spool.

An original is written to the spool, fsynced, then renamed into place and its folder fsynced,
so what the database points to is on disk before the upload is acknowledged.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str | None, default: str = "upload") -> str:
    """A base name that cannot climb out of its folder or hide (no path, no leading dot)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).lstrip("._")[:100]
    return base or default


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def content_hash(files: list[Path]) -> str:
    """SHA-256 of one file's bytes; of names and hashes for a multi-file record (WFDB)."""
    digests = []
    for f in files:
        h = hashlib.sha256()
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digests.append((f.name, h.hexdigest()))
    if len(digests) == 1:
        return digests[0][1]
    joined = "\n".join(f"{n}\t{d}" for n, d in sorted(digests))
    return hashlib.sha256(joined.encode()).hexdigest()


#: an unacknowledged upload untouched this long was left by a process that died
SPOOL_STALE_S = 3600.0


def _last_write(path: Path) -> float:
    try:
        return max([path.stat().st_mtime] + [f.stat().st_mtime for f in path.iterdir()])
    except OSError:  # removed meanwhile, or not a folder
        return 0.0


def _owner_alive(spool_name: str) -> bool:
    """Whether the process that created a spool (its name starts with the pid) still runs."""
    pid = spool_name.split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


@dataclass(frozen=True)
class Store:
    root: Path

    def prepare(self) -> None:
        for sub in ("originals", "derived", "spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # a spool left by a dead process holds uploads that were never acknowledged; one of a
        # live process may be an upload in progress in a server running beside this one
        # (``ecglens users``/``retry``/``import`` open the store too), so it stays
        stale = time.time() - SPOOL_STALE_S
        for leftover in (self.root / "spool").iterdir():
            if not _owner_alive(leftover.name) or _last_write(leftover) < stale:
                shutil.rmtree(leftover, ignore_errors=True)

    def new_spool(self) -> Path:
        path = self.root / "spool" / f"{os.getpid()}-{uuid.uuid4().hex}"
        path.mkdir(parents=True)
        return path

    def original_dir(self, sha256: str) -> Path:
        return self.root / "originals" / sha256[:2] / sha256

    def derived_dir(self, ecg_id: int) -> Path:
        return self.root / "derived" / str(ecg_id)

    def commit_original(self, spool: Path, sha256: str) -> Path:
        """Move a spooled upload into place durably; the same content twice keeps the first."""
        for f in spool.iterdir():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())
        target = self.original_dir(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(spool, ignore_errors=True)
            return target
        try:
            os.replace(spool, target)
        except OSError:
            if not target.exists():
                raise
            shutil.rmtree(spool, ignore_errors=True)  # a concurrent upload of the same file won
        fsync_dir(target)
        fsync_dir(target.parent)
        return target

    def discard(self, spool: Path) -> None:
        shutil.rmtree(spool, ignore_errors=True)
