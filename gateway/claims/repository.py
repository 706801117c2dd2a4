"""Claim queries, always narrowed to the acting hospital first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, update
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from gateway.claims.models import (
    AuditEvent,
    ClaimLineRecord,
    ClaimRecord,
    ClaimResponseRecord,
    IdempotencyKey,
    OutboxMessage,
    ReimbursementQueueEntry,
)

MAX_SEARCH_RESULTS = 100


class ClaimRepository:
    """A hospital's claims and responses; another hospital's rows are invisible here."""

    def __init__(self, session: Session, hcode: str) -> None:
        self.session = session
        self.hcode = hcode

    def _claims(self) -> SelectOfScalar[ClaimRecord]:
        return select(ClaimRecord).where(col(ClaimRecord.hcode) == self.hcode)

    def _responses(self) -> SelectOfScalar[ClaimResponseRecord]:
        return select(ClaimResponseRecord).where(col(ClaimResponseRecord.hcode) == self.hcode)

    def get(self, claim_id: str) -> ClaimRecord | None:
        """A claim of this hospital by id."""
        return self.session.exec(self._claims().where(col(ClaimRecord.id) == claim_id)).first()

    def by_invoice(self, system: str, value: str) -> ClaimRecord | None:
        """A claim of this hospital by its invoice identifier."""
        query = self._claims().where(
            col(ClaimRecord.identifier_system) == system, col(ClaimRecord.identifier_value) == value
        )
        return self.session.exec(query).first()

    def search(self, system: str | None, value: str) -> Sequence[ClaimRecord]:
        """Claims of this hospital whose identifier value (and system, when given) match."""
        query = self._claims().where(col(ClaimRecord.identifier_value) == value)
        if system:
            query = query.where(col(ClaimRecord.identifier_system) == system)
        return self.session.exec(
            query.order_by(col(ClaimRecord.created_at)).limit(MAX_SEARCH_RESULTS)
        ).all()

    def response(self, response_id: str) -> ClaimResponseRecord | None:
        """A ClaimResponse of this hospital by id."""
        query = self._responses().where(col(ClaimResponseRecord.id) == response_id)
        return self.session.exec(query).first()

    def response_for_claim(self, claim_id: str) -> ClaimResponseRecord | None:
        """The ClaimResponse sent for one of this hospital's claims."""
        query = self._responses().where(col(ClaimResponseRecord.claim_id) == claim_id)
        return self.session.exec(query).first()

    def add_intake(
        self,
        *,
        claim: ClaimRecord,
        lines: list[ClaimLineRecord],
        response: ClaimResponseRecord,
        audit: list[AuditEvent],
        outbox: OutboxMessage,
        payment: ReimbursementQueueEntry | None,
    ) -> None:
        """Write everything one accepted submission stores; the caller commits once.

        Core inserts (one statement per table) rather than the ORM unit of work: intake writes
        a dozen rows per claim and the ORM's bookkeeping cost more than the database did.
        """
        self._insert(ClaimRecord, [claim])
        self._insert(ClaimLineRecord, lines)
        self._insert(ClaimResponseRecord, [response])
        self._insert(AuditEvent, audit)
        self._insert(OutboxMessage, [outbox])
        if payment is not None:
            self._insert(ReimbursementQueueEntry, [payment])

    def _insert(self, model: type[SQLModel], rows: Sequence[SQLModel]) -> None:
        if rows:
            table = model.__table__  # type: ignore[attr-defined]
            values = [
                {
                    c.name: getattr(row, c.name)
                    for c in table.columns
                    if not (c.primary_key and getattr(row, c.name) is None)
                }
                for row in rows
            ]
            self.session.execute(insert(table), values)


class IdempotencyRepository:
    """A hospital's Idempotency-Key rows."""

    def __init__(self, session: Session, hcode: str) -> None:
        self.session = session
        self.hcode = hcode

    def get(self, key: str) -> IdempotencyKey | None:
        """The row for a key of this hospital."""
        return self.session.get(IdempotencyKey, (self.hcode, key))

    def add(self, row: IdempotencyKey) -> None:
        """Stage a new in-flight key."""
        self.session.add(row)

    def take_over(self, key: str, *, expired_before: datetime, until: datetime) -> bool:
        """Claim an abandoned in-flight key whose lease ran out; False if someone else holds it."""
        result = self.session.execute(
            update(IdempotencyKey)
            .where(
                col(IdempotencyKey.hcode) == self.hcode,
                col(IdempotencyKey.key) == key,
                col(IdempotencyKey.state) == "in_flight",
                col(IdempotencyKey.locked_until) < expired_before,
            )
            .values(locked_until=until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def finish(self, key: str, *, status: int, body: str) -> None:
        """Record the answer an in-flight key got."""
        self.session.execute(
            update(IdempotencyKey)
            .where(col(IdempotencyKey.hcode) == self.hcode, col(IdempotencyKey.key) == key)
            .values(state="done", response_status=status, response_body=body)
        )

    def release(self, key: str) -> None:
        """Forget an in-flight key whose request failed for a reason not worth replaying."""
        row = self.get(key)
        if row is not None and row.state == "in_flight":
            self.session.delete(row)


class ClaimLifecycleRepository(ClaimRepository):
    """A hospital's claims for lifecycle moves: rows locked until the transaction ends."""

    def get_for_update(self, claim_id: str) -> ClaimRecord | None:
        """A claim of this hospital by id, row-locked (PostgreSQL; SQLite serializes writers)."""
        query = self._claims().where(col(ClaimRecord.id) == claim_id).with_for_update()
        return self.session.exec(query).first()

    def by_invoice_for_update(self, system: str, value: str) -> ClaimRecord | None:
        """A claim of this hospital by invoice identifier, row-locked."""
        query = (
            self._claims()
            .where(
                col(ClaimRecord.identifier_system) == system,
                col(ClaimRecord.identifier_value) == value,
            )
            .with_for_update()
        )
        return self.session.exec(query).first()

    def payment_entry(self, claim_id: str) -> ReimbursementQueueEntry | None:
        """The reimbursement queue entry of a claim of this hospital, row-locked."""
        query = (
            select(ReimbursementQueueEntry)
            .where(
                col(ReimbursementQueueEntry.claim_id) == claim_id,
                col(ReimbursementQueueEntry.hcode) == self.hcode,
            )
            .with_for_update()
        )
        return self.session.exec(query).first()

    def remove_payment(self, entry: ReimbursementQueueEntry) -> None:
        """Take a not yet batched claim off the reimbursement queue."""
        self.session.delete(entry)

    def record_transition(self, claim: ClaimRecord, event: AuditEvent) -> None:
        """Stage a claim's new status with its audit event."""
        self.session.add(claim)
        self.session.add(event)
