"""``/api/v1/ecgs``: upload, worklist, results, signal, reports, overreads, retry."""

from __future__ import annotations

import io
import json
import logging
import math
import os
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as FPath
from fastapi.responses import FileResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ecglens.exceptions import (
    ECGFormatError,
    EcglensError,
    MalformedUpload,
    NotRetryable,
    UnreadableUpload,
    UnsupportedUpload,
    UploadTooLarge,
)
from ecglens.interpret.result import Interpretation
from ecglens.serve import audit
from ecglens.serve.deps import client, require, service
from ecglens.serve.ingest import ingest
from ecglens.serve.schemas import (
    EcgDetail,
    EcgSummary,
    OverreadIn,
    OverreadOut,
    SignalOut,
    UploadResult,
    Worklist,
)
from ecglens.serve.security import Principal
from ecglens.serve.service import Service
from ecglens.serve.storage import safe_name
from ecglens.serve.tables import Ecg, Job, Overread
from ecglens.serve.worker import BAD_FILE, original_path, retry, retryable

log = logging.getLogger("ecglens.serve")
router = APIRouter(prefix="/ecgs", tags=["ecgs"])

SvcDep = Annotated[Service, Depends(service)]
#: ids are 32-bit integers in PostgreSQL; a larger number is a bad request, not a server error
MAX_ID = 2**31 - 1
EcgId = Annotated[int, FPath(ge=1, le=MAX_ID)]
_CHUNK = 1 << 16
_MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file bytes


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise UploadTooLarge("the upload is larger than this server accepts")


async def _spool_multipart(request: Request, spool: Path, budget: _Budget) -> None:
    form = await request.form(max_files=16, max_fields=16)
    try:
        parts = [v for k, v in form.multi_items() if k in ("file", "files")
                 and isinstance(v, UploadFile)]
        if not parts:
            raise HTTPException(400, "the multipart upload has no 'file' field")
        for part in parts:
            target = spool / safe_name(part.filename)
            if target.exists():
                raise HTTPException(400, f"two files named {target.name} in one upload")
            with target.open("wb") as out:
                while chunk := await part.read(_CHUNK):
                    budget.take(len(chunk))
                    out.write(chunk)
    finally:
        await form.close()


async def _spool_raw(request: Request, spool: Path, name: str, budget: _Budget) -> None:
    with (spool / name).open("wb") as out:
        async for chunk in request.stream():
            budget.take(len(chunk))
            out.write(chunk)


def _hint(ecg: Ecg) -> str | None:
    """What the sender of a duplicate can do about an ECG that failed."""
    if retryable(ecg):
        return (f"ECG {ecg.id} failed ({ecg.failure_kind}): it can be queued again with "
                f"POST /api/v1/ecgs/{ecg.id}/retry (clinician or admin) or 'ecglens retry "
                f"{ecg.id}'")
    if ecg.status == "failed" and ecg.failure_kind == BAD_FILE:
        return f"ECG {ecg.id} cannot be read; sending the same bytes again will not change that"
    return None


@router.post("", status_code=201, response_model=UploadResult,
             responses={200: {"description": "the same file was uploaded before"},
                        400: {"description": "the request does not hold one ECG record"},
                        415: {"description": "not an ECG format ecglens reads"},
                        422: {"description": "an ECG format, but the file cannot be read"}})
async def upload(request: Request, response: Response, svc: SvcDep,
                 who: Annotated[Principal, Depends(require("upload"))],
                 filename: Annotated[str | None, Query(max_length=255)] = None,
                 deidentify: bool = False) -> UploadResult:
    """Upload one ECG: multipart field ``file`` (a WFDB record: header and signal file as two
    ``file`` parts), or the raw file as the body with ``?filename=``. The file is read once
    before it is accepted (a file the reader refuses is answered 422 with the reason and not
    kept); answered once stored."""
    limit = svc.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _MULTIPART_SLACK:
        raise HTTPException(413, f"the upload is larger than this server accepts "
                                 f"({svc.settings.max_upload_mb:g} MB)")
    spool = svc.store.new_spool()
    try:
        budget = _Budget(limit)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            await _spool_multipart(request, spool, budget)
        else:
            await _spool_raw(request, spool, safe_name(filename), budget)
    except UploadTooLarge:
        svc.store.discard(spool)
        raise HTTPException(413, f"the upload is larger than this server accepts "
                                 f"({svc.settings.max_upload_mb:g} MB)") from None
    except BaseException:
        svc.store.discard(spool)
        raise
    try:
        done = await run_in_threadpool(ingest, svc, spool, who, client=client(request),
                                       deidentify_now=True if deidentify else None, verify=True)
    except MalformedUpload as exc:
        raise HTTPException(400, str(exc)) from None
    except UnsupportedUpload as exc:
        raise HTTPException(415, str(exc)) from None
    except UnreadableUpload as exc:
        raise HTTPException(422, str(exc)) from None
    if not done.created:
        response.status_code = 200
    summary = EcgSummary.of(done.ecg, with_results=who.can("read"))
    return UploadResult(**summary.model_dump(), duplicate=not done.created,
                        hint=None if done.created else _hint(done.ecg))


