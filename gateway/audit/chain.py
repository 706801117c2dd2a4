"""The hash chain of audit_events: each row stores the hash of the row before it.

Every AuditEvent added through any SQLAlchemy session is chained in `before_flush`, so the
intake, review, payments and staff code that already writes audit rows joins the chain
without change. A row's hash covers its content and the previous row's hash, so an edited row
no longer matches its hash, and an inserted or deleted row breaks the link of the row after it.

Appends are serialised so that two writers never chain onto the same head:
- PostgreSQL: `pg_advisory_xact_lock(AUDIT_CHAIN_LOCK)` inside the appending transaction. It is
  held until that transaction commits or rolls back, so the next appender (in any process on any
  host, all on the one database) reads the head only after the previous append is visible, and
  row ids (from the sequence, taken after the lock) follow the chain order.
- SQLite: writers begin with BEGIN IMMEDIATE (gateway/db.py), one writer at a time per file.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Final

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

AUDIT_TABLE: Final = "audit_events"
AUDIT_CHAIN_LOCK: Final = 0x5C1A_A0D1  # an arbitrary, fixed advisory-lock key
GENESIS: Final = "0" * 64
HASHED_FIELDS: Final = (
    "at",
    "actor",
    "hcode",
    "action",
    "entity_type",
    "entity_id",
    "from_status",
    "to_status",
    "detail",
    "agent_kind",
    "outcome",
    "source",
)


def event_hash(row: Any, prev_hash: str) -> str:
    """The SHA-256 of a row's audited fields and the previous row's hash."""
    payload = {name: _canonical(getattr(row, name, None)) for name in HASHED_FIELDS}
    payload["prev_hash"] = prev_hash
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    return value


def _is_audit_row(obj: object) -> bool:
    return getattr(type(obj), "__tablename__", None) == AUDIT_TABLE


def chain_head(session: Session) -> str:
    """Lock the chain for this transaction (PostgreSQL) and return the last row's hash."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})
    last = session.execute(
        text(f"SELECT hash FROM {AUDIT_TABLE} WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1")
    ).scalar()
    return str(last) if last else GENESIS


def chain_values(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit rows given as plain values (for a Core insert), with their place in the chain.

    Core inserts never pass through `before_flush`, so code that writes audit rows in bulk
    chains them here. Flush first: audit rows the ORM has staged are chained (and get their
    ids) before these, so ids keep following the chain. On PostgreSQL this takes the chain's
    lock, held until the transaction ends: insert the rows in the same transaction.
    """
    if not rows:
        return rows
    session.flush()
    previous = chain_head(session)
    for values in rows:
        values["prev_hash"] = previous
        values["hash"] = previous = event_hash(SimpleNamespace(**values), previous)
    return rows


@event.listens_for(Session, "before_flush")
def _chain_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    rows = [o for o in session.new if _is_audit_row(o) and getattr(o, "hash", None) is None]
    if not rows:
        return
    rows.sort(key=lambda o: inspect(o).insert_order)
    previous = chain_head(session)
    for row in rows:
        row.prev_hash = previous
        row.hash = previous = event_hash(row, previous)
