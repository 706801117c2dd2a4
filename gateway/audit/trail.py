"""Appending, verifying and searching the audit trail (shaped after FHIR AuditEvent).

agent = `actor` + `agent_kind` (hospital client, staff user, OS user, system); entity =
`entity_type` + `entity_id` (+ more ids in `detail`); action; outcome (`0` success, `4` refused,
`8` failed); source = the caller's address. Events carry no citizen ID and no name.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from gateway.audit.chain import GENESIS, event_hash
from gateway.claims.models import AuditEvent
from gateway.db import writer

SUCCESS, REFUSED, FAILED = "0", "4", "8"


def append_event(
    session: Session,
    *,
    action: str,
    actor: str,
    agent_kind: str,
    entity_type: str,
    entity_id: str = "",
    outcome: str = SUCCESS,
    source: str | None = None,
    hcode: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Stage one audit event in the caller's transaction (chained when it is flushed)."""
    row = AuditEvent(
        actor=actor[:100],
        agent_kind=agent_kind[:16],
        hcode=hcode[:9] if hcode else None,
        action=action[:64],
        entity_type=entity_type[:32],
        entity_id=entity_id[:36],
        outcome=outcome,
        source=source[:64] if source else None,
        detail=json.dumps(detail or {}, default=str, sort_keys=True),
    )
    session.add(row)
    return row


def record_event(engine: Engine, **fields: Any) -> None:
    """Append one audit event in its own short transaction."""
    with Session(writer(engine)) as session:
        append_event(session, **fields)
        session.commit()


def os_user() -> str:
    """Who runs an admin command: the OS user (or CLAIMGW_STAFF_USER when a staff tool sets it)."""
    named = os.environ.get("CLAIMGW_STAFF_USER")
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def admin_event(
    session: Session,
    *,
    action: str,
    entity_type: str,
    entity_id: str = "",
    hcode: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Stage the audit event of an admin command, acted by the OS (or named staff) user."""
    staff = os.environ.get("CLAIMGW_STAFF_USER")
    return append_event(
        session,
        action=action,
        actor=os_user(),
        agent_kind="staff" if staff else "os",
        entity_type=entity_type,
        entity_id=entity_id,
        hcode=hcode,
        detail=detail,
    )


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first row where the chain does not hold, and how."""

    row_id: int
    kind: str  # edited, inserted, deleted
    message: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of walking the chain."""

    checked: int
    unchained: int
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(session: Session, *, batch: int = 2000) -> ChainReport:
    """Walk audit_events by id and name the first edited, inserted or deleted row."""
    rows = _walk(session, batch)
    checked = unchained = 0
    previous: AuditEvent | None = None
    pending: list[AuditEvent] = []
    seen: set[str] = set()  # hashes met so far: a row linking back to one of them was inserted
    for row in rows:
        if row.hash is None:
            if previous is None:
                unchained += 1  # written before migration 0008
                continue
            return ChainReport(checked, unchained, _break(row, "inserted", "has no hash"))
        pending.append(row)
        if len(pending) < 2:
            continue
        found = _check(pending[0], previous, pending[1], seen)
        if found:
            return ChainReport(checked, unchained, found)
        previous, checked = pending.pop(0), checked + 1
        seen.add(previous.hash or "")
    for row in pending:
        found = _check(row, previous, None, seen)
        if found:
            return ChainReport(checked, unchained, found)
        previous, checked = row, checked + 1
        seen.add(row.hash or "")
    return ChainReport(checked, unchained, None)


def _walk(session: Session, batch: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        chunk = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.id) > last)
            .order_by(col(AuditEvent.id))
            .limit(batch)
        ).all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id or last


def _check(
    row: AuditEvent, previous: AuditEvent | None, following: AuditEvent | None, seen: set[str]
) -> ChainBreak | None:
    expected_prev = previous.hash if previous is not None else GENESIS
    if row.prev_hash != expected_prev:
        if following is not None and following.prev_hash == expected_prev:
            return _break(row, "inserted", "was inserted: the row after it links past it")
        if row.prev_hash in seen or row.hash in seen:
            return _break(row, "inserted", "was inserted: it links to an earlier row")
        if previous is None and row.prev_hash != GENESIS:
            return _break(row, "deleted", "links to a row that is gone (rows before it deleted)")
        return _break(row, "deleted", "does not link to the row before it (a row was deleted)")
    if row.hash != event_hash(row, row.prev_hash or GENESIS):
        return _break(row, "edited", "was edited: its content no longer matches its hash")
    return None


def _break(row: AuditEvent, kind: str, what: str) -> ChainBreak:
    assert row.id is not None
    return ChainBreak(row_id=row.id, kind=kind, message=f"audit event {row.id} {what}")


def search_events(
    session: Session,
    *,
    claim: str | None = None,
    hcode: str | None = None,
    user: str | None = None,
    limit: int = 200,
) -> Sequence[AuditEvent]:
    """Events about a claim (by id), a hospital, or done by a user, newest first."""
    query = select(AuditEvent)
    if claim:
        query = query.where(
            or_(col(AuditEvent.entity_id) == claim, col(AuditEvent.detail).contains(claim))
        )
    if hcode:
        query = query.where(col(AuditEvent.hcode) == hcode)
    if user:
        query = query.where(col(AuditEvent.actor) == user)
    query = query.order_by(col(AuditEvent.id).desc()).limit(limit)
    return session.exec(query).all()


def event_as_fhir(row: AuditEvent) -> dict[str, Any]:
    """One row as a FHIR AuditEvent-like dict (for `claimgw audit search --json`)."""
    return {
        "id": row.id,
        "recorded": row.at.isoformat() if row.at else None,
        "action": row.action,
        "outcome": row.outcome or SUCCESS,
        "agent": {"who": row.actor, "type": row.agent_kind, "hcode": row.hcode},
        "source": row.source,
        "entity": {"type": row.entity_type, "id": row.entity_id},
        "detail": json.loads(row.detail or "{}"),
        "hash": row.hash,
    }
