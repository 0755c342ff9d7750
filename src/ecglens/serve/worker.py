"""The processing queue: jobs live in the database, so they survive a restart.

A worker thread claims the oldest queued job, interprets the ECG and stores the result. A
failed ECG says why in ``failure_kind``:

- ``bad_file``: the reader refused the file. Permanent: the same bytes fail the same way.
- ``interrupted``: the service stopped while interpreting it, ``MAX_ATTEMPTS`` times in a row.
- ``error``: interpretation failed for another reason (an unexpected error is retried twice
  automatically before it ends here).

The last two are retryable by hand (:func:`retry`: ``POST /ecgs/{id}/retry``, ``ecglens
retry``). At start, jobs left ``running`` by a killed process are queued again (one service per
database; see docs/serve.md).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ecglens.exceptions import ECGFormatError, EcglensError, NotRetryable
from ecglens.serve.service import Service
from ecglens.serve.tables import Ecg, Job, utcnow

log = logging.getLogger("ecglens.serve")

MAX_ATTEMPTS = 3
POLL_S = 1.0
#: ``Ecg.failure_kind`` values; a failed ECG of the retryable kinds can be queued again by hand
BAD_FILE, INTERRUPTED, ERROR = "bad_file", "interrupted", "error"
RETRYABLE = (INTERRUPTED, ERROR)
INTERRUPTED_REPEATEDLY = ("processing was interrupted repeatedly (the service stopped while "
                          "interpreting it)")


def retryable(ecg: Ecg) -> bool:
    return ecg.status == "failed" and ecg.failure_kind in RETRYABLE


def why_not_retryable(ecg: Ecg) -> str:
    if ecg.status == "failed" and ecg.failure_kind == BAD_FILE:
        return (f"ECG {ecg.id} cannot be retried: the file itself cannot be read "
                f"({ecg.error}); upload a corrected file instead")
    if ecg.status in ("queued", "processing"):
        return f"ECG {ecg.id} is already {ecg.status}"
    return f"ECG {ecg.id} cannot be retried (status {ecg.status})"


def retry(s: Session, ecg_id: int) -> Ecg:
    """Queue a failed ECG of a retryable kind again, with a fresh attempt count.

    The change is conditional in the database, so a retry racing a worker, another retry or a
    second process (the CLI beside a running server) takes effect once. Raises
    :class:`NotRetryable` otherwise, and ``LookupError`` for an unknown id.
    """
    ecg = s.get(Ecg, ecg_id)
    if ecg is None:
        raise LookupError(f"no ECG {ecg_id}")
    changed = s.execute(
        update(Ecg).where(Ecg.id == ecg_id, Ecg.status == "failed",
                          Ecg.failure_kind.in_(RETRYABLE))
        .values(status="queued", error=None, failure_kind=None, processed_at=None)
        .execution_options(synchronize_session=False))
    # an UPDATE returns a CursorResult, which has rowcount; Session.execute is typed Result
    if not changed.rowcount:  # type: ignore[attr-defined]
        s.refresh(ecg)
        raise NotRetryable(why_not_retryable(ecg))
    job = s.scalar(select(Job).where(Job.ecg_id == ecg_id))
    if job is None:  # cannot happen through ingest; kept whole anyway
        s.add(Job(ecg_id=ecg_id))
    else:
        job.state, job.attempts, job.error, job.worker = "queued", 0, None, None
        job.started_at = job.finished_at = None
    s.flush()
    s.refresh(ecg)
    return ecg


def requeue_interrupted(service: Service) -> int:
    """Jobs a killed process left ``running`` go back to the queue; returns how many.

    A job that was already taken ``MAX_ATTEMPTS`` times fails instead: a file that brings the
    service down each time must not do so forever.
    """
    poisoned = INTERRUPTED_REPEATEDLY
    with service.session() as s:
        stuck = select(Job.ecg_id).where(Job.state == "running",
                                         Job.attempts >= MAX_ATTEMPTS)
        s.execute(update(Ecg).where(Ecg.id.in_(stuck))
                  .values(status="failed", error=poisoned, failure_kind=INTERRUPTED,
                          processed_at=utcnow()))
        s.execute(update(Job).where(Job.state == "running", Job.attempts >= MAX_ATTEMPTS)
                  .values(state="failed", error=poisoned, worker=None))
        res = s.execute(update(Job).where(Job.state == "running")
                        .values(state="queued", worker=None))
        s.execute(update(Ecg).where(Ecg.status == "processing").values(status="queued"))
        return int(res.rowcount or 0)  # type: ignore[attr-defined]  # as in retry() above


def original_path(service: Service, ecg: Ecg) -> Path:
    return service.store.original_dir(ecg.sha256) / ecg.filename


def _summary_fields(result: Any) -> dict[str, Any]:
    findings = result.findings
    # the worklist shows the first statements as the report prints them: the headline ones
    # (the rhythm first), then the possible ones (print order since schema 1.4)
    top = [{"code": f.code, "label": f.label,
            "probability": None if f.probability is None else round(f.probability, 4),
            "confident": f.confident} for f in findings[:4]]
    quality_problem = (result.quality.verdict != "acceptable" or result.abstention.abstained
                       or bool(result.lead_reversal.suspected) or bool(result.abstention.caution))
    return {
        "quality": result.quality.verdict,
        "quality_problem": quality_problem,
        "abstained": result.abstention.abstained,
        # the overall line decides, as on a cart: a possible sinus arrhythmia at p 0.12 or a
        # sinus bradycardia ("otherwise normal") does not flag a normal ECG abnormal
        "abnormal": result.summary == "abnormal",
        "heart_rate_bpm": result.measurements.heart_rate_bpm,
        "top_findings": json.dumps(top),
    }


class Worker:
    """One thread taking jobs until stopped."""

    def __init__(self, service: Service, name: str = "worker-0") -> None:
        self.service = service
        self.id = f"{socket.gethostname()[:24]}:{os.getpid()}:{name}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ecglens-{name}", daemon=True)
        self._predictor: Any = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.service.wake.set()
        self._thread.join(timeout)

    def _predictor_once(self) -> Any:
        if self._predictor is None:
            from ecglens.models import load_predictor
            self._predictor = load_predictor(self.service.settings.model)
        return self._predictor

    def _claim(self) -> tuple[int, int] | None:
        with self.service.session() as s:
            q = select(Job).where(Job.state == "queued").order_by(Job.id).limit(1)
            if s.bind is not None and s.bind.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            job = s.scalar(q)
            if job is None:
                return None
            job.state, job.started_at, job.worker = "running", utcnow(), self.id
            job.attempts += 1
            s.execute(update(Ecg).where(Ecg.id == job.ecg_id).values(status="processing"))
            return job.id, job.ecg_id

    def run_once(self) -> bool:
        """Process one job if there is one; returns whether there was."""
        claimed = self._claim()
        if claimed is None:
            return False
        job_id, ecg_id = claimed
        try:
            fields = self._interpret(ecg_id)
        except ECGFormatError as exc:  # the problem only: the stored path is not for users
            self._finish(job_id, ecg_id, failed=f"cannot read the file: {exc.problem}",
                         kind=BAD_FILE, final=True)
        except EcglensError as exc:
            self._finish(job_id, ecg_id, failed=str(exc), kind=ERROR, final=True)
        except Exception as exc:
            log.exception("job %d (ecg %d) failed", job_id, ecg_id)
            self._finish(job_id, ecg_id, failed=f"internal error: {type(exc).__name__}",
                         kind=ERROR, final=False)
        else:
            self._finish(job_id, ecg_id, fields=fields)
        return True

    def _interpret(self, ecg_id: int) -> dict[str, Any]:
        from ecglens.interpret.pipeline import interpret
        from ecglens.io import read

        with self.service.session() as s:
            ecg_row = s.get(Ecg, ecg_id)
            assert ecg_row is not None  # the job's foreign key guarantees it
            path = original_path(self.service, ecg_row)
        ecg = read(path)
        result = interpret(ecg, predictor=self._predictor_once(), source=path, explain=None)
        fields = _summary_fields(result)
        fields["result_json"] = result.model_dump_json()
        return fields

    def _finish(self, job_id: int, ecg_id: int, *, fields: dict[str, Any] | None = None,
                failed: str | None = None, kind: str = ERROR, final: bool = True) -> None:
        with self.service.session() as s:
            job = s.get(Job, job_id)
            ecg = s.get(Ecg, ecg_id)
            assert job is not None and ecg is not None
            if failed is None:
                job.state, job.error = "done", None
                for k, v in (fields or {}).items():
                    setattr(ecg, k, v)
                ecg.status, ecg.error, ecg.failure_kind = "done", None, None
            elif final or job.attempts >= MAX_ATTEMPTS:
                job.state, job.error = "failed", failed
                ecg.status, ecg.error, ecg.failure_kind = "failed", failed, kind
            else:
                job.state, job.error = "queued", failed
                ecg.status = "queued"
            job.finished_at = utcnow()
            ecg.processed_at = job.finished_at
        log.info("ecg %d: %s", ecg_id, "done" if failed is None else "job error recorded")

    def drain(self) -> int:
        """Process until the queue is empty (for ``import --process`` and tests)."""
        n = 0
        while self.run_once():
            n += 1
        return n

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("worker loop error")
                busy = False
            if not busy:
                self.service.wake.wait(POLL_S)
                self.service.wake.clear()
