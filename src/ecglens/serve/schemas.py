"""Request and response bodies of the API. The interpretation itself is
``ecglens.interpret.result.Interpretation``, the same object ``ecglens interpret --json`` prints."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ecglens.interpret.result import Interpretation
from ecglens.serve.security import Role
from ecglens.serve.tables import Ecg, Overread
from ecglens.serve.worker import retryable

Status = Literal["queued", "processing", "done", "failed"]
#: why a failed ECG failed: the file cannot be read (permanent), or processing was interrupted
#: or erred (both retryable: ``POST /ecgs/{id}/retry``)
FailureKind = Literal["bad_file", "interrupted", "error"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopFinding(BaseModel):
    code: str
    label: str
    probability: float | None  # None: a statement made from the measurements
    confident: bool


class EcgSummary(BaseModel):
    id: int
    sha256: str
    filename: str
    format: str | None
    size_bytes: int
    uploaded_at: datetime
    uploaded_by: str
    deidentified: bool
    status: Status
    error: str | None = None
    failure_kind: FailureKind | None = None
    #: a failed ECG that ``POST /ecgs/{id}/retry`` can queue again
    retryable: bool = False
    processed_at: datetime | None = None
    # signal quality: for everyone, so the technician at the cart can record again at once
    quality: str | None = None
    quality_problem: bool | None = None
    # result fields: None for a caller who may not read results, or before processing
    abnormal: bool | None = None
    abstained: bool | None = None
    heart_rate_bpm: float | None = None
    top_findings: list[TopFinding] | None = None
    read: bool
    signed: bool

    @classmethod
    def of(cls, ecg: Ecg, *, with_results: bool) -> EcgSummary:
        # the table holds status and failure_kind as plain strings; pydantic checks them against
        # this schema's literals here (hence the two arg-type ignores)
        out = cls(id=ecg.id, sha256=ecg.sha256, filename=ecg.filename, format=ecg.format,
                  size_bytes=ecg.size_bytes, uploaded_at=ecg.uploaded_at,
                  uploaded_by=ecg.uploaded_by, deidentified=ecg.deidentified,
                  status=ecg.status, error=ecg.error,  # type: ignore[arg-type]
                  failure_kind=(ecg.failure_kind  # type: ignore[arg-type]
                                if ecg.status == "failed" else None),
                  retryable=retryable(ecg),
                  processed_at=ecg.processed_at, read=ecg.read, signed=ecg.signed)
        if ecg.status == "done":
            out.quality, out.quality_problem = ecg.quality, ecg.quality_problem
        if with_results and ecg.status == "done":
            out.abnormal, out.abstained = ecg.abnormal, ecg.abstained
            out.heart_rate_bpm = ecg.heart_rate_bpm
            out.top_findings = [TopFinding(**t) for t in json.loads(ecg.top_findings or "[]")]
        return out


class UploadResult(EcgSummary):
    duplicate: bool
    #: for a duplicate that failed: what can be done about it (retry, or send a corrected file)
    hint: str | None = None


class Worklist(BaseModel):
    total: int
    items: list[EcgSummary]


class Decision(_In):
    code: str = Field(max_length=32)
    decision: Literal["accept", "reject", "edit"]
    label: str | None = Field(default=None, max_length=500)  # the edited statement


class AddedStatement(_In):
    code: str | None = Field(default=None, max_length=32)
    text: str = Field(min_length=1, max_length=500)


class OverreadIn(_In):
    decisions: list[Decision] = Field(default=[], max_length=100)
    added: list[AddedStatement] = Field(default=[], max_length=50)
    comment: str = Field(default="", max_length=4000)
    sign: bool = False


class OverreadOut(OverreadIn):
    id: int
    ecg_id: int
    author: str
    created_at: datetime
    signed: bool

    @classmethod
    def of(cls, row: Overread) -> OverreadOut:
        body: dict[str, Any] = json.loads(row.body_json)
        return cls(id=row.id, ecg_id=row.ecg_id, author=row.author, created_at=row.created_at,
                   signed=row.signed, sign=row.signed, **body)


class EcgDetail(EcgSummary):
    result: Interpretation | None = None
    overreads: list[OverreadOut] | None = None
    attempts: int = 0


class SignalOut(BaseModel):
    fs: float
    leads: list[str]
    units: Literal["mV"] = "mV"
    n_samples: int
    data: list[list[float | None]]  # one list per lead


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    username: str
    role: str
    csrf_token: str | None = None


class UserIn(_In):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    role: Role
    password: str | None = Field(default=None, max_length=1024)


class UserPatch(_In):
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    active: bool
    created_at: datetime


class KeyIn(_In):
    username: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)


class KeyOut(BaseModel):
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class NewKey(KeyOut):
    key: str  # shown once


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str | None
    action: str
    ecg_id: int | None
    detail: str | None
    client: str | None