@router.post("/{ecg_id}/retry", response_model=EcgSummary,
             responses={409: {"description": "not failed, or failed because the file is bad"}})
def retry_ecg(ecg_id: EcgId, request: Request, svc: SvcDep,
              who: Annotated[Principal, Depends(require("read"))]) -> EcgSummary:
    """Queue a failed ECG again (clinician, admin) when it failed because processing was
    interrupted or erred (``retryable``); 409 when it is not failed, or when the file itself
    cannot be read (``failure_kind`` ``bad_file``: send a corrected file instead)."""
    with svc.session() as s:
        _get(s, ecg_id)
        try:
            ecg = retry(s, ecg_id)
        except NotRetryable as exc:
            raise HTTPException(409, str(exc)) from None
        audit.record(s, who, "ecg.retry", ecg_id=ecg_id, client=client(request))
    svc.wake.set()
    return EcgSummary.of(ecg, with_results=who.can("read"))


@router.get("", response_model=Worklist)
def worklist(request: Request, svc: SvcDep, who: Annotated[Principal, Depends(require("status"))],
             status: Annotated[str | None,
                               Query(pattern="^(queued|processing|done|failed)$")] = None,
             unread: bool | None = None, abnormal: bool | None = None,
             quality_problem: bool | None = None,
             since: datetime | None = None, until: datetime | None = None,
             limit: Annotated[int, Query(ge=1, le=500)] = 50,
             offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Worklist:
    """The worklist, newest first."""
    q = select(Ecg)
    if status:
        q = q.where(Ecg.status == status)
    if unread is not None:
        q = q.where(Ecg.read.is_(not unread))
    if quality_problem is not None:
        q = q.where(Ecg.quality_problem.is_(quality_problem), Ecg.status == "done")
    if abnormal is not None and who.can("read"):  # only for those who may see results
        q = q.where(Ecg.abnormal.is_(abnormal), Ecg.status == "done")
    if since is not None:
        q = q.where(Ecg.uploaded_at >= since)
    if until is not None:
        q = q.where(Ecg.uploaded_at < until)
    with svc.session() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.order_by(Ecg.uploaded_at.desc(), Ecg.id.desc())
                         .limit(limit).offset(offset)).all()
        audit.record(s, who, "ecg.list", detail=f"{len(rows)} of {total}",
                     client=client(request))
    return Worklist(total=total,
                    items=[EcgSummary.of(e, with_results=who.can("read")) for e in rows])


def _get(s: Any, ecg_id: int) -> Ecg:
    ecg = s.get(Ecg, ecg_id)
    if ecg is None:
        raise HTTPException(404, f"no ECG {ecg_id}")
    return ecg


def _overreads(s: Any, ecg_id: int) -> list[OverreadOut]:
    rows = s.scalars(select(Overread).where(Overread.ecg_id == ecg_id)
                     .order_by(Overread.id.desc())).all()
    return [OverreadOut.of(r) for r in rows]


@router.get("/{ecg_id}", response_model=EcgDetail)
def detail(ecg_id: EcgId, request: Request, svc: SvcDep,
           who: Annotated[Principal, Depends(require("status"))]) -> EcgDetail:
    """One ECG; readers also get the interpretation and the overreads."""
    with svc.session() as s:
        ecg = _get(s, ecg_id)
        job = s.scalar(select(Job).where(Job.ecg_id == ecg_id))
        out = EcgDetail(**EcgSummary.of(ecg, with_results=who.can("read")).model_dump(),
                        attempts=job.attempts if job else 0)
        if who.can("read"):
            if ecg.result_json:
                out.result = Interpretation.model_validate_json(ecg.result_json)
            out.overreads = _overreads(s, ecg_id)
        audit.record(s, who, "ecg.read" if who.can("read") else "ecg.status", ecg_id=ecg_id,
                     client=client(request))
    return out


def _load(svc: Service, ecg_id: int, who: Principal, action: str,
          request: Request) -> tuple[Ecg, Path]:
    with svc.session() as s:
        ecg = _get(s, ecg_id)
        audit.record(s, who, action, ecg_id=ecg_id, client=client(request))
    return ecg, original_path(svc, ecg)


def _read(path: Path) -> Any:
    from ecglens.io import read
    try:
        return read(path)
    except ECGFormatError as exc:
        raise HTTPException(422, f"the stored file cannot be read: {exc.problem}") from None


@router.get("/{ecg_id}/signal", response_model=SignalOut)
def signal(ecg_id: EcgId, request: Request, svc: SvcDep,
           who: Annotated[Principal, Depends(require("read"))]) -> Response:
    """The samples in millivolts, one list per lead, for the viewer."""
    _, path = _load(svc, ecg_id, who, "ecg.signal", request)
    ecg = _read(path)
    data = np.round(ecg.signal.T.astype(np.float64), 4)
    values: list[list[float]] = data.tolist()
    rows: Sequence[Sequence[float | None]] = values
    if np.isnan(data).any():  # JSON has no NaN: a gap is null
        rows = [[None if math.isnan(v) else v for v in row] for row in values]
    body = {"fs": ecg.fs, "leads": list(ecg.leads), "units": "mV", "n_samples": ecg.n_samples,
            "data": rows}
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


