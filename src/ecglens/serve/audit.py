"""The audit log: who did what, when, to which ECG. Details never hold patient data."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ecglens.serve.security import Principal
from ecglens.serve.tables import AuditEvent


def record(session: Session, who: Principal | str, action: str, *, ecg_id: int | None = None,
           detail: str | None = None, client: str | None = None) -> None:
    """Append one event in the caller's transaction, so it lands exactly when the act does."""
    if isinstance(who, Principal):
        actor, role = who.username, who.role
    else:
        actor, role = who, None
    session.add(AuditEvent(actor=actor[:64], role=role, action=action, ecg_id=ecg_id,
                           detail=detail, client=(client or None) and client[:64]))
