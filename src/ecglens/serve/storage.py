"""The data folder: originals by content hash, rendered reports, and the upload spool.

An original is written to the spool, fsynced, then renamed into place and its folder fsynced,
so what the database points to is on disk before the upload is acknowledged.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from ecglens.exceptions import EcglensError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UploadTooLarge(EcglensError):
    """The upload is over the configured limit; nothing of it was kept."""


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


@dataclass(frozen=True)
class Store:
    root: Path

    def prepare(self) -> None:
        for sub in ("originals", "derived", "spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # a spool left by a killed process holds uploads that were never acknowledged
        for leftover in (self.root / "spool").iterdir():
            shutil.rmtree(leftover, ignore_errors=True)

    def new_spool(self) -> Path:
        path = self.root / "spool" / uuid.uuid4().hex
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