def _result_json(ecg: Ecg) -> str:
    """The stored interpretation; 409 while the ECG waits, is processed, or failed."""
    if ecg.status != "done" or not ecg.result_json:
        raise HTTPException(409, f"ECG {ecg.id} is not interpreted yet (status {ecg.status})")
    return ecg.result_json


def _interpretation(ecg: Ecg) -> Interpretation:
    return Interpretation.model_validate_json(_result_json(ecg))


def _rendered(svc: Service, ecg_row: Ecg, path: Path, kind: str) -> Path:
    """The report file, rendered once and kept beside the original."""
    out = svc.store.derived_dir(ecg_row.id) / f"report.{kind}"
    if out.exists():
        return out
    interp = _interpretation(ecg_row)
    ecg = _read(path)
    from ecglens.report.pages import write_pdf, write_png
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{os.getpid()}-{id(interp)}.{kind}")
    try:
        (write_pdf if kind == "pdf" else write_png)(ecg, interp, tmp)
        os.replace(tmp, out)
    except EcglensError as exc:
        raise HTTPException(422, f"the report cannot be drawn: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _report(ecg_id: int, request: Request, svc: Service, who: Principal, kind: str,
            media_type: str) -> FileResponse:
    ecg, path = _load(svc, ecg_id, who, f"ecg.report_{kind}", request)
    return FileResponse(_rendered(svc, ecg, path, kind), media_type=media_type,
                        filename=f"ecg-{ecg_id}.{kind}")


@router.get("/{ecg_id}/report.pdf", response_class=FileResponse)
def report_pdf(ecg_id: EcgId, request: Request, svc: SvcDep,
               who: Annotated[Principal, Depends(require("read"))]) -> FileResponse:
    return _report(ecg_id, request, svc, who, "pdf", "application/pdf")


@router.get("/{ecg_id}/report.png", response_class=FileResponse)
def report_png(ecg_id: EcgId, request: Request, svc: SvcDep,
               who: Annotated[Principal, Depends(require("read"))]) -> FileResponse:
    return _report(ecg_id, request, svc, who, "png", "image/png")


@router.get("/{ecg_id}/fhir")
def fhir(ecg_id: EcgId, request: Request, svc: SvcDep,
         who: Annotated[Principal, Depends(require("read"))]) -> Response:
    """The interpretation as a FHIR R4 Bundle (DiagnosticReport and Observations)."""
    ecg, _ = _load(svc, ecg_id, who, "ecg.fhir", request)
    from ecglens.report.fhir import to_json
    return Response(to_json(_interpretation(ecg)), media_type="application/fhir+json")


@router.get("/{ecg_id}/original")
def original(ecg_id: EcgId, request: Request, svc: SvcDep,
             who: Annotated[Principal, Depends(require("read"))]) -> Response:
    """The stored file (a zip when the record came as several files, as WFDB does)."""
    ecg, path = _load(svc, ecg_id, who, "ecg.original", request)
    files = sorted(p for p in path.parent.iterdir() if p.is_file())
    if len(files) == 1:
        return FileResponse(files[0], media_type="application/octet-stream",
                            filename=files[0].name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, f.name)
    return Response(buf.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="ecg-{ecg.id}.zip"'})


@router.post("/{ecg_id}/overreads", status_code=201, response_model=OverreadOut)
def overread(ecg_id: EcgId, body: OverreadIn, request: Request, svc: SvcDep,
             who: Annotated[Principal, Depends(require("overread"))]) -> OverreadOut:
    """Confirm, reject or edit each finding, add statements, comment, and sign."""
    with svc.session() as s:
        ecg = _get(s, ecg_id)
        known = {f["code"] for f in json.loads(_result_json(ecg)).get("findings", [])}
        unknown = sorted({d.code for d in body.decisions} - known)
        if unknown:
            raise HTTPException(422, f"not findings of this ECG: {', '.join(unknown)} "
                                     "(add new statements under 'added')")
        stored = body.model_dump(exclude={"sign"})
        row = Overread(ecg_id=ecg_id, author=who.username, body_json=json.dumps(stored),
                       signed=body.sign)
        s.add(row)
        if body.sign:
            ecg.read, ecg.signed = True, True
        s.flush()
        audit.record(s, who, "overread.sign" if body.sign else "overread.draft", ecg_id=ecg_id,
                     detail=f"overread {row.id}: {len(body.decisions)} decisions, "
                            f"{len(body.added)} added", client=client(request))
        return OverreadOut.of(row)


@router.get("/{ecg_id}/overreads", response_model=list[OverreadOut])
def overreads(ecg_id: EcgId, request: Request, svc: SvcDep,
              who: Annotated[Principal, Depends(require("read"))]) -> list[OverreadOut]:
    with svc.session() as s:
        _get(s, ecg_id)
        audit.record(s, who, "overread.list", ecg_id=ecg_id, client=client(request))
        return _overreads(s, ecg_id)
