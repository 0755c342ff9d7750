"""The audit log: who did what, when, to which ECG. Details never hold patient data.

The log is append-only in the database (triggers refuse UPDATE, DELETE, TRUNCATE and any
INSERT that does not add a row after the last one) and tamper-evident: every row carries
``row_hash``, the SHA-256 of its fields and of the previous row's hash (``prev_hash``), so a
row changed, removed or slipped in by someone who got past the triggers breaks the chain from
there on (``ecglens audit verify``). Rows are chained under a lock row (``audit_chain_lock``)
that every writer takes first and holds to its commit, so concurrent writers, in one process
or several, keep the chain linear.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ecglens.exceptions import EcglensError
from ecglens.serve.security import Principal
from ecglens.serve.tables import AuditChainLock, AuditEvent, utcnow

#: ``prev_hash`` of the first row
GENESIS = "0" * 64


def _at(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive values; they are stored in UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(prev_hash: str, *, id: int, at: datetime, actor: str, role: str | None,
               action: str, ecg_id: int | None, detail: str | None,
               client: str | None) -> str:
    """SHA-256 (hex) of one row: its fields in a fixed order as compact JSON, with the previous
    row's hash. The migration that added the chain back-filled it with this function."""
    fields = ["ecglens-audit-v1", prev_hash, id, _at(at), actor, role, action, ecg_id, detail,
              client]
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _row_hash(row: Any, prev_hash: str) -> str:
    return chain_hash(prev_hash, id=row.id, at=row.at, actor=row.actor, role=row.role,
                      action=row.action, ecg_id=row.ecg_id, detail=row.detail,
                      client=row.client)


def take_lock(session: Session) -> None:
    """Take the audit log's write lock in the caller's transaction (held until it ends).

    On PostgreSQL the lock is the row lock of the one ``audit_chain_lock`` row; on SQLite the
    same UPDATE takes the database's write lock. Whatever the session reads after this sees
    every audit row committed before, and no other writer can add one until this commits.
    """
    session.flush()  # the caller's own changes first: locks are always taken in that order
    done = session.execute(update(AuditChainLock).where(AuditChainLock.id == 1)
                           .values(taken=AuditChainLock.taken + 1)
                           .execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 1) != 1:
        raise EcglensError("the audit log's lock row is missing: the database was changed by "
                           "hand (ecglens audit verify checks the log)")


def record(session: Session, who: Principal | str, action: str, *, ecg_id: int | None = None,
           detail: str | None = None, client: str | None = None) -> AuditEvent:
    """Append one event in the caller's transaction, so it lands exactly when the act does.

    It takes the audit lock until the transaction ends: call it as the last write of a
    transaction, and keep what follows short.
    """
    if isinstance(who, Principal):
        actor, role = who.username, who.role
    else:
        actor, role = who, None
    take_lock(session)
    last = session.execute(select(AuditEvent.id, AuditEvent.row_hash)
                           .order_by(AuditEvent.id.desc()).limit(1)).first()
    prev_id, prev_hash = (last[0], last[1]) if last is not None else (0, GENESIS)
    event = AuditEvent(id=prev_id + 1, at=utcnow(), actor=actor[:64], role=role, action=action,
                       ecg_id=ecg_id, detail=detail, client=(client or None) and client[:64],
                       prev_hash=prev_hash)
    event.row_hash = _row_hash(event, prev_hash)
    session.add(event)
    session.flush()  # the next record() of this transaction chains onto this one
    return event


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of :func:`verify`: ``broken_id`` is None when the chain is intact."""

    rows: int
    head: str  # the last row's hash: write it down elsewhere to notice a rewritten log
    broken_id: int | None = None
    problem: str | None = None
    #: of the hashes asked for (heads noted earlier), those no row of the chain has
    missing: tuple[str, ...] = ()


def _rows(session: Session, batch: int) -> Iterator[Any]:
    after = None
    while True:
        q = select(AuditEvent).order_by(AuditEvent.id).limit(batch)
        if after is not None:
            q = q.where(AuditEvent.id > after)
        rows = session.scalars(q).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        session.expunge_all()


def verify(session: Session, batch: int = 2000, anchors: Collection[str] = ()) -> ChainCheck:
    """Recompute the chain in id order; the first row that does not fit, and why.

    ``anchors`` are hashes noted earlier (``head`` of an earlier check): a chain rewritten
    and re-hashed from before one of them no longer has it, which is then ``missing``.
    """
    prev, n = GENESIS, 0
    wanted = {a.strip().lower() for a in anchors}
    for row in _rows(session, batch):
        wanted.discard(row.row_hash)
        if row.prev_hash != prev:
            what = ("the first row does not start the chain" if n == 0 else
                    "its prev_hash is not the previous row's hash: a row before it was "
                    "removed, inserted or changed")
            return ChainCheck(n, prev, row.id, what)
        if row.row_hash != _row_hash(row, prev):
            return ChainCheck(n, prev, row.id,
                              "its fields do not match its hash: the row was changed")
        prev, n = row.row_hash, n + 1
    return ChainCheck(n, prev, missing=tuple(sorted(wanted)))
