"""Taking an upload in: check it, de-identify it if asked, store it durably, queue it.

An upload is refused before anything is stored when the request is malformed
(:class:`MalformedUpload`, 400), when it is not a format ecglens reads
(:class:`UnsupportedUpload`, 415), or, with ``verify``, when the reader cannot read it at all
(:class:`UnreadableUpload`, 422). A refused upload leaves no row and no file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ecglens.exceptions import (
    ECGFormatError,
    MalformedUpload,
    UnreadableUpload,
    UnsupportedUpload,
)
from ecglens.io.deidentify import DeidOptions, deidentify
from ecglens.io.registry import detect_format
from ecglens.serve import audit
from ecglens.serve.security import Principal
from ecglens.serve.service import Service
from ecglens.serve.storage import content_hash
from ecglens.serve.tables import Ecg, Job

log = logging.getLogger("ecglens.serve")

#: formats with no patient fields at all: nothing to remove, so they are stored as received
_NO_PHI_FORMATS = {"csv", "npz"}


@dataclass(frozen=True)
class Ingested:
    ecg: Ecg
    created: bool


def main_file(files: list[Path]) -> Path:
    """The file a reader opens: the WFDB header when one came, else the only file."""
    headers = [f for f in files if f.suffix.lower() == ".hea"]
    if headers:
        return headers[0]
    if len(files) != 1:
        raise MalformedUpload("several files were sent but none is a WFDB header (.hea); "
                              "send one ECG file, or a WFDB header with its signal file")
    return files[0]


def _deidentify(spool: Path, main: Path, fmt: str) -> Path:
    """Replace the spooled files by their de-identified version; returns the new main file.

    The file is renamed too (``ecg.<ext>``): names given to ECG files often carry the
    patient's name or ID.
    """
    if fmt in _NO_PHI_FORMATS:
        return main
    out = spool / ".deid"
    try:
        deidentify(main, out / f"ecg{main.suffix.lower()}", DeidOptions())
    except ECGFormatError as exc:
        raise UnsupportedUpload(f"de-identification on ingest failed: {exc.problem}") from None
    for f in spool.iterdir():
        if f.is_file():
            f.unlink()
    for f in out.iterdir():
        f.replace(spool / f.name)
    out.rmdir()
    return spool / f"ecg{main.suffix.lower()}"


def check_readable(spool: Path, main: Path, fmt: str) -> None:
    """Read the spooled record once, as the worker will; :class:`UnreadableUpload` with the
    reader's one-line reason when it cannot be read at all.

    ``ecglens.io.read`` is bounded (file size, declared sizes, decompression) and raises only
    ``ECGFormatError``; anything else is a reader fault, refused the same way rather than
    acknowledged and failed later.
    """
    from ecglens.io import read

    try:
        read(main, format=fmt)
    except ECGFormatError as exc:
        problem = exc.problem.replace(f"{spool}/", "").replace(str(spool), "")
        raise UnreadableUpload(f"the file cannot be read: {problem}") from None
    except Exception as exc:  # noqa: BLE001 - a reader fault: refuse, say which, log it
        log.warning("reading an upload failed with %s", type(exc).__name__)
        raise UnreadableUpload(
            f"the file cannot be read (the reader failed with {type(exc).__name__})") from None


def ingest(service: Service, spool: Path, who: Principal | str, *, client: str | None = None,
           deidentify_now: bool | None = None, verify: bool = False) -> Ingested:
    """Store the files in ``spool`` as one ECG and queue it; the same content gives the same ECG.

    With ``verify`` the record is read first and refused (:class:`UnreadableUpload`) if the
    reader cannot read it, so nothing unreadable is acknowledged (the API does this; ``import``
    keeps such files as failed rows, to show what an archive held).

    Returns only after the files are on disk and the row and job are committed: the caller may
    acknowledge the upload then. The spool is consumed either way.
    """
    store = service.store
    try:
        files = sorted(p for p in spool.iterdir() if p.is_file())
        if not files or all(p.stat().st_size == 0 for p in files):
            raise UnsupportedUpload("the upload is empty")
        main = main_file(files)
        sha = content_hash(files)
        with service.session() as s:
            existing = s.scalar(select(Ecg).where(Ecg.sha256 == sha))
            if existing is not None:
                audit.record(s, who, "ecg.upload_duplicate", ecg_id=existing.id, client=client)
                store.discard(spool)
                return Ingested(existing, False)
        try:
            fmt = detect_format(main)
        except ECGFormatError as exc:
            raise UnsupportedUpload(f"not a supported ECG file: {exc.problem}") from None
        if verify:
            check_readable(spool, main, fmt)
        deid = service.settings.deidentify if deidentify_now is None else deidentify_now
        if deid:
            main = _deidentify(spool, main, fmt)
        size = sum(p.stat().st_size for p in spool.iterdir() if p.is_file())
        store.commit_original(spool, sha)
    except BaseException:
        store.discard(spool)
        raise
    uploader = who.username if isinstance(who, Principal) else who
    try:
        with service.session() as s:
            ecg = Ecg(sha256=sha, filename=main.name, format=fmt, size_bytes=size,
                      uploaded_by=uploader[:64], deidentified=deid, status="queued")
            s.add(ecg)
            s.flush()
            s.add(Job(ecg_id=ecg.id))
            audit.record(s, who, "ecg.upload", ecg_id=ecg.id,
                         detail=f"format={fmt} bytes={size}", client=client)
    except IntegrityError:  # the same content arrived concurrently and was committed first
        with service.session() as s:
            existing = s.scalar(select(Ecg).where(Ecg.sha256 == sha))
            if existing is None:
                raise
            audit.record(s, who, "ecg.upload_duplicate", ecg_id=existing.id, client=client)
            return Ingested(existing, False)
    log.info("ecg %d stored (sha256 %s…, %s, %d bytes)", ecg.id, sha[:12], fmt, size)
    service.wake.set()
    return Ingested(ecg, True)
